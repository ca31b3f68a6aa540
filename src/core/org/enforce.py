"""An IAM event of a member account, handled in that account only.

Guardrail events: assume the write role in ``event.account`` and run ``core.enforce.enforcer.enforce``
exactly as in single-account mode (events the member's own enforce role caused are ignored). A leaked key
(AWS Health, or a GuardDuty finding with ``GuardDutyFindings=true``) is answered with the member's own
services through that session (``member_services``): GuardDuty's ``GetFindings`` in the finding's region,
the Health API, and CloudTrail's ``LookupEvents`` for the summary; only whose the key is is asked with the
hub's credentials (STS answers for any account). Changes to
the spoke itself (its roles and rules): no write can undo a StackSet instance from the hub, so the hub
alerts - critical when the change stops enforcement, info when the StackSet rollout made it: the caller's
issuer is a ``stacksets-exec-*`` role **and** the hub's StackSet ``<stack>-spoke`` had an operation
working in that account at the call's time (``ListStackSetOperations``, ``ListStackSetOperationResults``,
asked as the delegated administrator). A role a member administrator named ``stacksets-exec-x`` (possible
without the IAMGuardProtect SCP) outside such an operation is tampering.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.aws.assume import AccountAccess, Assumer, role_arn
from core.aws.cloudformation import CloudFormationGateway
from core.aws.cloudtrail import CloudTrailGateway
from core.aws.guardduty import FindingsGateway
from core.aws.health import HEALTH_REGION, HealthGateway
from core.aws.iam import IamGateway, permissions_of
from core.aws.sts import KeyOwnerGateway
from core.enforce.actions import EnforcementAction, GuardrailCache, utc_now
from core.enforce.commands import EventMeta
from core.enforce.enforcer import EnforcementResult, enforce, enforcement_failed_alert
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.model.alerts import Alert, AlertItem, AlertKind, AlertSink, Severity
from core.model.errors import AccessDeniedError, DeliveryError, IamGuardError, InvalidEventError
from core.model.naming import ACCOUNT_ID, spoke_stackset_name
from core.model.settings import Settings
from core.org.spoke import WORKED_STATUSES, SpokeChange, member_settings, ran_at, spoke_change

# The leaked-key response's reads in the member, through its enforce role (org/spoke.yaml's
# IAMGuardEnforceRole grants them; core.org.spoke.role_permissions): what the key did, and the Health API.
MEMBER_LEAK_READ_PERMISSIONS: frozenset[str] = permissions_of(
    CloudTrailGateway.events_of_access_key, HealthGateway.event, HealthGateway.entity_values
)
# Only with GuardDutyFindings=true (the spoke's GuardDutyOn condition): a finding read back in the member.
MEMBER_GUARDDUTY_PERMISSIONS: frozenset[str] = permissions_of(FindingsGateway.finding)


@dataclass(frozen=True)
class MemberServices:
    """The member's own regional services a leaked-key response reads, all through its enforce session."""

    trail: Callable[[str], CloudTrailGateway]
    findings: Callable[[str], FindingsGateway] | None
    health: HealthGateway


def member_services(access: AccountAccess, settings: Settings) -> MemberServices:
    """CloudTrail and GuardDuty per region and the Health API (its global endpoint, us-east-1), each a
    client of the member's session: GuardDuty answers about the member's own findings there, never the
    hub's. GuardDuty only with ``GuardDutyFindings=true`` (otherwise the role is not granted it)."""

    def trail(region: str) -> CloudTrailGateway:
        return CloudTrailGateway(region, access.client("cloudtrail", region))

    def findings(region: str) -> FindingsGateway:
        return FindingsGateway(region, access.client("guardduty", region))

    return MemberServices(
        trail=trail,
        findings=findings if settings.guardduty_findings else None,
        health=HealthGateway(client_factory=lambda: access.client("health", HEALTH_REGION)),  # on first use
    )


# Changes that stop the spoke from forwarding events or the hub from reaching the member.
STOPS_ENFORCEMENT = frozenset(
    {"DeleteRole", "UpdateAssumeRolePolicy", "DeleteRule", "DisableRule", "RemoveTargets", "PutTargets"}
)


def enforce_member_event(
    raw: Mapping[str, Any],
    *,
    assumer: Assumer,
    role_name: str,
    settings: Settings,
    sink: AlertSink,
    cache: GuardrailCache,
    ignore_arns: frozenset[str] = frozenset(),
    now: Callable[[], datetime] = utc_now,
    key_owner: KeyOwnerGateway | None = None,
    stacksets: CloudFormationGateway | None = None,
) -> EnforcementResult:
    """``raw["account"]`` names the member; nothing is written in any other account. ``stacksets``: the
    hub's CloudFormation, asked whether a StackSet operation made a spoke change (default: a gateway on
    the hub's own credentials)."""
    event = parse_event(raw)
    account = event.account
    if not ACCOUNT_ID.match(account):
        raise InvalidEventError(f"the event's account {account!r} is not an AWS account ID")
    if account in settings.org_exclude_accounts:  # the hub's OrgExcludeAccounts: left alone entirely
        meta = command_for(event, settings).meta
        return EnforcementResult(meta, "ignored", f"account {account} is excluded (OrgExcludeAccounts)")
    change = spoke_change(raw)
    if change is not None:
        meta = command_for(event, settings).meta
        doubt = None
        if change.by_stackset:
            doubt = rollout_doubt(stacksets or CloudFormationGateway(), settings, account, meta, now())
        return _spoke_changed(change, meta, settings, sink, doubt)
    try:
        access = assumer.access(account, role_name, "enforce")
    except IamGuardError as exc:
        with suppress(DeliveryError):  # the caller reports the AssumeRole failure itself
            sink.send(enforcement_failed_alert(command_for(event, settings), exc, settings))
        raise
    services = member_services(access, settings)
    try:
        return enforce(
            event,
            settings=member_settings(settings),
            iam=IamGateway(access.client("iam")),
            sink=sink,
            cache=cache,
            ignore_arns=ignore_arns | {role_arn(account, role_name)},
            now=now,
            # Whose a leaked key is: asked with the hub's own credentials (STS answers for any account).
            sts=key_owner or KeyOwnerGateway(),
            trail=services.trail,
            findings=services.findings,
            health=services.health,
        )
    except AccessDeniedError:
        assumer.forget(account, role_name, "enforce")  # a reused session must not keep failing
        raise


def rollout_doubt(
    stacksets: CloudFormationGateway, settings: Settings, account: str, meta: EventMeta, now: datetime
) -> str | None:
    """None when the hub's spoke StackSet had an operation working in ``account`` at the event's time;
    otherwise why the change cannot be the StackSet's (a read failure counts against it)."""
    if not settings.stack_name:
        return "no stack name is configured, so the hub's StackSet cannot be asked"
    name = spoke_stackset_name(settings.stack_name)
    at = meta.occurred_at or now
    try:
        for operation in stacksets.stackset_operations(name):
            if not ran_at(operation, at, now):
                continue
            statuses = stacksets.stackset_operation_accounts(name, operation.operation_id).get(account)
            if statuses and statuses & WORKED_STATUSES:
                return None
    except IamGuardError as exc:
        return f"the StackSet {name}'s operations could not be read ({exc})"
    return f"the StackSet {name} had no operation in account {account} at {at:%Y-%m-%dT%H:%M:%SZ}"


def _spoke_changed(
    change: SpokeChange, meta: EventMeta, settings: Settings, sink: AlertSink, doubt: str | None = None
) -> EnforcementResult:
    by_rollout = change.by_stackset and doubt is None
    alert = spoke_alert(change, meta, by_rollout=by_rollout, doubt=doubt)
    errors: list[str] = []
    try:
        sink.send(alert)
    except DeliveryError as exc:
        errors.append(str(exc))
    action: EnforcementAction = "infrastructure-changed" if by_rollout else "infrastructure-tampered"
    return EnforcementResult(
        meta=meta,
        action=action,
        reason=f"{meta.event_name} on the spoke's {change.resource}: alerted (the StackSet owns it)",
        alerts=(alert,),
        dry_run=settings.dry_run,
        delivery_errors=tuple(errors),
    )


def spoke_alert(
    change: SpokeChange, meta: EventMeta, *, by_rollout: bool | None = None, doubt: str | None = None
) -> Alert:
    """``by_rollout``: the StackSet's operation made it (default: the issuer's name alone says so)."""
    if by_rollout is None:
        by_rollout = change.by_stackset
    if by_rollout:
        kind, severity = AlertKind.INFRASTRUCTURE_CHANGED, Severity.INFO
        title = f"IAM Guard spoke updated by its StackSet: {meta.event_name} on {change.resource}"
        summary = f"The StackSet rollout changed {change.resource} in account {meta.account_id}."
    else:
        kind = AlertKind.INFRASTRUCTURE_TAMPERED
        severity = Severity.CRITICAL if meta.event_name in STOPS_ENFORCEMENT else Severity.HIGH
        title = f"IAM Guard spoke tampered with: {meta.event_name} on {change.resource} in {meta.account_id}"
        summary = (
            f"{meta.actor or 'An unknown caller'} changed {change.resource}, a resource of IAM Guard's spoke "
            f"StackSet. Until the StackSet instance is restored (update the StackSet, or detect drift), the "
            f"hub may not see or act on this account's IAM events; the scheduled sweep reports the account "
            f"failed if its audit role is gone. Attach the IAMGuardProtect SCP to prevent this."
        )
        if change.by_stackset and doubt:
            summary += (
                f" The caller's role is named like a StackSet execution role (stacksets-exec-*), but {doubt}."
            )
    return Alert(
        kind=kind,
        severity=severity,
        title=title,
        summary=summary,
        account_id=meta.account_id,
        region=meta.region,
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        event_id=meta.event_id,
        items=(AlertItem(change.resource, meta.event_name, severity, "alerted"),),
    )
