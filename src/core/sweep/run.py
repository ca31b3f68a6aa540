"""The scheduled MFA sweep: gather -> classify -> reconcile (enrol, remediate) -> one digest alert.

IAM calls per run, for N users (see README, "The sweep"):

- GenerateCredentialReport: 1 to ``REPORT_ATTEMPTS`` (polled with short backoff);
- GetCredentialReport: 1 (more only if IAM answers ReportInProgress/ReportExpired within the bound);
- GetAccountAuthorizationDetails: ceil(items / 1000) pages (users with membership, tags and creation
  dates; groups; roles, for the guard-escape findings of ``core.sweep.escape``; customer managed
  policies with their versions - the guardrail is checked from these);
- ListVirtualMFADevices (Assigned): ceil(devices / 1000) pages (fresh MFA state);
- GetAccountSummary: 1 (the root user's password, access keys and MFA, live);
- ListServiceSpecificCredentials (AllUsers): ceil(credentials / 1000) pages (not in the report);
- GetAccountPasswordPolicy: 1 (the root user's virtual MFA device and the users' policies come from the
  listings above, at no call);
- per user missing from the report (created after it): GetLoginProfile + ListAccessKeys + ListMFADevices;
- per user enrolled: AddUserToGroup; per user remediated: ListMFADevices + ListAccessKeys (the re-check)
  + one UpdateAccessKey per active key;
- per guardrail change to heal: the write itself (``core.guardrail.state``);
- with ``tag_enrolled`` (member accounts): one TagUser / UntagUser per user whose enrolled tag is wrong
  (``core.sweep.enrolled_tag``; none in the steady state).

With a stack name, the enforcer's own health is read too (``core.sweep.selfcheck``: 5 calls, none of
them IAM). With ``security_hub`` on, the findings then go to the account's Security Hub
(``core.report.securityhub``)
before the digest, which says how that went; a failed import is in the result, never raised.

Per user whose unused keys are deactivated: ListAccessKeys + one GetAccessKeyLastUsed per active key (the
re-check) + one UpdateAccessKey per key still unused. So a run with a warm report costs 7 IAM calls on
real IAM (the 7 account-wide reads above) for up to 1,000 users, 8 on moto (which answers STARTED to the
first GenerateCredentialReport). docs/sweep.md has the budget table.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from core.aws.cloudformation import CloudFormationGateway
from core.aws.iam import AccountDetails, IamGateway, permissions_of
from core.aws.infrastructure import InfrastructureGateway
from core.guardrail.apply import apply_plan
from core.guardrail.state import WRITE_PERMISSIONS, Change, plan_guardrail, state_from_details
from core.model.alerts import AlertSink
from core.model.errors import AwsError, IamGuardError
from core.model.findings import (
    ACCESS_KEY_UNUSED,
    ENROLLED,
    FAILED,
    GUARDRAIL_DRIFT,
    HEALED,
    MFA_KINDS,
    NOT_IN_SECURED_GROUP,
    PASSWORD_POLICY_KINDS,
    REMEDIATED,
    SERVICE_CREDENTIAL_ACTIVE,
    SEVERITY,
    VIOLATION,
    WOULD_ENROL,
    WOULD_HEAL,
    WOULD_REMEDIATE,
    Finding,
    Snapshot,
    Status,
    sort_findings,
)
from core.model.owners import resolve_owner
from core.model.settings import Settings
from core.policy.document import render_policy
from core.policy.password_policy import already_managed, managed_password_policy
from core.sweep.alerts import _send_quietly, deliver, sweep_failed_alert
from core.sweep.classify import classify, is_unused, totp_candidates
from core.sweep.enrolled_tag import reconcile_enrolled_tags
from core.sweep.escape import guard_escape_findings
from core.sweep.notifications import Notification, plan_notifications
from core.sweep.report import _aware, gather_with_details, with_mfa_devices
from core.sweep.result import GUARDRAIL_SUBJECT, NOT_CHECKED, SweepResult
from core.sweep.selfcheck import PERMISSIONS as SELFCHECK_PERMISSIONS
from core.sweep.selfcheck import check_enforcer

if TYPE_CHECKING:  # loaded only when the import is on (SecurityHub=true): most sweeps never need it
    from core.aws.securityhub import SecurityHubGateway
    from core.sweep.owner_delivery import Delivery

logger = Logger(child=True)


REQUIRED_PERMISSIONS = (
    WRITE_PERMISSIONS
    | permissions_of(
        IamGateway.generate_credential_report,
        IamGateway.get_credential_report,
        IamGateway.account_details,
        IamGateway.virtual_mfa_assignments,
        IamGateway.account_summary,
        IamGateway.all_service_specific_credentials,
        IamGateway.account_password_policy,
        IamGateway.has_login_profile,
        IamGateway.list_access_keys,
        IamGateway.list_mfa_devices,
        IamGateway.add_user_to_group,
        IamGateway.deactivate_access_key,
        IamGateway.access_key_last_used,
        IamGateway.update_account_password_policy,
        IamGateway.list_ssh_public_keys,
        IamGateway.list_service_specific_credentials,
        IamGateway.deactivate_service_specific_credential,
    )
    | SELFCHECK_PERMISSIONS
)

# Sends the owners' notifications (notifications, account ID, now) and says what happened to each.
OwnerSender = Callable[[tuple[Notification, ...], str, datetime], tuple["Delivery", ...]]

# How the sweep treats the guardrail: ``heal`` compares it with the rendered policy and heals what differs
# (the Lambda function; ``audit --heal-guardrail``); ``report`` compares and reports (``audit`` with policy
# flags); ``presence`` checks only that the group exists and holds the policy (``audit`` without them).
GuardrailMode = Literal["heal", "report", "presence"]


# --- gather ----------------------------------------------------------------------------------------


# --- reconcile -------------------------------------------------------------------------------------


def reconcile(
    iam: IamGateway, findings: Sequence[Finding], settings: Settings, now: datetime | None = None
) -> list[Finding]:
    """Enrol users outside the group (unless dry-run); deactivate keys when remediation is on."""
    now = now or datetime.now(UTC)
    done: list[Finding] = []
    for finding in findings:
        if finding.finding == NOT_IN_SECURED_GROUP:
            done.append(enrol(iam, finding, settings))
        elif _remediable(finding, settings):
            done.extend(remediate(iam, finding, settings))
        elif _unused_keys_remediable(finding, settings):
            done.extend(deactivate_unused_keys(iam, finding, settings, now))
        elif _service_credentials_remediable(finding, settings):
            done.extend(deactivate_service_credentials(iam, finding, settings))
        else:
            done.append(finding)
    return sort_findings(done)


def enrol(iam: IamGateway, finding: Finding, settings: Settings) -> Finding:
    if settings.dry_run:
        return replace(finding, status=WOULD_ENROL, detail=f"{finding.detail}; dry run: not enrolled")
    try:
        iam.add_user_to_group(settings.group_name, finding.user)
    except AwsError as exc:
        logger.warning("enrolment failed", extra={"user": finding.user, "error": str(exc)})
        return replace(finding, status=FAILED, detail=f"{finding.detail}; enrolment failed: {exc}")
    logger.info("user enrolled", extra={"user": finding.user, "group": settings.group_name})
    return replace(finding, status=ENROLLED, detail=f"{finding.detail}; enrolled into {settings.group_name}")


def _remediable(finding: Finding, settings: Settings) -> bool:
    return (
        settings.remediate
        and finding.finding in MFA_KINDS
        and finding.status == VIOLATION
        and finding.active_keys > 0
    )


def remediate(iam: IamGateway, finding: Finding, settings: Settings) -> list[Finding]:
    """Re-check MFA and keys right before acting; deactivate (never delete) the keys still active.

    Returns the finding updated, or nothing when the user got an MFA device since the report.
    """
    try:
        if iam.list_mfa_devices(finding.user):
            logger.info("MFA found at re-check, keys untouched", extra={"user": finding.user})
            return []
        active = [k["AccessKeyId"] for k in iam.list_access_keys(finding.user) if k.get("Status") == "Active"]
        if not active:
            return [replace(finding, detail=f"{finding.detail}; no active access key to deactivate")]
        if settings.dry_run:
            keys = ", ".join(active)
            return [
                replace(finding, status=WOULD_REMEDIATE, detail=f"{finding.detail}; would deactivate {keys}")
            ]
        for key_id in active:
            iam.deactivate_access_key(finding.user, key_id)
            logger.info("access key deactivated", extra={"user": finding.user, "access_key_id": key_id})
    except AwsError as exc:
        logger.warning("remediation failed", extra={"user": finding.user, "error": str(exc)})
        return [replace(finding, status=FAILED, detail=f"{finding.detail}; remediation failed: {exc}")]
    return [replace(finding, status=REMEDIATED, detail=f"{finding.detail}; deactivated {', '.join(active)}")]


def _unused_keys_remediable(finding: Finding, settings: Settings) -> bool:
    return (
        settings.remediate_unused_keys
        and finding.finding == ACCESS_KEY_UNUSED
        and finding.status == VIOLATION
        and settings.unused_days > 0
    )


def deactivate_unused_keys(
    iam: IamGateway, finding: Finding, settings: Settings, now: datetime
) -> list[Finding]:
    """Re-check live right before acting, then deactivate (never delete) the keys still unused.

    The report's last-use dates may be 4 hours old: ``ListAccessKeys`` says which keys are active now
    (and their creation), ``GetAccessKeyLastUsed`` when each last signed a request. The same rule as the
    finding (unused for ``unused_days`` days or more, a key never used counting from its creation)
    decides. Returns the finding updated, or nothing when every key was used since the report.
    """
    try:
        active = [k for k in iam.list_access_keys(finding.user) if k.get("Status") == "Active"]
        if not active:
            return [replace(finding, detail=f"{finding.detail}; no active access key at re-check")]
        idle: list[str] = []
        for key in active:
            moments = [iam.access_key_last_used(key["AccessKeyId"]), key.get("CreateDate")]
            known = [_aware(m) for m in moments if isinstance(m, datetime)]
            if known and is_unused(max(known), now, settings.unused_days):
                idle.append(key["AccessKeyId"])
        if not idle:
            logger.info("keys used since the report, left active", extra={"user": finding.user})
            return []
        keys = ", ".join(idle)
        if settings.dry_run:
            return [
                replace(finding, status=WOULD_REMEDIATE, detail=f"{finding.detail}; would deactivate {keys}")
            ]
        for key_id in idle:
            iam.deactivate_access_key(finding.user, key_id)
            logger.info(
                "unused access key deactivated", extra={"user": finding.user, "access_key_id": key_id}
            )
    except AwsError as exc:
        logger.warning("unused key remediation failed", extra={"user": finding.user, "error": str(exc)})
        return [replace(finding, status=FAILED, detail=f"{finding.detail}; remediation failed: {exc}")]
    return [
        replace(
            finding, status=REMEDIATED, active_keys=len(idle), detail=f"{finding.detail}; deactivated {keys}"
        )
    ]


def _service_credentials_remediable(finding: Finding, settings: Settings) -> bool:
    # Only guarded users past grace get SERVICE_CREDENTIAL_ACTIVE as a violation (exempt users get only
    # ``exempt``), so this is the grace of the access keys.
    return (
        settings.remediate_service_credentials
        and finding.finding == SERVICE_CREDENTIAL_ACTIVE
        and finding.status == VIOLATION
    )


def deactivate_service_credentials(iam: IamGateway, finding: Finding, settings: Settings) -> list[Finding]:
    """Re-read the user's service-specific credentials from IAM right before acting (the listing the
    finding came from may be minutes old), then deactivate (never delete) the ones still Active.

    Returns the finding updated, or nothing when none is active any more.
    """
    try:
        active = [
            str(c["ServiceSpecificCredentialId"])
            for c in iam.list_service_specific_credentials(finding.user)
            if c.get("Status") == "Active" and c.get("UserName", finding.user) == finding.user
        ]
        if not active:
            logger.info("no active service credential at re-check", extra={"user": finding.user})
            return []
        ids = ", ".join(active)
        if settings.dry_run:
            return [
                replace(finding, status=WOULD_REMEDIATE, detail=f"{finding.detail}; would deactivate {ids}")
            ]
        for credential_id in active:
            iam.deactivate_service_specific_credential(finding.user, credential_id)
            logger.info(
                "service-specific credential deactivated",
                extra={"user": finding.user, "credential_id": credential_id},
            )
    except AwsError as exc:
        logger.warning(
            "service credential remediation failed", extra={"user": finding.user, "error": str(exc)}
        )
        return [replace(finding, status=FAILED, detail=f"{finding.detail}; remediation failed: {exc}")]
    return [replace(finding, status=REMEDIATED, detail=f"{finding.detail}; deactivated {ids}")]


# --- alerts ----------------------------------------------------------------------------------------


# --- the run ---------------------------------------------------------------------------------------


def run_sweep(
    iam: IamGateway,
    sink: AlertSink,
    settings: Settings,
    *,
    account_id: str = "",
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
    guardrail: GuardrailMode = "presence",
    infrastructure: InfrastructureGateway | None = None,
    cloudformation: CloudFormationGateway | None = None,
    security_hub: SecurityHubGateway | None = None,
    notify_owners: bool = False,
    send_owner_notifications: OwnerSender | None = None,
) -> SweepResult:
    """One sweep. AWS failures while gathering send a SWEEP_FAILED alert and are raised.

    ``guardrail`` says how the guardrail is checked (see ``GuardrailMode``); with ``infrastructure`` and
    ``cloudformation`` gateways and a stack name, the enforcer's health is checked too. With
    ``settings.security_hub``, the findings are imported through ``security_hub`` (default: a gateway on
    the default session's credentials, which must be those of ``account_id``). With ``notify_owners``,
    the owners' warnings and notices due now are computed into ``result.notifications``; with
    ``send_owner_notifications`` too (``core.sweep.owner_delivery``), they are sent before the digest,
    which then says what was sent to whom and what was not, and why.
    """
    now = now or datetime.now(UTC)
    try:
        snapshot, details = gather_with_details(
            iam,
            sleep=sleep,
            ssh_key_audit_users_per_run=settings.ssh_key_audit_users_per_run,
            day=now.date(),
        )
        # Per-user reads only for users the report shows with MFA, an active key, no virtual device.
        snapshot = with_mfa_devices(iam, snapshot, totp_candidates(snapshot, settings, now))
    except IamGuardError as exc:  # the caller logs or prints it; we make sure someone hears of it
        _send_quietly(sink, sweep_failed_alert(exc, account_id, now))
        raise
    account = account_id or _account_from_arns(snapshot, details)
    # The guardrail first: enrolments need the group to exist.
    status, changes, drift = check_guardrail(iam, details, settings, account, guardrail)
    escapes = guard_escape_findings(
        details.users, details.groups, details.roles, details.policies, settings, now.date()
    )
    findings = reconcile(iam, [*classify(snapshot, settings, now), *escapes], settings, now)
    if settings.manage_password_policy:
        findings = manage_password_policy(iam, findings, snapshot, settings)
    enrolled_tags = reconcile_enrolled_tags(iam, snapshot.users, findings, settings)
    health = NOT_CHECKED
    if infrastructure is not None and cloudformation is not None:
        health = check_enforcer(infrastructure, cloudformation, settings.stack_name)
    result = SweepResult(
        account_id=account,
        report_generated_at=snapshot.report_generated_at,
        swept_at=now,
        users_scanned=len(snapshot.users),
        findings=tuple(sort_findings([*findings, *drift])),
        dry_run=settings.dry_run,
        remediate=settings.remediate,
        group_name=settings.group_name,
        grace_days=settings.grace_days,
        alerts_sent=(),
        guardrail=status,
        guardrail_changes=tuple(changes),
        enforcer=health,
        unused_days=settings.unused_days,
        key_max_age_days=settings.key_max_age_days,
        remediate_unused_keys=settings.remediate_unused_keys,
        enrolled_tags=enrolled_tags if settings.tag_enrolled else None,
    )
    if notify_owners or send_owner_notifications is not None:
        notes = owner_notifications(snapshot, result.findings, settings, now)
        result = replace(result, notifications=notes)
        if send_owner_notifications is not None:
            result = replace(result, deliveries=send_owner_notifications(notes, result.account_id, now))
    if settings.security_hub:
        from core.aws.securityhub import SecurityHubGateway
        from core.report.securityhub_import import import_findings

        imported = import_findings(
            security_hub or SecurityHubGateway(),
            result.findings,
            account_id=result.account_id,
            now=now,
            user_arns={u.name: u.arn for u in snapshot.users if u.arn},
            report_generated_at=result.report_generated_at,
        )
        result = replace(result, security_hub=imported)
    return deliver(result, sink, settings)


def owner_notifications(
    snapshot: Snapshot, findings: Sequence[Finding], settings: Settings, now: datetime
) -> tuple[Notification, ...]:
    """Each user's owner from its tags (or the default owner), then the notifications due now."""
    owners = {
        u.name: resolve_owner(u.tags, settings.owner_tag_key, settings.default_owner).owner
        for u in snapshot.users
    }
    return tuple(plan_notifications(findings, owners, settings, now))


# --- the password policy ---------------------------------------------------------------------------


def manage_password_policy(
    iam: IamGateway, findings: Sequence[Finding], snapshot: Snapshot, settings: Settings
) -> list[Finding]:
    """``ManagePasswordPolicy=true``: set the policy when it is missing or weak (one write, or none).

    The finding stays, with status ``healed`` (``would-heal`` in dry run, ``failed`` if the write failed)
    and what was set; with ``PasswordMaxAgeDays`` 0 the detail says IAM.17 stays unmet, and why.
    """
    target = managed_password_policy(snapshot.password_policy, settings.password_max_age_days)
    done: list[Finding] = []
    for finding in findings:
        if finding.finding not in PASSWORD_POLICY_KINDS or already_managed(snapshot.password_policy, target):
            done.append(finding)
            continue
        what = ", ".join(f"{k}={v}" for k, v in target.items())
        if not settings.password_max_age_days:
            what += "; IAM.17 stays unmet: PasswordMaxAgeDays is 0, so passwords do not expire"
        if settings.dry_run:
            done.append(replace(finding, status=WOULD_HEAL, detail=f"{finding.detail}; would set {what}"))
            continue
        try:
            iam.update_account_password_policy(target)
        except AwsError as exc:
            logger.warning("password policy not set", extra={"error": str(exc)})
            done.append(replace(finding, status=FAILED, detail=f"{finding.detail}; setting it failed: {exc}"))
            continue
        logger.info("password policy set", extra={"policy": target})
        done.append(replace(finding, status=HEALED, detail=f"{finding.detail}; set {what}"))
    return sort_findings(done)


# --- the guardrail and the enforcer ----------------------------------------------------------------


def check_guardrail(
    iam: IamGateway, details: AccountDetails, settings: Settings, account_id: str, mode: GuardrailMode
) -> tuple[str, list[Change], list[Finding]]:
    """The guardrail's status, the changes made (or due), and a ``guardrail-drift`` finding if it drifted.

    From the account listing already read: no extra call unless something must be healed.
    """
    if not account_id:
        return "not-checked", [], []
    state = state_from_details(details.groups, details.policies, settings, account_id)
    if mode == "presence":
        missing = _missing_pieces(state, settings, account_id)
        if not missing:
            return "not-checked", [], []
        return "drift", [], [_drift_finding(settings, VIOLATION, missing, state.other_holders)]
    steps = plan_guardrail(state, settings, account_id, render_policy(settings))
    planned = [step.change for step in steps]
    if not steps:
        return "verified", [], []
    if mode == "report":
        return (
            "drift",
            planned,
            [_drift_finding(settings, VIOLATION, _described(planned), state.other_holders)],
        )
    if settings.dry_run:
        return (
            "would-heal",
            planned,
            [_drift_finding(settings, WOULD_HEAL, _described(planned), state.other_holders)],
        )
    try:
        done = apply_plan(iam, steps)
    except AwsError as exc:
        logger.warning("guardrail not healed", extra={"error": str(exc)})
        detail = f"{_described(planned)}; healing failed: {exc}"
        return "failed", [], [_drift_finding(settings, FAILED, detail, state.other_holders)]
    logger.info("guardrail healed", extra={"changes": _described(done)})
    return "healed", done, [_drift_finding(settings, HEALED, _described(done), state.other_holders)]


def _missing_pieces(state: Any, settings: Settings, account_id: str) -> str:
    from core.model.naming import policy_arn

    missing = []
    if not state.group_exists:
        missing.append(f"group {settings.group_name} missing")
    if state.versions is None:
        missing.append(f"policy {settings.policy_name} missing")
    elif state.group_exists and (
        policy_arn(account_id, settings.policy_name, settings.partition) not in state.attached
    ):
        missing.append(f"policy {settings.policy_name} not attached to {settings.group_name}")
    return "; ".join(missing)


def _described(changes: Sequence[Change]) -> str:
    return "; ".join(f"{c.resource}: {c.change}" + (f" ({c.detail})" if c.detail else "") for c in changes)


def _drift_finding(settings: Settings, status: Status, detail: str, holders: Sequence[str]) -> Finding:
    if holders:
        detail += f"; the policy is also attached to {', '.join(holders)} (a renamed secured group?)"
    return Finding(
        GUARDRAIL_SUBJECT,
        GUARDRAIL_DRIFT,
        SEVERITY[GUARDRAIL_DRIFT],
        status,
        detail=detail,
        action=f"Find who changed {settings.group_name} / {settings.policy_name}; redeploy if not healed.",
    )


def _account_from_arns(snapshot: Snapshot, details: AccountDetails | None = None) -> str:
    """The account ID from any ARN we already hold (arn:aws:iam::123456789012:user/x): no STS call."""
    arns = [u.arn for u in snapshot.users] + [r.arn for r in snapshot.records.values()]
    if details is not None:
        arns += [str(g.get("Arn", "")) for g in details.groups] + [
            str(p.get("Arn", "")) for p in details.policies
        ]
    for arn in arns:
        parts = arn.split(":")
        if len(parts) > 4 and parts[4].isdigit():
            return parts[4]
    return ""
