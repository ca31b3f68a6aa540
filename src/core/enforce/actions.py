"""The enforcer's core: event -> command -> (verify the guardrail) -> decide -> apply -> alerts.

One entry point, ``enforce``, shared by the Lambda handler and ``iam-guard enforce``. Deciding what to do
about a user is pure (``decide_user``); the IAM reads and writes around it are few and named, so the
call budget holds: steady-state CreateUser = GetUser + AddUserToGroup, plus the 3 reads of
``ensure_guardrail`` when the ``GuardrailCache`` has no fresh verification.

Never weakens on its own: a user is never removed from the group, whatever the tags say. The only
credential it ever disables is an MFA device registered, without MFA, next to one the user already had
(see ``_mfa_registered``). Alert wording lives in ``core.enforce.alerts``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from core.aws.cloudformation import CloudFormationGateway
from core.aws.iam import IamGateway, permissions_of
from core.enforce import alerts
from core.enforce.events import (
    TAMPER_COMMANDS,
    ApiCallEvent,
    Command,
    EnrolUser,
    EventMeta,
    ExemptionChanged,
    HealGuardrail,
    Ignore,
    InfrastructureChanged,
    MfaDeviceEnabled,
    RestoreMembership,
    RestoreRenamedGroup,
    RootAccessKeyCreated,
    RootPasswordCreated,
    command_for,
)
from core.enforce.watch import Ownership
from core.guardrail.state import ENSURE_PERMISSIONS, Change, ensure_guardrail, restore_renamed_group
from core.model.alerts import Alert, AlertSink, Severity
from core.model.errors import DeliveryError, IamGuardError, NotFoundError
from core.model.exemptions import Exemption, exemption_for, tags_to_dict
from core.model.naming import same_iam_name
from core.model.settings import Settings

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
)


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
    "ignored",
]


@dataclass(frozen=True)
class EnforcementResult:
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


@dataclass(frozen=True)
class Outcome:
    action: EnforcementAction
    reason: str
    user: str = ""
    changes: tuple[Change, ...] = ()
    alerts: tuple[Alert, ...] = ()


@dataclass
class _Run:
    """One event's dependencies, threaded through the steps below."""

    settings: Settings
    iam: IamGateway
    cache: GuardrailCache
    now: datetime
    meta: EventMeta
    sleep: Callable[[float], None]
    cloudformation: CloudFormationGateway | None = None
    tamper: bool = False
    guardrail: str = "not-checked"
    changes: list[Change] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run


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
) -> EnforcementResult:
    """Handle one event. Expected failures send an ENFORCEMENT_FAILED alert, then propagate.

    ``owner`` names IAM Guard's own resources (default: from ``settings.stack_name``); ``cloudformation``
    tells whether a change CloudFormation made comes from this stack's own update (else it is tampering).
    """
    command = command_for(event, settings, ignore_arns, owner)
    run = _Run(settings, iam, cache, now(), command.meta, sleep, cloudformation)
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


# --- per command ------------------------------------------------------------------------------------


def _act(command: Command, run: _Run) -> Outcome:
    if isinstance(command, Ignore):
        return Outcome("ignored", command.reason)
    if isinstance(command, RootAccessKeyCreated):
        alert = alerts.root_access_key(command.meta, run.settings, command.access_key_id)
        return Outcome("root-key-alerted", "the root user created an access key", ROOT, alerts=(alert,))
    if isinstance(command, RootPasswordCreated):
        alert = alerts.root_password(command.meta, run.settings)
        return Outcome(
            "root-password-alerted", "the root user was given a console password", ROOT, alerts=(alert,)
        )
    if isinstance(command, InfrastructureChanged):
        return _infrastructure_changed(command, run)
    if isinstance(command, MfaDeviceEnabled):
        return _mfa_registered(command, run)
    if isinstance(command, RestoreRenamedGroup):
        return _restore_renamed_group(command, run)
    run.tamper = isinstance(command, TAMPER_COMMANDS)
    _verify_guardrail(run)
    if isinstance(command, EnrolUser):
        return _enrol(command, run)
    if isinstance(command, RestoreMembership):
        return _restore_membership(command, run)
    if isinstance(command, ExemptionChanged):
        return _exemption_changed(command, run)
    return _heal(command, run)


ROOT = "<root_account>"


def _verify_guardrail(run: _Run) -> None:
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


def _enrol(command: EnrolUser, run: _Run) -> Outcome:
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
        _add_to_group(run, user)
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
        action, reason = "already-enrolled", f"{user} is already in {run.settings.group_name}"
    return _finish(run, action, reason, user, sent)


def _restore_membership(command: RestoreMembership, run: _Run) -> Outcome:
    user = command.user_name
    tags = _current_tags(run, user)
    if tags is None:
        return _user_gone(run, user)
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=False)
    if decision.action == "exempt":
        # Removing an exempt user is the manual step an EXEMPTION_GRANTED alert asks for.
        return _finish(run, "exempt", f"{user} is exempt ({_describe(decision.exemption)}); left out", user)
    _add_to_group(run, user)
    return _finish(run, "healed", f"{user} was removed from {run.settings.group_name}; added back", user)


def _exemption_changed(command: ExemptionChanged, run: _Run) -> Outcome:
    user, key = command.user_name, run.settings.exempt_tag_key
    tags = _current_tags(run, user)
    if tags is None:
        return _user_gone(run, user)
    member = _is_member(run, user)
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=member)
    if decision.action == "enrol":
        _add_to_group(run, user)
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


def _heal(command: HealGuardrail, run: _Run) -> Outcome:
    if not run.changes:
        return Outcome("intact", f"{command.meta.event_name} left the guardrail as intended; nothing to heal")
    return _finish(run, "healed", f"{command.meta.event_name} on {command.resource}: restored", "")


def _finish(
    run: _Run, action: EnforcementAction, reason: str, user: str, sent: Iterable[Alert] = ()
) -> Outcome:
    """Prepend the guardrail alert when anything of ours had to be restored."""
    restored = run.changes if action == "healed" else [c for c in run.changes if not _is_user_change(c)]
    guardrail_alerts = (
        [alerts.guardrail_restored(run.meta, run.settings, restored, tamper=run.tamper)] if restored else []
    )
    return Outcome(action, reason, user, tuple(run.changes), (*guardrail_alerts, *sent))


def _is_user_change(change: Change) -> bool:
    return change.resource.startswith("user/")


def _user_gone(run: _Run, user: str) -> Outcome:
    return _finish(run, "user-not-found", f"{user} does not exist (any more): nothing to do", user)


def _restore_renamed_group(command: RestoreRenamedGroup, run: _Run) -> Outcome:
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


def _mfa_registered(command: MfaDeviceEnabled, run: _Run) -> Outcome:
    """A device registered from a console session, with MFA, by the user themselves is the normal path."""
    user = command.user_name
    if not command.suspicious:
        return Outcome(
            "mfa-registered", f"{user} registered an MFA device from a console or MFA session", user
        )
    others = [d for d in run.iam.list_mfa_devices(user) if d.get("SerialNumber") != command.serial_number]
    deactivate = bool(others) and not command.with_mfa and bool(command.serial_number)
    if deactivate and not run.dry_run:
        run.iam.deactivate_mfa_device(user, command.serial_number)
    changes = (Change(f"user/{user}", "mfa-device-deactivated", command.serial_number),) if deactivate else ()
    alert = alerts.mfa_registration(run.meta, run.settings, command, deactivated=deactivate)
    action: EnforcementAction = "mfa-device-deactivated" if deactivate else "mfa-registration-alerted"
    return Outcome(action, alert.summary.split(". ")[0], user, changes, (alert,))


def _infrastructure_changed(command: InfrastructureChanged, run: _Run) -> Outcome:
    own_update = command.by_cloudformation and _own_stack_updating(run)
    alert = alerts.infrastructure(run.meta, run.settings, command, own_update=own_update)
    action: EnforcementAction = "infrastructure-changed" if own_update else "infrastructure-tampered"
    return Outcome(action, alert.title, "", alerts=(alert,))


def _own_stack_updating(run: _Run) -> bool:
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


def _current_tags(run: _Run, user: str, *, waits: tuple[float, ...] = ()) -> dict[str, str] | None:
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


def _is_member(run: _Run, user: str) -> bool:
    return any(same_iam_name(g, run.settings.group_name) for g in run.iam.list_groups_for_user(user))


def _add_to_group(run: _Run, user: str) -> None:
    if not run.dry_run:
        run.iam.add_user_to_group(run.settings.group_name, user)  # idempotent
    run.changes.append(Change(f"user/{user}", "added-to-group", run.settings.group_name))


# --- the pure decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserDecision:
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


def _enrol_reason(command: EnrolUser) -> str:
    who = _short(command.meta.actor)
    if command.is_new_user:
        return f"{who} created user {command.user_name}"
    return f"{who} ran {command.meta.event_name} for {command.user_name}, who was outside the group"


_describe = alerts.describe_exemption
_short = alerts.short_actor
