"""The scheduled sweep Lambda: an EventBridge "Scheduled Event" -> one ``core.sweep.run_sweep`` call.

An expected failure (bad event, AWS error, undelivered alert) is logged and raised, so the invocation
counts as failed in CloudWatch; the core has already sent a SWEEP_FAILED alert when it could.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.errors import DeliveryError, IamGuardError, InvalidEventError
from core.sweep import run_sweep
from handlers.common import alert_sink, iam, logger, metrics, settings, trace_handler


class ScheduledEvent(BaseModel):
    """The fields of an EventBridge schedule event the sweep uses."""

    model_config = ConfigDict(populate_by_name=True, extra="ignore")

    source: Literal["aws.events"]
    detail_type: Literal["Scheduled Event"] = Field(alias="detail-type")
    account: str = Field(pattern=r"^\d{12}$")
    region: str = ""
    time: datetime | None = None
    id: str = ""


def parse_schedule(event: Any) -> ScheduledEvent:
    try:
        return ScheduledEvent.model_validate(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "event"
        raise InvalidEventError(f"not an EventBridge scheduled event: {where}: {first['msg']}") from None


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        scheduled = parse_schedule(event)
        result = run_sweep(iam(), alert_sink(), settings(), account_id=scheduled.account)
    except IamGuardError as exc:
        logger.error("sweep failed", extra={"error": str(exc), "error_type": type(exc).__name__})
        raise
    metrics.add_metric(name="SweepFindings", unit=MetricUnit.Count, value=len(result.findings))
    attention = sum(f.needs_attention for f in result.findings)
    metrics.add_metric(name="SweepNeedsAttention", unit=MetricUnit.Count, value=attention)
    if result.delivery_error:
        raise DeliveryError(result.delivery_error)
    return {
        "account_id": result.account_id,
        "report_generated_at": result.report_generated_at.isoformat(),
        "users_scanned": result.users_scanned,
        "counts": result.counts,
        "status_counts": result.status_counts,
        "alerts_sent": [k.value for k in result.alerts_sent],
    }
