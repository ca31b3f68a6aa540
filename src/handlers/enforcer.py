"""Enforcer Lambda: CloudTrail events from EventBridge -> ``core.enforcement.enforce``.

Settings come from the ``IAM_GUARD_*`` environment variables (``core.settings.ENV_VARS``). Two more,
read only here: ``IAM_GUARD_OWN_ROLE_ARNS``, the roles of this stack, comma-separated - events caused by
those that change the guardrail (this function's and the custom resource's) are ignored, so the enforcer
does not handle its own changes and a stack deletion or a group rename is not "healed" back into
existence, and changes to any of them are IAM Guard's own infrastructure being tampered with; and
``IAM_GUARD_ALERT_KEY_ARN``, the alert topic's KMS key, watched likewise.

Expected failures never fail the invocation permanently: ``enforce`` has already sent an
ENFORCEMENT_FAILED alert; only what a retry can fix (throttling, races, unclassified AWS errors) is
re-raised so Lambda's asynchronous retries run. Anything unexpected propagates with its traceback.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from core.enforcement import GuardrailCache, enforce, is_retryable
from core.errors import IamGuardError
from core.events import parse_event
from core.metric_names import ENFORCEMENT_FAILED, action_metric
from core.naming import name_of_arn
from core.watch import Ownership
from handlers.common import alert_sink, cloudformation, iam, logger, metrics, settings, trace_handler

OWN_ROLES_VAR = "IAM_GUARD_OWN_ROLE_ARNS"
ALERT_KEY_VAR = "IAM_GUARD_ALERT_KEY_ARN"
# Roles of this stack that write the guardrail: their IAM events are its own doing (not tampering).
GUARDRAIL_WRITERS = ("enforcer", "policy-resource", "sweep")


@cache
def guardrail_cache() -> GuardrailCache:
    """Lives as long as the container: a warm enrolment skips the guardrail reads for its TTL."""
    return GuardrailCache()


def own_role_arns() -> frozenset[str]:
    return frozenset(arn.strip() for arn in os.environ.get(OWN_ROLES_VAR, "").split(",") if arn.strip())


def guardrail_writer_arns() -> frozenset[str]:
    """The stack's roles that write the guardrail: their IAM events are IAM Guard's own doing."""
    return frozenset(a for a in own_role_arns() if name_of_arn(a).endswith(GUARDRAIL_WRITERS))


@cache
def ownership() -> Ownership | None:
    stack = settings().stack_name
    if stack is None:
        return None
    key = os.environ.get(ALERT_KEY_VAR, "").strip()
    return Ownership(stack, frozenset(name_of_arn(a) for a in own_role_arns()), frozenset({key} - {""}))


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        result = enforce(
            parse_event(event),
            settings=settings(),
            iam=iam(),
            sink=alert_sink(),
            cache=guardrail_cache(),
            ignore_arns=guardrail_writer_arns(),
            owner=ownership(),
            cloudformation=cloudformation(),
        )
    except IamGuardError as exc:
        retry = is_retryable(exc)
        metrics.add_metric(name=ENFORCEMENT_FAILED, unit=MetricUnit.Count, value=1)
        logger.error("enforcement failed", extra={"error": str(exc), "retried": retry})
        if retry:
            raise
        return {"action": "failed", "reason": str(exc)}
    outcome = result.to_dict()
    metrics.add_metric(name=action_metric(result.action), unit=MetricUnit.Count, value=1)
    for error in result.delivery_errors:
        logger.warning("alert not delivered", extra={"error": error, "event_id": result.meta.event_id})
    logger.info(
        "event handled", extra={k: outcome[k] for k in ("event", "event_id", "action", "reason", "user")}
    )
    return outcome
