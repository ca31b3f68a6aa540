"""The enforcer's alerts: what happened, to whom, by whom, and what a person should do next. Pure.

One function per alert kind; ``core.enforce.actions`` decides when each is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from core.enforce.commands import EventMeta, InfrastructureChanged, MfaDeviceEnabled
from core.guardrail.state import Change
from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.errors import IamGuardError
from core.model.exemptions import Exemption
from core.model.owners import resolve_owner
from core.model.settings import Settings


def _alert(
    meta: EventMeta,
    settings: Settings,
    kind: AlertKind,
    severity: Severity,
    title: str,
    summary: str,
    **kw: Any,
) -> Alert:
    return Alert(
        kind=kind,
        severity=severity,
        title=("[dry run] " if settings.dry_run else "") + title,
        summary=summary,
        account_id=meta.account_id,
        region=meta.region,
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        event_id=meta.event_id,
        dry_run=settings.dry_run,
        **kw,
    )


def status_of(settings: Settings) -> str:
    return "dry-run" if settings.dry_run else "done"


def short_actor(arn: str) -> str:
    """``arn:aws:sts::1:assumed-role/Admin/alice`` -> ``assumed-role/Admin/alice``; '' -> 'someone'."""
    return arn.split(":", 5)[-1] if arn else "someone"


def describe_exemption(exemption: Exemption | None) -> str:
    if exemption is None:
        return "no exemption"
    return exemption.reason + (f", until {exemption.until.isoformat()}" if exemption.until else "")


def enrolled(meta: EventMeta, settings: Settings, user: str, severity: Severity, *, because: str) -> Alert:
    group = settings.group_name
    verb = "would be added" if settings.dry_run else "was added"
    return _alert(
        meta,
        settings,
        AlertKind.USER_ENROLLED,
        severity,
        f"User {user} enrolled in {group}",
        f"{because}; {user} {verb} to {group}, so the guardrail policy applies: until they sign in "
        f"with MFA they can only set up MFA. If {user} must stay outside, tag it "
        f"{settings.exempt_tag_key}=true (or YYYY-MM-DD) and remove it from the group.",
        items=(AlertItem(user, "enrolled", severity, status_of(settings)),),
    )


def exempt_user_created(meta: EventMeta, settings: Settings, user: str, exemption: Exemption | None) -> Alert:
    return _alert(
        meta,
        settings,
        AlertKind.EXEMPT_USER_CREATED,
        Severity.INFO,
        f"Exempt user {user} created (not enrolled)",
        f"{short_actor(meta.actor)} created {user}, which is exempt ({describe_exemption(exemption)}) and "
        f"was not put in {settings.group_name}. Check the exemption is intended.",
        items=(AlertItem(user, "exempt", Severity.INFO, "exempt", action="confirm the exemption"),),
    )


def exempt_user_credential(
    meta: EventMeta, settings: Settings, user: str, exemption: Exemption | None
) -> Alert:
    """A new access key or console password for a user the guardrail does not cover."""
    what = {
        "CreateAccessKey": "an access key",
        "CreateLoginProfile": "a console password",
        "UpdateLoginProfile": "a new console password",
        "UploadSSHPublicKey": "an SSH public key",
        "UploadSigningCertificate": "a signing certificate",
        "CreateServiceSpecificCredential": "a service-specific credential",
        "ResetServiceSpecificCredential": "a new service-specific credential password",
    }.get(meta.event_name, meta.event_name)
    return _alert(
        meta,
        settings,
        AlertKind.EXEMPT_USER_CREDENTIAL,
        Severity.MEDIUM,
        f"{what.capitalize()} for exempt user {user}",
        f"{short_actor(meta.actor)} gave {user} {what} ({meta.event_name}). {user} is exempt "
        f"({describe_exemption(exemption)}), so no network or MFA guardrail applies to it. Confirm the "
        "credential is expected and kept safe; end the exemption when it is no longer needed.",
        items=(
            AlertItem(
                user,
                "exempt-user-credential",
                Severity.MEDIUM,
                "exempt",
                action="confirm the credential, or remove the exemption",
            ),
        ),
    )


def exemption_granted(meta: EventMeta, settings: Settings, user: str, value: str) -> Alert:
    group, key = settings.group_name, settings.exempt_tag_key
    return _alert(
        meta,
        settings,
        AlertKind.EXEMPTION_GRANTED,
        Severity.MEDIUM,
        f"Exemption tag put on enrolled user {user}",
        f"{short_actor(meta.actor)} tagged {user} {key}={value}. IAM Guard never removes users from "
        f"{group} by itself, so {user} is still restricted. If the exemption is intended, remove {user} "
        f"from {group}; if not, remove the tag.",
        items=(
            AlertItem(
                user,
                "exemption-tag-added",
                Severity.MEDIUM,
                "enrolled",
                action=f"remove {user} from {group}, or remove the tag",
            ),
        ),
    )


def owner_changed(meta: EventMeta, settings: Settings, user: str, value: str | None) -> Alert:
    """Anyone setting, changing or removing a user's owner tag: the user's notices go somewhere else."""
    key = settings.owner_tag_key
    lookup = resolve_owner({} if value is None else {key: value}, key, settings.default_owner)
    now = f"the value {lookup.problem}, so" if lookup.problem else "so"
    if lookup.owner is None:
        reach = "only the administrators hear of it"
    else:
        reach = f"its notices go to {' and '.join(a for _, a in lookup.owner.contacts)}"
        reach += " (the default owner)" if lookup.owner.source == "default" else ""
    change = f"removed {key} from {user}" if value is None else f"tagged {user} {key}={value}"
    return _alert(
        meta,
        settings,
        AlertKind.OWNER_CHANGED,
        Severity.MEDIUM,
        f"Owner of {user} changed by {short_actor(meta.actor)}",
        f"{short_actor(meta.actor)} {change}; {now} {reach}. The administrators still get every alert "
        f"about {user}. If the change was not intended, set the tag back.",
        items=(
            AlertItem(
                user,
                "owner-tag-removed" if value is None else "owner-tag-set",
                Severity.MEDIUM,
                "changed",
                action=f"confirm who should own {user}",
            ),
        ),
    )


def root_access_key(meta: EventMeta, settings: Settings, access_key_id: str) -> Alert:
    key = access_key_id or "(ID not in the event)"
    return _alert(
        meta,
        settings,
        AlertKind.ROOT_ACCESS_KEY_CREATED,
        Severity.CRITICAL,
        "Root user access key created",
        f"The root user created access key {key} from {meta.source_ip or 'an unknown address'}. "
        "No IAM policy can restrict the root user: delete the key unless there is a documented need, "
        "and check who holds the root credentials.",
        items=(
            AlertItem(
                "<root_account>",
                "root-access-key-created",
                Severity.CRITICAL,
                "violation",
                action=f"delete access key {key}",
            ),
        ),
    )


def root_password(meta: EventMeta, settings: Settings) -> Alert:
    return _alert(
        meta,
        settings,
        AlertKind.ROOT_PASSWORD_CREATED,
        Severity.CRITICAL,
        "Root user console password created",
        f"The root user was given a console password (CreateLoginProfile) from "
        f"{meta.source_ip or 'an unknown address'}. No IAM policy can restrict the root user: if the "
        "organization manages root credentials centrally, delete the password again; otherwise make sure "
        "MFA is on and the password is locked away.",
        items=(
            AlertItem(
                "<root_account>",
                "root-password-created",
                Severity.CRITICAL,
                "violation",
                action="delete the root password, or confirm root MFA",
            ),
        ),
    )


def guardrail_restored(
    meta: EventMeta, settings: Settings, changes: Sequence[Change], *, tamper: bool
) -> Alert:
    """A tamper event healed (high), or drift found while handling another event (medium)."""
    done = "would be restored" if settings.dry_run else "restored"
    listed = "; ".join(f"{c.resource}: {c.change}" + (f" ({c.detail})" if c.detail else "") for c in changes)
    if tamper:
        severity = Severity.HIGH
        title = f"Guardrail tampering undone after {meta.event_name} by {short_actor(meta.actor)}"
        summary = (
            f"{meta.event_name} by {meta.actor or 'an unknown caller'} changed the guardrail; {done}: "
            f"{listed}. Ask the caller why, and restrict who may change the group and policy."
        )
    else:
        severity = Severity.MEDIUM
        title = f"Guardrail repaired while handling {meta.event_name}"
        summary = (
            f"The secured group or policy was not as intended (first run, or changed without an event "
            f"the enforcer handles); {done}: {listed}. Check CloudTrail for who changed it."
        )
    return _alert(
        meta,
        settings,
        AlertKind.TAMPER_HEALED,
        severity,
        title,
        summary,
        items=tuple(AlertItem(c.resource, c.change, severity, status_of(settings)) for c in changes),
    )


def group_renamed(meta: EventMeta, settings: Settings, renamed: str, members: int) -> Alert:
    """The secured group was renamed off IAM Guard's path: its members now also sit in a new one."""
    group = settings.group_name
    return _alert(
        meta,
        settings,
        AlertKind.TAMPER_HEALED,
        Severity.HIGH,
        f"Secured group renamed to {renamed} by {short_actor(meta.actor)}: {group} made again",
        f"{meta.event_name} by {meta.actor or 'an unknown caller'} renamed {group} to {renamed}, out of "
        f"IAM Guard's reach. {group} was made again with the guardrail attached and the {members} "
        f"member(s) of {renamed} were added to it, so they keep the guardrail. Delete {renamed} once "
        "you know why it was renamed.",
        items=(
            AlertItem(
                f"group/{renamed}",
                "group-renamed",
                Severity.HIGH,
                status_of(settings),
                action=f"delete the group {renamed}",
            ),
        ),
    )


def mfa_registration(
    meta: EventMeta,
    settings: Settings,
    command: MfaDeviceEnabled,
    *,
    deactivated: bool,
    kept_because: str = "",
) -> Alert:
    user = command.user_name
    reasons = []
    if not command.by_the_user:
        reasons.append(f"by {short_actor(meta.actor)}, not by {user}")
    if not (command.with_mfa or command.from_console):
        reasons.append("from credentials without MFA that are not a console session (an access key?)")
    if deactivated:
        outcome = (
            f"{user} already had another MFA device and the request carried no MFA, so the new device "
            f"{command.serial_number or '(serial not in the event)'} "
            + ("would be deactivated" if settings.dry_run else "was deactivated")
        )
    else:
        outcome = "The device was left active" + (f" ({kept_because})" if kept_because else "")
    return _alert(
        meta,
        settings,
        AlertKind.MFA_REGISTRATION_SUSPICIOUS,
        Severity.HIGH,
        f"Suspicious MFA registration for {user}: {command.serial_number or 'serial not in the event'}",
        f"The MFA device {command.serial_number or '(serial not in the event)'} was registered for {user} "
        f"{'; '.join(reasons)}. With a stolen access key, an "
        f"attacker can register their own device and mint MFA sessions. {outcome}. Ask {user} whether they "
        "registered it (from the console); if not, deactivate the device and rotate their access keys.",
        items=(
            AlertItem(
                user,
                "mfa-registration-suspicious",
                Severity.HIGH,
                ("dry-run" if settings.dry_run else "deactivated") if deactivated else "violation",
                action="confirm with the user; deactivate the device and rotate keys if unknown",
            ),
        ),
    )


def infrastructure(
    meta: EventMeta, settings: Settings, command: InfrastructureChanged, *, own_update: bool
) -> Alert:
    stack = settings.stack_name or "IAM Guard"
    what = f"{command.resource} ({command.service.removeprefix('aws.')})"
    if own_update:
        return _alert(
            meta,
            settings,
            AlertKind.INFRASTRUCTURE_CHANGED,
            Severity.INFO,
            f"IAM Guard updated: {meta.event_name} on {command.resource}",
            f"CloudFormation changed {what} while updating the stack {stack} ({meta.event_name}).",
            items=(AlertItem(command.resource, meta.event_name, Severity.INFO, "stack-update"),),
        )
    severity = Severity.CRITICAL if command.critical else Severity.HIGH
    effect = (
        "This can stop enforcement or alerting. "
        if command.critical
        else "This changes how IAM Guard runs or who hears of it. "
    )
    via = " through CloudFormation (not this stack's own update)" if command.by_cloudformation else ""
    return _alert(
        meta,
        settings,
        AlertKind.INFRASTRUCTURE_TAMPERED,
        severity,
        f"IAM Guard's {command.resource} changed: {meta.event_name} by {short_actor(meta.actor)}",
        f"{meta.actor or 'An unknown caller'} called {meta.event_name} on {what}{via}. {effect}"
        f"Ask the caller why; restore the stack with `sam deploy` (or check drift: aws cloudformation "
        f"detect-stack-drift --stack-name {stack}), and restrict who may change IAM Guard's resources.",
        items=(
            AlertItem(
                command.resource,
                meta.event_name,
                severity,
                "violation",
                action=f"redeploy {stack}; find out why {short_actor(meta.actor)} changed it",
            ),
        ),
    )


def enforcement_failed(
    meta: EventMeta, settings: Settings, subject: str, exc: IamGuardError, *, retried: bool
) -> Alert:
    retry = "Lambda retries the event." if retried else "Not retried: fix the cause, then run the sweep."
    return _alert(
        meta,
        settings,
        AlertKind.ENFORCEMENT_FAILED,
        Severity.HIGH,
        f"Enforcement failed for {meta.event_name} ({subject})",
        f"{exc}. {retry}",
        items=(AlertItem(subject, "enforcement-failed", Severity.HIGH, "violation", action=retry),),
    )


def password_policy_restored(
    meta: EventMeta, settings: Settings, policy: Mapping[str, Any], *, had_policy: bool
) -> Alert:
    """An UpdateAccountPasswordPolicy / DeleteAccountPasswordPolicy undone (ManagePasswordPolicy=true)."""
    done = "would be restored" if settings.dry_run else "restored"
    what = ", ".join(f"{k}={v}" for k, v in policy.items())
    before = "changed" if had_policy else "deleted"
    return _alert(
        meta,
        settings,
        AlertKind.PASSWORD_POLICY_RESTORED,
        Severity.HIGH,
        f"Account password policy {before} by {short_actor(meta.actor)}; {done}",
        f"{meta.event_name} by {meta.actor or 'an unknown caller'} from "
        f"{meta.source_ip or 'an unknown address'} {before} the account password policy, which IAM Guard "
        f"manages (ManagePasswordPolicy=true); {done}: {what}. Ask the caller why; to change the "
        "policy, change the stack's parameters.",
        items=(
            AlertItem(
                "<password_policy>",
                "password-policy-restored",
                Severity.HIGH,
                status_of(settings),
                action="ask the caller why; change the policy through the stack",
            ),
        ),
    )


def root_session(meta: EventMeta, settings: Settings, member: str, task_policy: str) -> Alert:
    """sts:AssumeRoot: a root session in a member account (centralized root access)."""
    task = task_policy.rsplit("/", 1)[-1]
    return _alert(
        meta,
        settings,
        AlertKind.ROOT_SESSION_ASSUMED,
        Severity.HIGH,
        f"Root session in account {member} assumed by {short_actor(meta.actor)}",
        f"{meta.actor or 'an unknown caller'} took a root session in member account {member} (AssumeRoot, "
        f"task policy {task}) from {meta.source_ip or 'an unknown address'}. Root sessions are for the "
        "few tasks only root can do: confirm the caller meant to, and check what the session did "
        "(CloudTrail, in the member account).",
        items=(
            AlertItem(
                f"account/{member}",
                "root-session-assumed",
                Severity.HIGH,
                "violation",
                action="confirm with the caller; review the session's calls in the member account",
            ),
        ),
    )
