"""What every Lambda handler shares: Powertools utilities, and settings / clients built once, lazily.

Nothing here runs at import time except creating the Powertools objects (which do no I/O).
"""

from __future__ import annotations

import os
from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

from core.alerts import AlertSink
from core.aws import CallCounter
from core.cloudformation import CloudFormationGateway
from core.iam import IamGateway, default_iam_client
from core.notify import sink_from_settings
from core.securityhub import SecurityHubGateway
from core.selfcheck import InfrastructureGateway
from core.settings import Settings, settings_from_env

logger = Logger()
metrics = Metrics()
tracer = Tracer()
iam_calls = CallCounter()  # the IAM calls of this container's IAM client (the sweep reports them)


@cache
def settings() -> Settings:
    """Read and validate the IAM_GUARD_* environment once per container; fail fast with one line."""
    return settings_from_env(os.environ)


@cache
def iam() -> IamGateway:
    return IamGateway(client_factory=lambda: iam_calls.attach(default_iam_client()))


@cache
def security_hub() -> SecurityHubGateway:
    """Used only when the import is on; its client is created on first use."""
    return SecurityHubGateway()


@cache
def cloudformation() -> CloudFormationGateway:
    return CloudFormationGateway()


@cache
def infrastructure() -> InfrastructureGateway:
    return InfrastructureGateway()


@cache
def alert_sink() -> AlertSink:
    return sink_from_settings(settings())


def reset_caches() -> None:
    """For tests that change the environment between invocations (a new 'container')."""
    settings.cache_clear()
    iam.cache_clear()
    cloudformation.cache_clear()
    infrastructure.cache_clear()
    security_hub.cache_clear()
    alert_sink.cache_clear()
