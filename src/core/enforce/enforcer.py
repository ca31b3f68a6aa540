"""The enforcer: one event in, one command, its action, its alerts delivered.

``enforce`` parses the event into a command (``core.enforce.routes``), runs the command's action from
``ACTIONS`` and delivers the alerts the action raised. An expected failure sends ENFORCEMENT_FAILED
and propagates; ``is_retryable`` says whether Lambda should retry it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from core.aws.cloudformation import CloudFormationGateway
from core.aws.cloudtrail import CloudTrailGateway
from core.aws.guardduty import FindingsGateway
from core.aws.health import HealthGateway
from core.aws.iam import IamGateway
from core.aws.sts import KeyOwnerGateway
from core.enforce import alerts
from core.enforce.actions import (
    Action,
    EnforcementAction,
    GuardrailCache,
    Outcome,
    Run,
    after_verifying_guardrail,
    alert_root_key,
    alert_root_password,
    alert_root_session,
    enrol_user,
    heal_guardrail,
    ignore,
    recheck_exemption,
    restore_group,
    restore_membership,
    restore_password_policy,
    review_infrastructure_change,
    review_mfa_registration,
    review_owner_change,
    utc_now,
)
from core.enforce.commands import (
    Command,
    EnrolUser,
    EventMeta,
    ExemptionChanged,
    HealGuardrail,
    Ignore,
    InfrastructureChanged,
    LeakedKeyReported,
    MfaDeviceEnabled,
    OwnerChanged,
    QuarantineDetached,
    RestoreMembership,
    RestorePasswordPolicy,
    RestoreRenamedGroup,
    RootAccessKeyCreated,
    RootPasswordCreated,
    RootSessionAssumed,
)
from core.enforce.events import ApiCallEvent
from core.enforce.routes import command_for
from core.enforce.watch import Ownership
from core.guardrail.state import Change
from core.model.alerts import Alert, AlertSink
from core.model.errors import DeliveryError, IamGuardError
from core.model.settings import Settings


class EnforcementResult(NamedTuple):
    """What the enforcer did for one event, or why it did nothing (printed by the CLI, logged by Lambda)."""

    meta: EventMeta
    action: EnforcementAction
    reason: str
    user: str = ""
    guardrail: str = "not-checked"  # verified (IAM reads), cached (warm container), not-checked
    changes: tuple[Change, ...] = ()
    alerts: tuple[Alert, ...] = ()
    dry_run: bool = False
    delivery_errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": self.meta.event_name,
            "event_id": self.meta.event_id,
            "actor": self.meta.actor,
            "action": self.action,
            "reason": self.reason,
            "user": self.user or None,
            "guardrail": self.guardrail,
            "changes": [
                {"resource": c.resource, "change": c.change, "detail": c.detail} for c in self.changes
            ],
            "alerts": [
                {"kind": a.kind.value, "severity": a.severity.label, "title": a.title, "summary": a.summary}
                for a in self.alerts
            ],
            "dry_run": self.dry_run,
            "delivery_errors": list(self.delivery_errors),
        }


def enforce(
    event: ApiCallEvent,
    *,
    settings: Settings,
    iam: IamGateway,
    sink: AlertSink,
    cache: GuardrailCache,
    now: Callable[[], datetime] = utc_now,
    ignore_arns: frozenset[str] = frozenset(),
    sleep: Callable[[float], None] = time.sleep,
    owner: Ownership | None = None,
    cloudformation: CloudFormationGateway | None = None,
    sts: KeyOwnerGateway | None = None,
    trail: Callable[[str], CloudTrailGateway] | None = None,
    findings: Callable[[str], FindingsGateway] | None = None,
    health: HealthGateway | None = None,
) -> EnforcementResult:
    """Handle one event. Expected failures send an ENFORCEMENT_FAILED alert, then propagate.

    ``owner`` names IAM Guard's own resources (default: from ``settings.stack_name``); ``cloudformation``
    tells whether a change CloudFormation made comes from this stack's own update (else it is tampering).
    """
    command = command_for(event, settings, ignore_arns, owner)
    run = Run(settings, iam, cache, now(), command.meta, sleep, cloudformation, sts, trail, findings, health)
    try:
        outcome = _act(command, run)
    except IamGuardError as exc:
        _deliver([enforcement_failed_alert(command, exc, settings)], sink)
        raise
    return EnforcementResult(
        meta=command.meta,
        action=outcome.action,
        reason=outcome.reason,
        user=outcome.user,
        guardrail=run.guardrail,
        changes=outcome.changes,
        alerts=outcome.alerts,
        dry_run=settings.dry_run,
        delivery_errors=tuple(_deliver(outcome.alerts, sink)),
    )


def is_retryable(exc: IamGuardError) -> bool:
    """Worth a Lambda retry: what the error class declares ``retry_in_lambda`` (core.model.errors):
    throttling,
    races and network failures that outlived our own backoff, unclassified AWS errors. Missing
    permissions, bad settings and bad events fail the same way every time."""
    return exc.retry_in_lambda


def _respond_to_leak(command: LeakedKeyReported, run: Run) -> Outcome:
    """``core.enforce.leak.respond_to_leak``."""
    # Leaked keys are rare events: the leak response (and its CloudTrail summary) loads for them only.
    from core.enforce.leak import respond_to_leak

    return respond_to_leak(command, run)


def _keep_quarantine(command: QuarantineDetached, run: Run) -> Outcome:
    """``core.enforce.leak.keep_quarantine``."""
    # Detaching AWS's quarantine policy is rare too (see _respond_to_leak).
    from core.enforce.leak import keep_quarantine

    return keep_quarantine(command, run)


# Every command the parsers produce, and its action: a command without one fails at import, and
# tests/enforce/test_routes.py holds this table to commands.Command.
ACTIONS: Mapping[type[Command], Action] = MappingProxyType(
    {
        Ignore: ignore,
        RootAccessKeyCreated: alert_root_key,
        RootPasswordCreated: alert_root_password,
        InfrastructureChanged: review_infrastructure_change,
        MfaDeviceEnabled: review_mfa_registration,
        RestoreRenamedGroup: restore_group,
        EnrolUser: after_verifying_guardrail(enrol_user, tamper=False),
        RestoreMembership: after_verifying_guardrail(restore_membership, tamper=True),
        ExemptionChanged: after_verifying_guardrail(recheck_exemption, tamper=False),
        OwnerChanged: after_verifying_guardrail(review_owner_change, tamper=False),
        HealGuardrail: after_verifying_guardrail(heal_guardrail, tamper=True),
        LeakedKeyReported: _respond_to_leak,
        QuarantineDetached: _keep_quarantine,
        RestorePasswordPolicy: restore_password_policy,
        RootSessionAssumed: alert_root_session,
    }
)


def _act(command: Command, run: Run) -> Outcome:
    return ACTIONS[type(command)](command, run)


def enforcement_failed_alert(command: Command, exc: IamGuardError, settings: Settings) -> Alert:
    subject = getattr(command, "user_name", "") or f"event/{command.meta.event_name}"
    return alerts.enforcement_failed(command.meta, settings, subject, exc, retried=is_retryable(exc))


def _deliver(sending: Iterable[Alert], sink: AlertSink) -> list[str]:
    """Send every alert; a delivery failure is reported, never undoes or blocks enforcement."""
    errors: list[str] = []
    for alert in sending:
        try:
            sink.send(alert)
        except DeliveryError as exc:
            errors.append(str(exc))
    return errors
