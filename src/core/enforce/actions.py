"""The enforcer's core: event -> command -> (verify the guardrail) -> decide -> apply -> alerts.

One entry point, ``enforce``, shared by the Lambda handler and ``iam-guard enforce``. Deciding what to do
about a user is pure (``decide_user``); the IAM reads and writes around it are few and named, so the
call budget holds: steady-state CreateUser = GetUser + AddUserToGroup, plus the 3 reads of
``ensure_guardrail`` when the ``GuardrailCache`` has no fresh verification.

With ``tag_enrolled`` (member accounts) it also keeps the enrolled tag on the users it enrols, finds
enrolled, or finds removed and exempt (``_keep_enrolled_tag``; the IAMGuardDenyUnenrolled SCP reads it).

Never weakens on its own: a user is never removed from the group, whatever the tags say. The only
credential it ever disables is an MFA device registered, without MFA, next to one the user already had
(see ``review_mfa_registration``). Alert wording lives in ``core.enforce.alerts``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple

from core.aws.cloudformation import CloudFormationGateway
from core.aws.cloudtrail import CloudTrailGateway
from core.aws.guardduty import FindingsGateway
from core.aws.health import HealthGateway
from core.aws.iam import IamGateway, permissions_of
from core.aws.sts import KeyOwnerGateway
from core.enforce import alerts
from core.enforce.commands import (
    EnrolUser,
    EventMeta,
    ExemptionChanged,
    HealGuardrail,
    Ignore,
    InfrastructureChanged,
    MfaDeviceEnabled,
    OwnerChanged,
    RestoreMembership,
    RestorePasswordPolicy,
    RestoreRenamedGroup,
    RootAccessKeyCreated,
    RootPasswordCreated,
    RootSessionAssumed,
)
from core.enforce.risk import REVOKE_SESSIONS_POLICY, revoke_sessions_policy
from core.guardrail.apply import ensure_guardrail, restore_renamed_group
from core.guardrail.state import ENSURE_PERMISSIONS, Change
from core.model.alerts import Alert, Severity
from core.model.errors import NotFoundError
from core.model.exemptions import Exemption, exemption_for, tags_to_dict
from core.model.naming import ENROLLED_TAG_KEY, ENROLLED_TAG_VALUE, same_iam_name
from core.model.naming import ROOT_USER as ROOT
from core.model.settings import Settings
from core.policy.password_policy import already_managed, managed_password_policy

DEFAULT_CACHE_TTL = timedelta(minutes=5)
# IAM is eventually consistent: a user named in a fresh CreateUser event may not be readable yet. Before
# concluding "deleted meanwhile" (and leaving the user to the next sweep), look again after these waits.
NEW_USER_VISIBILITY_WAITS: tuple[float, ...] = (1.0, 2.0, 4.0)

# Exactly the gateway methods the enforcer (and ensure_guardrail under it) can call.
REQUIRED_PERMISSIONS: frozenset[str] = (
    ENSURE_PERMISSIONS
    | permissions_of(
        IamGateway.get_user,
        IamGateway.list_groups_for_user,
        IamGateway.add_user_to_group,
        IamGateway.list_group_members,
        IamGateway.list_mfa_devices,
        IamGateway.deactivate_mfa_device,
    )
    | permissions_of(CloudFormationGateway.stack)
    # A leaked access key (core.enforce.leak): whose key, corroborate, deactivate, revoke, quarantine.
    | permissions_of(
        KeyOwnerGateway.access_key_account,
        IamGateway.access_key_user,
        IamGateway.list_access_keys,
        IamGateway.list_attached_user_policies,
        IamGateway.deactivate_access_key,
        IamGateway.put_user_policy,
        IamGateway.tag_user,
        IamGateway.attach_user_policy,
    )
    | permissions_of(CloudTrailGateway.events_of_access_key)
    # ManagePasswordPolicy=true: a changed or deleted password policy re-read and restored.
    | permissions_of(IamGateway.account_password_policy, IamGateway.update_account_password_policy)
    | permissions_of(HealthGateway.event, HealthGateway.entity_values)
)
# Only with GuardDutyFindings=true (the template's condition GuardDutyOn): read a finding back.
GUARDDUTY_PERMISSIONS: frozenset[str] = permissions_of(FindingsGateway.finding)


def utc_now() -> datetime:
    return datetime.now(UTC)


class GuardrailCache:
    """When ``ensure_guardrail`` last found (or made) everything current, per account and settings.

    Lives as long as the warm Lambda container. A short TTL bounds how long a change that produced no
    event we handle could go unseen by enrolments; tamper events bypass it, and the sweep re-checks.
    """

    def __init__(self, ttl: timedelta = DEFAULT_CACHE_TTL) -> None:
        self.ttl = ttl
        self._verified: dict[tuple[str, Settings], datetime] = {}
        self._lock = threading.Lock()

    def is_fresh(self, account_id: str, settings: Settings, now: datetime) -> bool:
        with self._lock:
            verified = self._verified.get((account_id, settings))
        return verified is not None and now - verified < self.ttl

    def mark_verified(self, account_id: str, settings: Settings, now: datetime) -> None:
        with self._lock:
            self._verified[(account_id, settings)] = now

    def invalidate(self) -> None:
        with self._lock:
            self._verified.clear()


# What the enforcer did for one event: the `action` field of its output, a contract users script against.
EnforcementAction = Literal[
    "enrolled",  # a new or un-exempted user put into the secured group
    "already-enrolled",
    "exempt",
    "exempt-still-enrolled",  # exemption tag added to an enrolled user: alerted, never auto-removed
    "user-not-found",
    "healed",  # tampering with the group, its members or the policy undone
    "intact",  # a tamper event that left the guardrail as intended
    "root-key-alerted",
    "root-password-alerted",
    "mfa-registered",
    "mfa-registration-alerted",
    "mfa-device-deactivated",
    "infrastructure-changed",  # IAM Guard's own resources, by its stack's CloudFormation update
    "infrastructure-tampered",
    "owner-changed",  # the owner tag set, changed or removed: alerted
    "leaked-key-deactivated",  # a leaked access key AWS corroborates made Inactive (core.enforce.leak)
    "leaked-key-already-inactive",
    "leaked-key-alerted",  # LeakedKeyAction=alert, a root key, another account's, deleted, or none named
    "leaked-key-unverified",  # AWS does not corroborate the report: nothing changed
    "leaked-key-sessions-revoked",  # a session key GuardDuty corroborates: its user's older sessions denied
    "quarantine-restored",  # AWS's quarantine policy re-attached while an exposed key exists
    "quarantine-detached",  # detached once every exposed key was deleted: the intended end
    "root-session-alerted",  # sts:AssumeRoot: a root session in a member account, alerted
    "password-policy-restored",  # ManagePasswordPolicy=true: a changed or deleted password policy set back
    "ignored",
]


@dataclass(frozen=True)
class Outcome:
    """What one enforcement action did: the action, why, the user, the changes made and the alerts."""

    action: EnforcementAction
    reason: str
    user: str = ""
    changes: tuple[Change, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass
class Run:
    """One event's dependencies, threaded through the steps below."""

    settings: Settings
    iam: IamGateway
    cache: GuardrailCache
    now: datetime
    meta: EventMeta
    sleep: Callable[[float], None]
    cloudformation: CloudFormationGateway | None = None
    sts: KeyOwnerGateway | None = None  # the leaked-key response asks STS whose a key is (core.enforce.leak)
    # CloudTrail per region, for the summary of what a leaked key did (none: no summary)
    trail: Callable[[str], CloudTrailGateway] | None = None
    # GuardDuty per region, to read a finding back (none: GuardDuty findings are never corroborated)
    findings: Callable[[str], FindingsGateway] | None = None
    health: HealthGateway | None = None  # the Health API, where the support plan allows it
    tamper: bool = False
    guardrail: str = "not-checked"
    changes: list[Change] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run


# --- per command ------------------------------------------------------------------------------------


# An action: one command, run against the account. ``Any``: each action takes its own command type,
# which the table in core.enforce.enforcer pairs with it.
Action = Callable[[Any, Run], Outcome]


def ignore(command: Ignore, run: Run) -> Outcome:
    return Outcome("ignored", command.reason)


def alert_root_key(command: RootAccessKeyCreated, run: Run) -> Outcome:
    alert = alerts.root_access_key(command.meta, run.settings, command.access_key_id)
    return Outcome("root-key-alerted", "the root user created an access key", ROOT, alerts=(alert,))


def alert_root_password(command: RootPasswordCreated, run: Run) -> Outcome:
    alert = alerts.root_password(command.meta, run.settings)
    return Outcome(
        "root-password-alerted", "the root user was given a console password", ROOT, alerts=(alert,)
    )


def alert_root_session(command: RootSessionAssumed, run: Run) -> Outcome:
    alert = alerts.root_session(command.meta, run.settings, command.member, command.task_policy)
    return Outcome(
        "root-session-alerted",
        f"a root session was assumed in account {command.member} ({command.task_policy})",
        alerts=(alert,),
    )


def restore_password_policy(command: RestorePasswordPolicy, run: Run) -> Outcome:
    """Re-read the account password policy from IAM (the event's parameters are only a claim), then set
    the managed one when the live policy differs from it (``core.policy.password_policy``): a change
    that still meets every requirement is restored too, to the configured values; a stricter length or
    reuse prevention is kept, as the sweep keeps it. No write, no alert when IAM already says it."""
    settings = run.settings
    current = run.iam.account_password_policy()
    target = managed_password_policy(current, settings.password_max_age_days)
    if already_managed(current, target):
        return Outcome("intact", f"{command.meta.event_name} left the managed password policy as it is")
    if not settings.dry_run:
        run.iam.update_account_password_policy(target)
    alert = alerts.password_policy_restored(command.meta, settings, target, had_policy=current is not None)
    change = Change(
        "<password_policy>", "password-policy-restored", ", ".join(f"{k}={v}" for k, v in target.items())
    )
    what = "would restore" if settings.dry_run else "restored"
    return Outcome(
        "password-policy-restored",
        f"{command.meta.event_name}: {what} the managed password policy",
        changes=(change,),
        alerts=(alert,),
    )


def after_verifying_guardrail(action: Action, *, tamper: bool) -> Action:
    """The action, run once the guardrail is verified (healed if needed); ``tamper``: the event
    undid part of the guardrail, so the verification is uncached and the healing alerts."""

    def act(command: Any, run: Run) -> Outcome:
        run.tamper = tamper
        verify_guardrail(run)
        return action(command, run)

    return act


def verify_guardrail(run: Run) -> None:
    """``ensure_guardrail``, skipped when this container verified it within the TTL (never for tamper).

    A tamper event also checks the group's path (one more call): the group must stay on IAM Guard's.
    """
    account, settings = run.meta.account_id, run.settings
    if run.tamper:
        run.cache.invalidate()
    elif run.cache.is_fresh(account, settings, run.now):
        run.guardrail = "cached"
        return
    changes = ensure_guardrail(run.iam, settings, account, dry_run=run.dry_run, check_path=run.tamper)
    run.guardrail = "verified"
    run.changes.extend(changes)
    if not (run.dry_run and changes):  # a dry run that found drift verified nothing
        run.cache.mark_verified(account, settings, run.now)


def enrol_user(command: EnrolUser, run: Run) -> Outcome:
    user = command.user_name
    found = _current_tags(run, user, waits=NEW_USER_VISIBILITY_WAITS)
    if found is None:
        return _user_gone(run, user)
    tags = {**command.event_tags, **found}  # the user's current tags win over the event's
    # A brand-new user cannot be a member yet: skip the membership read (the warm budget is 2 calls).
    member = False if command.is_new_user else _is_member(run, user)
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=member)
    sent: list[Alert] = []
    action: EnforcementAction
    if decision.action == "enrol":
        _add_to_group(run, user, tags)
        severity = Severity.LOW if command.is_new_user else Severity.MEDIUM
        sent.append(alerts.enrolled(run.meta, run.settings, user, severity, because=_enrol_reason(command)))
        action, reason = "enrolled", f"{user} is not exempt; added to {run.settings.group_name}"
    elif decision.action == "exempt":
        if command.is_new_user:
            sent.append(alerts.exempt_user_created(run.meta, run.settings, user, decision.exemption))
        else:  # a new key or password for a user the guardrail does not cover: someone should know
            sent.append(alerts.exempt_user_credential(run.meta, run.settings, user, decision.exemption))
        action, reason = "exempt", f"{user} is exempt ({_describe(decision.exemption)}); not enrolled"
    else:
        _keep_enrolled_tag(run, user, tags, member=True)
        action, reason = "already-enrolled", f"{user} is already in {run.settings.group_name}"
    return _finish(run, action, reason, user, sent)


def restore_membership(command: RestoreMembership, run: Run) -> Outcome:
    user = command.user_name
    tags = _current_tags(run, user)
    if tags is None:
        return _user_gone(run, user)
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=False)
    if decision.action == "exempt":
        # Removing an exempt user is the manual step an EXEMPTION_GRANTED alert asks for.
        _keep_enrolled_tag(run, user, tags, member=False)
        return _finish(run, "exempt", f"{user} is exempt ({_describe(decision.exemption)}); left out", user)
    tamperer = _guarded_tamperer(run)
    # IAM's answer, not the event's: the user is really out of the group (one more read, only when a
    # guarded IAM user is named as the caller: their sessions are about to be revoked).
    confirmed = tamperer is not None and not _is_member(run, user)
    _add_to_group(run, user, tags)
    if confirmed and tamperer is not None:
        _revoke_sessions(run, tamperer)
    return _finish(run, "healed", f"{user} was removed from {run.settings.group_name}; added back", user)


def recheck_exemption(command: ExemptionChanged, run: Run) -> Outcome:
    user, key = command.user_name, run.settings.exempt_tag_key
    tags = _current_tags(run, user)
    if tags is None:
        return _user_gone(run, user)
    member = _is_member(run, user)
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=member)
    if decision.action == "enrol":
        _add_to_group(run, user, tags)
        change = "set to a value that is not an exemption" if command.tag_added else "removed"
        because = f"the exemption tag {key} was {change} by {_short(run.meta.actor)}"
        alert = alerts.enrolled(run.meta, run.settings, user, Severity.MEDIUM, because=because)
        return _finish(run, "enrolled", f"{user} is no longer exempt; added back", user, [alert])
    if decision.action == "exempt" and member:
        alert = alerts.exemption_granted(run.meta, run.settings, user, tags.get(key, ""))
        reason = f"{user} became exempt but stays in {run.settings.group_name} (never removed automatically)"
        return _finish(run, "exempt-still-enrolled", reason, user, [alert])
    if decision.action == "exempt":
        return _finish(run, "exempt", f"{user} is exempt ({_describe(decision.exemption)})", user)
    return _finish(run, "already-enrolled", f"{user} is not exempt and already enrolled", user)


def review_owner_change(command: OwnerChanged, run: Run) -> Outcome:
    """Alert every owner tag change (who now hears of the user); re-decide the exemption if touched too."""
    user = command.user_name
    alert = alerts.owner_changed(run.meta, run.settings, user, command.value)
    if command.exemption_too:
        outcome = recheck_exemption(ExemptionChanged(command.meta, user, command.value is not None), run)
        return replace(outcome, alerts=(*outcome.alerts, alert))
    return _finish(
        run, "owner-changed", f"the owner tag of {user} was {_owner_change(command)}", user, [alert]
    )


def _owner_change(command: OwnerChanged) -> str:
    return "removed" if command.value is None else f"set to {command.value!r}"


def heal_guardrail(command: HealGuardrail, run: Run) -> Outcome:
    if not run.changes:
        return Outcome("intact", f"{command.meta.event_name} left the guardrail as intended; nothing to heal")
    # The guardrail really was changed (IAM's state had to be restored): a guarded IAM user who made the
    # change loses the sessions they already hold.
    tamperer = _guarded_tamperer(run)
    if tamperer is not None:
        _revoke_sessions(run, tamperer)
    return _finish(run, "healed", f"{command.meta.event_name} on {command.resource}: restored", "")


def _guarded_tamperer(run: Run) -> str | None:
    """The event's caller when it is an IAM user of this account IAM Guard guards (not exempt, by its
    tags now), else None: roles, the root user, services, exempt users and deleted users are left alone."""
    parts = run.meta.actor.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or parts[4] != run.meta.account_id:
        return None
    if not parts[5].startswith("user/"):
        return None
    name = parts[5].rsplit("/", 1)[-1]
    tags = _current_tags(run, name)
    if not name or tags is None or exemption_for(name, tags, run.settings, run.now.date()) is not None:
        return None
    return name


def _revoke_sessions(run: Run, user: str) -> None:
    """Overwrite the user's ``iam-guard-revoke-sessions`` inline policy (the leaked-key responder's one
    mechanism) with the cut-off now: sessions issued before it are denied everything; the user's long-term
    credentials and new sessions are not touched (``aws:TokenIssueTime`` exists only in sessions)."""
    issued_before = run.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not run.dry_run:
        run.iam.put_user_policy(user, REVOKE_SESSIONS_POLICY, revoke_sessions_policy(issued_before))
    change = "would-revoke-sessions" if run.dry_run else "sessions-revoked"
    run.changes.append(
        Change(f"user/{user}", change, f"the tamperer's sessions issued before {issued_before}")
    )


def _finish(
    run: Run, action: EnforcementAction, reason: str, user: str, sent: Iterable[Alert] = ()
) -> Outcome:
    """Prepend the guardrail alert when anything of ours had to be restored."""
    restored = run.changes if action == "healed" else [c for c in run.changes if not _is_user_change(c)]
    guardrail_alerts = (
        [alerts.guardrail_restored(run.meta, run.settings, restored, tamper=run.tamper)] if restored else []
    )
    return Outcome(action, reason, user, tuple(run.changes), (*guardrail_alerts, *sent))


def _is_user_change(change: Change) -> bool:
    return change.resource.startswith("user/")


def _user_gone(run: Run, user: str) -> Outcome:
    return _finish(run, "user-not-found", f"{user} does not exist (any more): nothing to do", user)


def restore_group(command: RestoreRenamedGroup, run: Run) -> Outcome:
    run.tamper = True
    run.cache.invalidate()
    settings = run.settings
    new_path = command.new_path or run.iam.get_group_path(command.new_name)
    changes = restore_renamed_group(
        run.iam, settings, run.meta.account_id, command.new_name, new_path, dry_run=run.dry_run
    )
    run.changes.extend(changes)
    run.guardrail = "verified"
    moved = [c for c in changes if c.change == "member-moved"]
    renamed = f"{new_path}{command.new_name}"
    if any(c.change == "group-renamed-back" for c in changes):
        return _finish(run, "healed", f"{settings.group_name} was renamed to {renamed}; renamed back", "")
    alert = alerts.group_renamed(run.meta, settings, renamed, len(moved))
    reason = (
        f"{settings.group_name} renamed to {renamed} (out of reach): made again, {len(moved)} member(s) added"
    )
    return Outcome("healed", reason, "", tuple(run.changes), (alert,))


def review_mfa_registration(command: MfaDeviceEnabled, run: Run) -> Outcome:
    """A device registered from a console session, with MFA, by the user themselves is the normal path.

    A suspicious one is alerted; it is deactivated only when IAM itself confirms what the event claims
    (``mfa_device_to_deactivate``): an event can be handed to the enforcer by anyone allowed to invoke it.
    """
    user = command.user_name
    if not command.suspicious:
        return Outcome(
            "mfa-registered", f"{user} registered an MFA device from a console or MFA session", user
        )
    serial, kept_because = "", "the request carried MFA"
    if not command.with_mfa:
        tags = _current_tags(run, user)
        exemption = exemption_for(user, tags, run.settings, run.now.date()) if tags is not None else None
        if tags is None:
            kept_because = f"{user} does not exist (any more)"
        elif exemption is not None:
            kept_because = f"{user} is exempt ({_describe(exemption)}); events never deactivate their devices"
        else:
            devices = run.iam.list_mfa_devices(user)
            serial, kept_because = mfa_device_to_deactivate(devices, command, run.now)
    deactivate = bool(serial)
    if deactivate and not run.dry_run:
        run.iam.deactivate_mfa_device(user, serial)
    changes = (Change(f"user/{user}", "mfa-device-deactivated", serial),) if deactivate else ()
    alert = alerts.mfa_registration(
        run.meta, run.settings, command, deactivated=deactivate, kept_because=kept_because
    )
    action: EnforcementAction = "mfa-device-deactivated" if deactivate else "mfa-registration-alerted"
    return Outcome(action, alert.summary.split(". ")[0], user, changes, (alert,))


# How far IAM's EnableDate of the device may be from the event's time, and how old it may be now, for an
# EnableMFADevice event to be acted on (CloudTrail delivers management events within minutes; an event
# older than this is only alerted).
MFA_EVENT_TIME_TOLERANCE = timedelta(minutes=5)
MFA_EVENT_MAX_AGE = timedelta(hours=1)


def mfa_device_to_deactivate(
    devices: Iterable[Mapping[str, Any]], command: MfaDeviceEnabled, now: datetime
) -> tuple[str, str]:
    """(IAM's serial of the device to deactivate, "") or ("", why it is kept). Pure.

    Only what IAM says counts: the device named by the event must be one IAM lists for the user, enabled
    (IAM's ``EnableDate``) at the event's time and recently, next to a device IAM lists as enabled
    earlier. A first device is never deactivated: that is how a user without MFA sets one up.
    """
    listed = [(str(d.get("SerialNumber", "")), _timestamp(d.get("EnableDate"))) for d in devices]
    named = [(s, at) for s, at in listed if s and s == command.serial_number]
    if not command.serial_number or not named:
        return "", "IAM lists no such device for the user"
    serial, enabled = named[0]
    occurred = command.meta.occurred_at
    if enabled is None or occurred is None:
        return "", "IAM or the event gives no time to compare"
    if abs(enabled - occurred) > MFA_EVENT_TIME_TOLERANCE:
        return "", f"IAM says the device was enabled at {enabled:%Y-%m-%d %H:%M} UTC, not at the event's time"
    if now - enabled > MFA_EVENT_MAX_AGE:
        return "", f"the device was enabled more than {_hours(MFA_EVENT_MAX_AGE)} ago"
    if not any(s != serial and at is not None and at < enabled for s, at in listed):
        return "", "it is the user's first device"
    return serial, ""


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:g} hour" + ("" if hours == 1 else "s")


def review_infrastructure_change(command: InfrastructureChanged, run: Run) -> Outcome:
    own_update = command.by_cloudformation and _own_stack_updating(run)
    alert = alerts.infrastructure(run.meta, run.settings, command, own_update=own_update)
    action: EnforcementAction = "infrastructure-changed" if own_update else "infrastructure-tampered"
    return Outcome(action, alert.title, "", alerts=(alert,))


def _own_stack_updating(run: Run) -> bool:
    """Is IAM Guard's own stack running an operation now? (Another stack's changes also come from
    CloudFormation; only this stack's own update is reported as a change rather than tampering.)"""
    stack = run.settings.stack_name
    if run.cloudformation is None or stack is None:
        return False
    try:
        return run.cloudformation.stack(stack).in_progress
    except NotFoundError:
        return False


# --- IAM reads and writes around the decision ---------------------------------------------------------


def _current_tags(run: Run, user: str, *, waits: tuple[float, ...] = ()) -> dict[str, str] | None:
    """The user's tags now, or None when the user does not exist (deleted since the event).

    ``waits``: look again after each wait before believing NoSuchEntity (IAM's eventual consistency).
    """
    for wait in (*waits, None):
        try:
            return tags_to_dict(run.iam.get_user(user)["Tags"])
        except NotFoundError:
            if wait is None:
                return None
            run.sleep(wait)
    return None  # pragma: no cover - the loop returns


def _is_member(run: Run, user: str) -> bool:
    return any(same_iam_name(g, run.settings.group_name) for g in run.iam.list_groups_for_user(user))


def _add_to_group(run: Run, user: str, tags: Mapping[str, str] | None = None) -> None:
    if not run.dry_run:
        run.iam.add_user_to_group(run.settings.group_name, user)  # idempotent
    run.changes.append(Change(f"user/{user}", "added-to-group", run.settings.group_name))
    _keep_enrolled_tag(run, user, tags or {}, member=True)


def _keep_enrolled_tag(run: Run, user: str, tags: Mapping[str, str], *, member: bool) -> None:
    """With ``tag_enrolled`` (member accounts): members carry ``iam-guard:enrolled=true``, others do not
    (the IAMGuardDenyUnenrolled SCP reads it). One TagUser / UntagUser, only when the tag is wrong."""
    if not run.settings.tag_enrolled:
        return
    value = next((v for k, v in tags.items() if k.casefold() == ENROLLED_TAG_KEY), None)
    if member and value != ENROLLED_TAG_VALUE:
        if not run.dry_run:
            run.iam.tag_user(user, {ENROLLED_TAG_KEY: ENROLLED_TAG_VALUE})
        run.changes.append(Change(f"user/{user}", "tagged", f"{ENROLLED_TAG_KEY}={ENROLLED_TAG_VALUE}"))
    elif not member and value is not None:
        if not run.dry_run:
            run.iam.untag_user(user, [ENROLLED_TAG_KEY])
        run.changes.append(Change(f"user/{user}", "untagged", ENROLLED_TAG_KEY))


# --- the pure decision --------------------------------------------------------------------------------


class UserDecision(NamedTuple):
    """What to do with a user: enrol them, leave them exempt, or nothing (already a member)."""

    action: Literal["enrol", "exempt", "member"]
    exemption: Exemption | None = None


def decide_user(
    user: str, tags: Mapping[str, str], settings: Settings, today: date, *, is_member: bool
) -> UserDecision:
    """Exempt users are never enrolled; everybody else ends up in the group. Never removes anyone."""
    exemption = exemption_for(user, tags, settings, today)
    if exemption is not None:
        return UserDecision("exempt", exemption)
    return UserDecision("member" if is_member else "enrol")


# --- failure ------------------------------------------------------------------------------------------


def _enrol_reason(command: EnrolUser) -> str:
    who = _short(command.meta.actor)
    if command.is_new_user:
        return f"{who} created user {command.user_name}"
    return f"{who} ran {command.meta.event_name} for {command.user_name}, who was outside the group"


_describe = alerts.describe_exemption
_short = alerts.short_actor
