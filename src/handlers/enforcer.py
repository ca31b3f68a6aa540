"""Enforcer Lambda: CloudTrail events from EventBridge -> ``core.enforce.enforcer.enforce``.

Settings come from the ``IAM_GUARD_*`` environment variables (``core.model.settings.ENV_VARS``). Two more,
read only here: ``IAM_GUARD_OWN_ROLE_ARNS``, the roles of this stack, comma-separated - events caused by
those that change the guardrail (this function's and the custom resource's) are ignored, so the enforcer
does not handle its own changes and a stack deletion or a group rename is not "healed" back into
existence, and changes to any of them are IAM Guard's own infrastructure being tampered with; and
``IAM_GUARD_ALERT_KEY_ARN``, the alert topic's KMS key, watched likewise.

Expected failures never fail the invocation permanently: an ENFORCEMENT_FAILED alert is sent (by
``enforce``, or here for an event it could not read and for invalid settings - then to the alert topic
alone when IAM_GUARD_SNS_TOPIC_ARN is valid by itself) and the ``EnforcementFailed`` metric is emitted,
which the stack's EnforcementFailedAlarm watches. Only what a retry can fix (what the error class
declares ``retry_in_lambda``: throttling, races, network failures) is re-raised so Lambda's asynchronous
retries run (those also count as Lambda errors). Anything unexpected propagates with its traceback.
"""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from core.enforce.actions import GuardrailCache
from core.enforce.enforcer import enforce, is_retryable
from core.enforce.events import parse_event
from core.enforce.watch import Ownership
from core.model.alerts import AlertSink
from core.model.errors import DeliveryError, IamGuardError, InvalidEventError, SettingsError
from core.model.metric_names import ENFORCEMENT_FAILED, action_metric
from core.model.naming import name_of_arn
from core.model.settings import validate_setting
from core.report.sns import SnsSink
from core.report.unhandled import unhandled_event_alert
from handlers.common import (
    channel_sink as alert_sink,  # the topic, Teams and the signed webhook
)
from handlers.common import (
    cloudformation,
    cloudtrail,
    guardduty,
    health,
    iam,
    logger,
    metrics,
    settings,
    sts,
    trace_handler,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

OWN_ROLES_VAR = "IAM_GUARD_OWN_ROLE_ARNS"
ALERT_KEY_VAR = "IAM_GUARD_ALERT_KEY_ARN"
TOPIC_VAR = "IAM_GUARD_SNS_TOPIC_ARN"
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
    return Ownership(
        stack,
        frozenset(name_of_arn(a) for a in own_role_arns()),
        frozenset({key} - {""}),
        frozenset(settings().protected_secret_arns),
    )


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        parsed, current, sink = parse_event(event), settings(), alert_sink()
    except IamGuardError as exc:
        return _unhandled(event, exc, failure_sink())
    try:
        result = enforce(
            parsed,
            settings=current,
            iam=iam(),
            sink=sink,
            cache=guardrail_cache(),
            ignore_arns=guardrail_writer_arns(),
            owner=ownership(),
            cloudformation=cloudformation(),
            sts=sts(),
            trail=cloudtrail,
            findings=guardduty if current.guardduty_findings else None,
            health=health(),
        )
    except InvalidEventError as exc:  # raised before enforce knew what the event asks for: not alerted
        return _unhandled(event, exc, sink)
    except IamGuardError as exc:  # enforce has sent the ENFORCEMENT_FAILED alert
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


def failure_sink() -> AlertSink | None:
    """Where to report an event that could not be handled: the configured sink; when the settings are
    what failed, the alert topic alone if IAM_GUARD_SNS_TOPIC_ARN is valid by itself; else nowhere."""
    try:
        return alert_sink()
    except IamGuardError:
        pass
    raw = os.environ.get(TOPIC_VAR, "").strip()
    try:
        return SnsSink(validate_setting("sns_topic_arn", raw)) if raw else None
    except SettingsError:
        return None


def _unhandled(event: Any, error: IamGuardError, sink: AlertSink | None) -> dict[str, Any]:
    """A permanent failure before the core ran (unreadable event, invalid settings): alert, count, log."""
    metrics.add_metric(name=ENFORCEMENT_FAILED, unit=MetricUnit.Count, value=1)
    logger.error("enforcement failed", extra={"error": str(error), "retried": False})
    alert = unhandled_event_alert(error, **_event_fields(event))
    delivery_errors: list[str] = []
    if sink is None:
        delivery_errors.append("no valid alert destination (IAM_GUARD_SNS_TOPIC_ARN)")
    else:
        try:
            sink.send(alert)
        except DeliveryError as exc:
            delivery_errors.append(str(exc))
    for delivery_error in delivery_errors:
        logger.warning("alert not delivered", extra={"error": delivery_error})
    return {"action": "failed", "reason": str(error), "delivery_errors": delivery_errors}


def _event_fields(event: Any) -> dict[str, str]:
    """The identifiers an unreadable event may still carry, for the alert (text values only)."""
    raw: dict[str, Any] = event if isinstance(event, dict) else {}
    found = raw.get("detail")
    detail: dict[str, Any] = found if isinstance(found, dict) else {}

    def text(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return {
        "event_name": text(detail.get("eventName")) or text(raw.get("detail-type")),
        "event_id": text(detail.get("eventID")) or text(raw.get("id")),
        "account_id": text(raw.get("account")),
        "region": text(raw.get("region")),
    }
