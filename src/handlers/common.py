"""What every Lambda handler shares: Powertools utilities, and settings / clients built once, lazily.

Nothing here runs at import time except creating the Powertools Logger and Metrics (which do no I/O).
The Powertools Tracer is created only when tracing is on (see ``trace_handler``); the AWS adapters are
imported by the functions that use them, when they first do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics

from core.aws.gateway import CallCounter
from core.model.settings import Settings, settings_from_env

if TYPE_CHECKING:
    from core.aws.cloudformation import CloudFormationGateway
    from core.aws.cloudtrail import CloudTrailGateway
    from core.aws.guardduty import FindingsGateway
    from core.aws.health import HealthGateway
    from core.aws.iam import IamGateway
    from core.aws.infrastructure import InfrastructureGateway
    from core.aws.securityhub import SecurityHubGateway
    from core.aws.sts import KeyOwnerGateway
    from core.model.alerts import AlertSink
    from core.sweep.owner_delivery import OwnerSender

Handler = TypeVar("Handler", bound=Callable[..., Any])

TRACE_DISABLED_VAR = "POWERTOOLS_TRACE_DISABLED"  # "true" in template.yaml unless Tracing=true
_TRUE = {"1", "true", "t", "yes", "y", "on"}  # the spellings Powertools reads as true

logger = Logger()
metrics = Metrics()
iam_calls = CallCounter()  # the IAM calls of this container's IAM client (the sweep reports them)


def tracing_disabled() -> bool:
    """``POWERTOOLS_TRACE_DISABLED`` as Powertools reads it."""
    return os.environ.get(TRACE_DISABLED_VAR, "false").strip().lower() in _TRUE


def trace_handler(handler: Handler) -> Handler:
    """Powertools Tracer's ``capture_lambda_handler``, or the handler itself when tracing is off.

    ``Tracer()`` imports the X-Ray SDK even when tracing is disabled, and every cold start would pay for
    it; so the tracer exists only in functions deployed with ``Tracing=true``.
    """
    if tracing_disabled():
        return handler
    from aws_lambda_powertools import Tracer

    return cast(Handler, Tracer().capture_lambda_handler(handler))


@cache
def settings() -> Settings:
    """Read and validate the IAM_GUARD_* environment once per container; fail fast with one line."""
    return settings_from_env(os.environ)


@cache
def iam() -> IamGateway:
    from core.aws.iam import IamGateway, default_iam_client

    return IamGateway(client_factory=lambda: iam_calls.attach(default_iam_client()))


@cache
def security_hub() -> SecurityHubGateway:
    """Used only when the import is on; its client is created on first use."""
    from core.aws.securityhub import SecurityHubGateway

    return SecurityHubGateway()


@cache
def cloudformation() -> CloudFormationGateway:
    from core.aws.cloudformation import CloudFormationGateway

    return CloudFormationGateway()


@cache
def sts() -> KeyOwnerGateway:
    """Asked whose a leaked access key is (the enforcer's Health events); its client on first use."""
    from core.aws.sts import KeyOwnerGateway

    return KeyOwnerGateway()


@cache
def cloudtrail(region: str) -> CloudTrailGateway:
    """CloudTrail in one region: what a leaked key did (the enforcer's Health events)."""
    from core.aws.cloudtrail import CloudTrailGateway

    return CloudTrailGateway(region)


@cache
def guardduty(region: str) -> FindingsGateway:
    """GuardDuty in one region: a finding read back before acting on it (GuardDutyFindings=true)."""
    from core.aws.guardduty import FindingsGateway

    return FindingsGateway(region)


@cache
def health() -> HealthGateway:
    """The Health API (global endpoint): a Health event corroborated where the support plan allows."""
    from core.aws.health import HealthGateway

    return HealthGateway()


@cache
def infrastructure() -> InfrastructureGateway:
    from core.aws.infrastructure import InfrastructureGateway

    return InfrastructureGateway()


@cache
def alert_sink() -> AlertSink:
    from core.report.sns import sink_from_settings

    return sink_from_settings(settings())


@cache
def channel_sink() -> AlertSink:
    """The enforcer's and the sweep's alerts: the topic, plus Teams and the signed webhook when their
    secrets are set (``TeamsWebhookSecretArn``, ``WebhookSecretArn``), each read on first use."""
    from core.report.sns import sink_from_settings

    return sink_from_settings(settings(), channels=True)


SLACK_API_URL_VAR = "IAM_GUARD_SLACK_API_URL"  # tests: a loopback Slack Web API; unset in the stack


@cache
def owner_sender() -> OwnerSender | None:
    """The sweep's owner notifications (state table, SES, Slack bot), or None without a table."""
    from core.sweep.owner_delivery import owner_sender as sender_of

    raw = os.environ.get(SLACK_API_URL_VAR, "").strip()
    base_url = None
    if raw:
        from core.report.webhook import validate_url

        base_url = validate_url(raw, SLACK_API_URL_VAR).rstrip("/") + "/"
    return sender_of(settings(), slack_api_url=base_url)


def reset_caches() -> None:
    """For tests that change the environment between invocations (a new 'container')."""
    settings.cache_clear()
    iam.cache_clear()
    cloudformation.cache_clear()
    infrastructure.cache_clear()
    sts.cache_clear()
    cloudtrail.cache_clear()
    security_hub.cache_clear()
    alert_sink.cache_clear()
    channel_sink.cache_clear()
    owner_sender.cache_clear()
