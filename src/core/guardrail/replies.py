"""What the custom resource answers CloudFormation, and the alert when it refuses a request."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.guardrail.custom_resource import NOTHING_CREATED, CustomResourceRequest, RequestResult
from core.model.alerts import Alert, AlertItem, AlertKind, Severity


def response_body(request: CustomResourceRequest, outcome: RequestResult) -> dict[str, Any]:
    """The JSON CloudFormation expects on the ResponseURL."""
    body: dict[str, Any] = {
        "Status": outcome.status,
        "Reason": outcome.reason or "OK",
        "PhysicalResourceId": outcome.physical_id,
        "StackId": request.StackId,
        "RequestId": request.RequestId,
        "LogicalResourceId": request.LogicalResourceId,
        "NoEcho": False,
    }
    if outcome.data:
        body["Data"] = outcome.data
    return body


def failure_body(event: Any, reason: str) -> dict[str, Any] | None:
    """A FAILED reply for a request we could not even parse or finish; None if it cannot be addressed."""
    if not isinstance(event, dict) or not isinstance(event.get("ResponseURL"), str):
        return None
    keys = ("StackId", "RequestId", "LogicalResourceId")
    if not all(isinstance(event.get(k), str) for k in keys):
        return None
    physical = event.get("PhysicalResourceId")
    return {
        "Status": "FAILED",
        "Reason": reason,
        "PhysicalResourceId": physical if isinstance(physical, str) and physical else NOTHING_CREATED,
        **{k: event[k] for k in keys},
        "NoEcho": False,
    }


def refused_alert(event: Any, reason: str, account_id: str, now: datetime) -> Alert:
    """A request that is not CloudFormation's was refused: someone invoked the function by hand."""
    fields = event if isinstance(event, dict) else {}
    claimed = ", ".join(
        f"{key}={_short_text(fields.get(key))}"
        for key in ("RequestType", "StackId", "LogicalResourceId")
        if fields.get(key) is not None
    )
    return Alert(
        kind=AlertKind.INFRASTRUCTURE_TAMPERED,
        severity=Severity.HIGH,
        title="Forged request to IAM Guard's custom resource refused",
        summary=(
            f"Someone invoked the guardrail's custom-resource function with a request CloudFormation is not "
            f"making ({reason}). Nothing was changed and no reply was sent. Find who may invoke the function "
            "(lambda:InvokeFunction is a data event: enable Lambda data events in CloudTrail to see who)."
        ),
        account_id=account_id,
        occurred_at=now,
        details=(("request", claimed or "unreadable"),),
        items=(
            AlertItem(
                "custom-resource",
                "forged-request-refused",
                Severity.HIGH,
                "refused",
                action="restrict lambda:InvokeFunction on IAM Guard's functions",
            ),
        ),
    )


def _short_text(value: Any, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
