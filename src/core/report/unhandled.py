"""The alert for an event the enforcer could not handle at all: the event could not be read, or the
settings are invalid, so ``core.enforce.enforcer.enforce`` never learnt what the event asked for. Pure.

Such a failure is permanent (a retry reads the same event with the same settings): the enforcer returns
normally after this alert and its ``EnforcementFailed`` metric, which a CloudWatch alarm watches.
"""

from __future__ import annotations

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.errors import IamGuardError, SettingsError

NEXT_STEP_SETTINGS = "Fix the stack's parameters (the function's IAM_GUARD_* variables), then run the sweep."
NEXT_STEP_EVENT = "Not retried: check the event rule and CloudTrail, then run the sweep."


def unhandled_event_alert(
    error: IamGuardError,
    *,
    event_name: str = "",
    event_id: str = "",
    account_id: str = "",
    region: str = "",
) -> Alert:
    """ENFORCEMENT_FAILED for an event that never reached the core: what failed and what to do next."""
    what = event_name or "an event"
    action = NEXT_STEP_SETTINGS if isinstance(error, SettingsError) else NEXT_STEP_EVENT
    subject = f"event/{event_name or 'unknown'}"
    return Alert(
        kind=AlertKind.ENFORCEMENT_FAILED,
        severity=Severity.HIGH,
        title=f"Enforcement failed for {what}: it could not be handled",
        summary=f"{error}. {action} Until then new users may stay outside the secured group.",
        account_id=account_id,
        region=region,
        event_id=event_id,
        items=(AlertItem(subject, "enforcement-failed", Severity.HIGH, "violation", action=action),),
    )
