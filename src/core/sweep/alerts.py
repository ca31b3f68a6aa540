"""The sweep's alerts, and their delivery.

The digest, keys deactivated, the enforcer's health, hidden Security Hub findings and a failed sweep.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aws_lambda_powertools import Logger

from core.model.alerts import Alert, AlertItem, AlertKind, AlertSink, Severity
from core.model.errors import DeliveryError, IamGuardError
from core.model.findings import (
    ACCESS_KEY_UNUSED,
    MFA_KINDS,
    REACTIVATE,
    REACTIVATE_SERVICE_CREDENTIAL,
    REMEDIATED,
    SERVICE_CREDENTIAL_ACTIVE,
    Finding,
)
from core.model.settings import Settings
from core.sweep.result import SweepResult

logger = Logger(child=True)


def digest_alert(result: SweepResult) -> Alert:
    attention = [f for f in result.findings if f.needs_attention]
    severity = max((f.severity for f in attention), default=Severity.INFO)
    statuses = ", ".join(f"{n} {s}" for s, n in result.status_counts.items()) or "no findings"
    return Alert(
        kind=AlertKind.SWEEP_DIGEST,
        severity=severity,
        title=f"IAM sweep: {len(attention)} need attention, {len(result.findings)} findings"
        + (" (dry run)" if result.dry_run else ""),
        summary=(
            f"{result.users_scanned} users swept; {statuses}. Credential report generated "
            f"{result.report_generated_at.isoformat()}."
        ),
        account_id=result.account_id,
        occurred_at=result.swept_at,
        items=tuple(_item(f) for f in result.findings),
        counts=tuple(result.counts.items()),
        report_generated_at=result.report_generated_at,
        dry_run=result.dry_run,
        details=(
            ("group", result.group_name),
            ("grace_days", str(result.grace_days)),
            ("guardrail", result.guardrail),
            ("enforcer", result.enforcer.status),
            ("unused_days", str(result.unused_days)),
            ("key_max_age_days", str(result.key_max_age_days)),
            *((("security_hub", result.security_hub.summary()),) if result.security_hub else ()),
            *((("owner_notifications", _deliveries(result)),) if result.deliveries is not None else ()),
        ),
    )


def _deliveries(result: SweepResult) -> str:
    from core.sweep.owner_delivery import deliveries_line

    return deliveries_line(result.deliveries or ())


def keys_deactivated_alert(result: SweepResult) -> Alert | None:
    remediated = [f for f in result.findings if f.status == REMEDIATED]
    if not remediated:
        return None
    no_mfa = list(dict.fromkeys(f.user for f in remediated if f.finding in MFA_KINDS))
    unused = list(dict.fromkeys(f.user for f in remediated if f.finding == ACCESS_KEY_UNUSED))
    service = list(dict.fromkeys(f.user for f in remediated if f.finding == SERVICE_CREDENTIAL_ACTIVE))
    users = set(no_mfa) | set(unused)
    sentences = []
    if no_mfa:
        sentences.append(
            f"Keys of {', '.join(no_mfa)} are now Inactive (not deleted). Once the user registers an MFA "
            f"device, reactivate with: {REACTIVATE}"
        )
    if unused:
        sentences.append(
            f"Keys of {', '.join(unused)} unused for {result.unused_days} days or more are now Inactive (not "
            f"deleted). If a workload still needs one, reactivate it with: {REACTIVATE}"
        )
    if service:
        sentences.append(
            f"Service-specific credentials of {', '.join(service)} are now Inactive (not deleted). If one is "
            f"still needed, reactivate it with: {REACTIVATE_SERVICE_CREDENTIAL}"
        )
    if not users:
        title = f"IAM sweep deactivated the service-specific credentials of {len(service)} user(s)"
    elif no_mfa and not unused:
        title = f"IAM sweep deactivated the access keys of {len(users)} user(s) without MFA"
    elif unused and not no_mfa:
        title = f"IAM sweep deactivated unused access keys of {len(users)} user(s)"
    else:
        title = f"IAM sweep deactivated access keys of {len(users)} user(s): without MFA or unused"
    if users and service:
        title += f", and the service-specific credentials of {len(service)} user(s)"
    return Alert(
        kind=AlertKind.KEYS_DEACTIVATED,
        severity=Severity.HIGH,
        title=title,
        summary=" ".join(sentences),
        account_id=result.account_id,
        occurred_at=result.swept_at,
        items=tuple(_item(f) for f in remediated),
        report_generated_at=result.report_generated_at,
    )


def enforcer_alert(result: SweepResult, stack: str) -> Alert | None:
    """The enforcer cannot report its own silence: the sweep does, every run."""
    health = result.enforcer
    if health.status != "problems":
        return None
    return Alert(
        kind=AlertKind.INFRASTRUCTURE_TAMPERED,
        severity=Severity.CRITICAL,
        title="IAM Guard's enforcer is not running as deployed",
        summary=(
            f"The sweep found the enforcer of {stack} switched off or changed: {'; '.join(health.problems)}. "
            "New users are not enrolled and tampering is not healed until it is restored: run `sam deploy` "
            "for the stack, and find out who changed it (CloudTrail)."
        ),
        account_id=result.account_id,
        occurred_at=result.swept_at,
        items=tuple(
            AlertItem(
                "enforcer", "enforcer-disabled", Severity.CRITICAL, "violation", action="redeploy the stack"
            )
            for _ in health.problems[:1]
        ),
    )


def sweep_failed_alert(error: IamGuardError, account_id: str, now: datetime) -> Alert:
    return Alert(
        kind=AlertKind.SWEEP_FAILED,
        severity=Severity.HIGH,
        title="IAM sweep failed: no findings this run",
        summary=f"{error}. Users without MFA are not being checked until a run succeeds.",
        account_id=account_id,
        occurred_at=now,
    )


def should_send_digest(result: SweepResult, settings: Settings) -> bool:
    """Always, unless quiet runs are on and no finding needs attention (only grace/exempt, or none)."""
    return not settings.quiet_runs or any(f.needs_attention for f in result.findings)


def _item(f: Finding) -> AlertItem:
    return AlertItem(
        subject=f.user,
        finding=f.finding,
        severity=f.severity,
        status=f.status,
        since=f.since,
        deadline=f.deadline,
        action=f.action,
    )


def security_hub_alert(result: SweepResult) -> Alert | None:
    """IAM Guard's findings hidden in Security Hub while the problem is still there: each named, with the
    change and the caller, once it has been reasserted (Workflow NEW again, IAM Guard's content back)."""
    tampered = result.security_hub.tampered if result.security_hub else ()
    if not tampered:
        return None
    callers = sorted({t.caller for t in tampered})
    return Alert(
        kind=AlertKind.SECURITY_HUB_FINDING_SUPPRESSED,
        severity=Severity.HIGH,
        title=f"IAM Guard's Security Hub findings were hidden: {len(tampered)} reasserted",
        summary=(
            "Findings whose problem is still there were suppressed or overwritten in Security Hub: "
            + "; ".join(t.describe() for t in tampered)
            + ". IAM Guard set their workflow back to NEW and re-imported its own content. Ask the caller "
            "why (CloudTrail has the call); restrict securityhub:BatchUpdateFindings, BatchImportFindings "
            "and automation rules to the people who triage."
        ),
        account_id=result.account_id,
        actor=callers[0] if len(callers) == 1 else "",
        occurred_at=result.swept_at,
        items=tuple(
            AlertItem(
                t.subject,
                t.kind,
                Severity.HIGH,
                "reasserted",
                action=f"{', '.join(t.changes)} by {t.caller}: ask why",
            )
            for t in tampered
        ),
    )


def deliver(result: SweepResult, sink: AlertSink, settings: Settings) -> SweepResult:
    """Send the remediation alert (if any) and the digest; a delivery failure is recorded, not raised."""
    alerts = [
        a
        for a in (
            keys_deactivated_alert(result),
            enforcer_alert(result, settings.stack_name or "IAM Guard"),
            security_hub_alert(result),
        )
        if a is not None
    ]
    if should_send_digest(result, settings):
        alerts.append(digest_alert(result))
    sent: list[AlertKind] = []
    error: str | None = None
    for alert in alerts:
        try:
            sink.send(alert)
            sent.append(alert.kind)
        except DeliveryError as exc:
            logger.error("alert not delivered", extra={"kind": alert.kind.value, "error": str(exc)})
            error = str(exc)
    logger.info("sweep done", extra={"findings": len(result.findings), "statuses": result.status_counts})
    return replace(result, alerts_sent=tuple(sent), delivery_error=error)


def _send_quietly(sink: AlertSink, alert: Alert) -> None:
    try:
        sink.send(alert)
    except DeliveryError as exc:
        logger.error("failure alert not delivered", extra={"error": str(exc)})
