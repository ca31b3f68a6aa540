"""The scheduled sweep Lambda: an EventBridge "Scheduled Event" -> one ``core.sweep.run.run_sweep`` call.

With a state table (the stack's ``<stack>_notifications``) the owners' warnings and notices due are
sent after the sweep, each stage once (``core.sweep.owner_delivery``); alerts go to the topic and to
Teams and the signed webhook when their secrets are set.

An expected failure (bad event, AWS error, undelivered alert, findings that did not reach Security Hub)
is logged and raised, so the invocation counts as failed in CloudWatch; the core has already sent a
SWEEP_FAILED alert when it could, or the digest. Each successful run emits the gauges of
``core.model.metric_names.sweep_metrics`` (what the dashboard graphs).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from aws_lambda_powertools.metrics import MetricUnit

from core.model.errors import DeliveryError, IamGuardError, SecurityHubImportError
from core.model.metric_names import SWEEP_COMPLETED, sweep_metrics
from core.model.naming import ACCOUNT_ID
from core.model.validation import Fields, validated
from core.sweep.run import run_sweep
from handlers.common import (
    channel_sink as alert_sink,  # the topic, Teams and the signed webhook
)
from handlers.common import (
    cloudformation,
    iam,
    iam_calls,
    infrastructure,
    logger,
    metrics,
    owner_sender,
    security_hub,
    settings,
    trace_handler,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


class ScheduledEvent(NamedTuple):
    """The fields of an EventBridge schedule event the sweep uses."""

    source: str
    detail_type: str
    account: str
    region: str = ""
    time: datetime | None = None
    id: str = ""

    @classmethod
    def read(cls, f: Fields) -> ScheduledEvent:
        return cls(
            source=f.choice("source", ("aws.events",)),
            detail_type=f.choice("detail-type", ("Scheduled Event",)),
            account=f.text("account", pattern=ACCOUNT_ID),
            region=f.text("region", ""),
            time=f.timestamp("time"),
            id=f.text("id", ""),
        )


def parse_schedule(event: Any) -> ScheduledEvent:
    return validated(ScheduledEvent.read, event, "an EventBridge scheduled event")


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    started = time.perf_counter()
    iam_calls.reset()
    try:
        scheduled = parse_schedule(event)
        # The stack's own settings: the guardrail is compared with them and healed; the enforcer checked.
        # The owners' notifications are sent (each stage once, the stack's table) before the digest.
        sender = owner_sender()
        result = run_sweep(
            iam(),
            alert_sink(),
            settings(),
            account_id=scheduled.account,
            guardrail="heal",
            infrastructure=infrastructure(),
            cloudformation=cloudformation(),
            security_hub=security_hub(),
            notify_owners=sender is not None,
            send_owner_notifications=sender,
        )
    except IamGuardError as exc:
        logger.error("sweep failed", extra={"error": str(exc), "error_type": type(exc).__name__})
        raise
    duration = time.perf_counter() - started
    for gauge in sweep_metrics(result.findings, duration_seconds=duration, iam_calls=iam_calls.total):
        metrics.add_metric(name=gauge.name, unit=MetricUnit(gauge.unit), value=gauge.value)
    if result.delivery_error:
        raise DeliveryError(result.delivery_error)
    problem = result.security_hub.problem() if result.security_hub else None
    if problem:
        logger.error("sweep findings not all in Security Hub", extra={"error": problem})
        raise SecurityHubImportError(problem)
    # The "no sweep completed" alarm watches this: it is emitted only by a sweep that ran to the end.
    metrics.add_metric(name=SWEEP_COMPLETED, unit=MetricUnit.Count, value=1)
    return {
        "account_id": result.account_id,
        "report_generated_at": result.report_generated_at.isoformat(),
        "users_scanned": result.users_scanned,
        "counts": result.counts,
        "status_counts": result.status_counts,
        "alerts_sent": [k.value for k in result.alerts_sent],
        "guardrail": result.guardrail,
        **({"owner_notifications": _delivery_counts(result.deliveries)} if result.deliveries else {}),
        "enforcer": result.enforcer.status,
        **({"security_hub": result.security_hub.counts()} if result.security_hub else {}),
    }


def _delivery_counts(deliveries: Any) -> dict[str, int]:
    """How many owner notifications were sent, not sent, already sent before (the digest says to whom)."""
    counts = {"sent": 0, "not-sent": 0, "already-sent": 0}
    for delivery in deliveries:
        counts[delivery.status] += 1
    return counts
