"""The enforcer's core: event -> command -> (verify the guardrail) -> decide -> apply -> alerts.

One entry point, ``enforce``, shared by the Lambda handler and ``iam-guard enforce``. Deciding what to do
about a user is pure (``decide_user``); the IAM reads and writes around it are few and named, so the
call budget holds: steady-state CreateUser = GetUser + AddUserToGroup, plus the 3 reads of
``ensure_guardrail`` when the ``GuardrailCache`` has no fresh verification.

Never weakens on its own: a user is never removed from the group, whatever the tags say.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from core.alerts import Alert, AlertItem, AlertKind, AlertSink, Severity
from core.errors import DeliveryError, IamGuardError, NotFoundError
from core.events import (
    TAMPER_COMMANDS,
    Command,
    EnrolUser,
    EventMeta,
    ExemptionChanged,
    HealGuardrail,
    IamApiCallEvent,
    Ignore,
    RestoreMembership,
    RootAccessKeyCreated,
    classify,
)
from core.exemptions import Exemption, exemption_for, tags_to_dict
from core.guardrail import ENSURE_PERMISSIONS, Change, ensure_guardrail
from core.iam import IamGateway, permissions_of
from core.settings import Settings

DEFAULT_CACHE_TTL = timedelta(minutes=5)
# IAM is eventually consistent: a user named in a fresh CreateUser event may not be readable yet. Before
# concluding "deleted meanwhile" (and leaving the user to the next sweep), look again after these waits.
NEW_USER_VISIBILITY_WAITS: tuple[float, ...] = (1.0, 2.0, 4.0)

# Exactly the gateway methods the enforcer (and ensure_guardrail under it) can call.
REQUIRED_PERMISSIONS: frozenset[str] = ENSURE_PERMISSIONS | permissions_of(
    IamGateway.get_user,
    IamGateway.list_groups_for_user,
    IamGateway.add_user_to_group,
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


@dataclass(frozen=True)
class EnforcementResult:
    """What the enforcer did for one event, or why it did nothing (printed by the CLI, logged by Lambda)."""

    meta: EventMeta
    action: str  # enrolled, already-enrolled, exempt, exempt-still-enrolled, user-not-found,
    #              healed, intact, root-key-alerted, ignored
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
    action: str
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
    tamper: bool = False
    guardrail: str = "not-checked"
    changes: list[Change] = field(default_factory=list)

    @property
    def dry_run(self) -> bool:
        return self.settings.dry_run


def enforce(
    event: IamApiCallEvent,
    *,
    settings: Settings,
    iam: IamGateway,
    sink: AlertSink,
    cache: GuardrailCache,
    now: Callable[[], datetime] = utc_now,
    ignore_arns: frozenset[str] = frozenset(),
    sleep: Callable[[float], None] = time.sleep,
) -> EnforcementResult:
    """Handle one event. Expected failures send an ENFORCEMENT_FAILED alert, then propagate."""
    command = classify(event, settings, ignore_arns)
    run = _Run(settings, iam, cache, now(), command.meta, sleep)
    try:
        outcome = _act(command, run)
    except IamGuardError as exc:
        _deliver([failure_alert(command, exc, settings)], sink)
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
    """Worth a Lambda retry: what the error class declares ``retry_in_lambda`` (core.errors): throttling,
    races and network failures that outlived our own backoff, unclassified AWS errors. Missing
    permissions, bad settings and bad events fail the same way every time."""
    return exc.retry_in_lambda


# --- per command ------------------------------------------------------------------------------------


def _act(command: Command, run: _Run) -> Outcome:
    if isinstance(command, Ignore):
        return Outcome("ignored", command.reason)
    if isinstance(command, RootAccessKeyCreated):
        return Outcome(
            "root-key-alerted",
            "the root user created an access key",
            "<root_account>",
            alerts=(root_key_alert(command, run.settings),),
        )
    run.tamper = isinstance(command, TAMPER_COMMANDS)
    _verify_guardrail(run)
    if isinstance(command, EnrolUser):
        return _enrol(command, run)
    if isinstance(command, RestoreMembership):
        return _restore_membership(command, run)
    if isinstance(command, ExemptionChanged):
        return _exemption_changed(command, run)
    return _heal(command, run)


def _verify_guardrail(run: _Run) -> None:
    """``ensure_guardrail``, skipped when this container verified it within the TTL (never for tamper)."""
    account, settings = run.meta.account_id, run.settings
    if run.tamper:
        run.cache.invalidate()
    elif run.cache.is_fresh(account, settings, run.now):
        run.guardrail = "cached"
        return
    changes = ensure_guardrail(run.iam, settings, account, dry_run=run.dry_run)
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
    alerts: list[Alert] = []
    if decision.action == "enrol":
        _add_to_group(run, user)
        severity = Severity.LOW if command.is_new_user else Severity.MEDIUM
        alerts.append(enrolled_alert(run, user, severity, because=_enrol_reason(command)))
        action, reason = "enrolled", f"{user} is not exempt; added to {run.settings.group_name}"
    elif decision.action == "exempt":
        if command.is_new_user:
            alerts.append(exempt_created_alert(run, user, decision.exemption))
        action, reason = "exempt", f"{user} is exempt ({_describe(decision.exemption)}); not enrolled"
    else:
        action, reason = "already-enrolled", f"{user} is already in {run.settings.group_name}"
    return _finish(run, action, reason, user, alerts)


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
        alert = enrolled_alert(run, user, Severity.MEDIUM, because=because)
        return _finish(run, "enrolled", f"{user} is no longer exempt; added back", user, [alert])
    if decision.action == "exempt" and member:
        alert = exemption_granted_alert(run, user, tags.get(key, ""))
        reason = f"{user} became exempt but stays in {run.settings.group_name} (never removed automatically)"
        return _finish(run, "exempt-still-enrolled", reason, user, [alert])
    if decision.action == "exempt":
        return _finish(run, "exempt", f"{user} is exempt ({_describe(decision.exemption)})", user)
    return _finish(run, "already-enrolled", f"{user} is not exempt and already enrolled", user)


def _heal(command: HealGuardrail, run: _Run) -> Outcome:
    if not run.changes:
        return Outcome("intact", f"{command.meta.event_name} left the guardrail as intended; nothing to heal")
    return _finish(run, "healed", f"{command.meta.event_name} on {command.resource}: restored", "")


def _finish(run: _Run, action: str, reason: str, user: str, alerts: Iterable[Alert] = ()) -> Outcome:
    """Prepend the guardrail alert when anything of ours had to be restored."""
    restored = run.changes if action == "healed" else [c for c in run.changes if not _is_user_change(c)]
    guardrail_alerts = [guardrail_alert(run, restored)] if restored else []
    return Outcome(action, reason, user, tuple(run.changes), (*guardrail_alerts, *alerts))


def _is_user_change(change: Change) -> bool:
    return change.resource.startswith("user/")


def _user_gone(run: _Run, user: str) -> Outcome:
    return _finish(run, "user-not-found", f"{user} does not exist (any more): nothing to do", user)


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
    return run.settings.group_name in run.iam.list_groups_for_user(user)


def _add_to_group(run: _Run, user: str) -> None:
    if not run.dry_run:
        run.iam.add_user_to_group(run.settings.group_name, user)  # idempotent
    run.changes.append(Change(f"user/{user}", "added-to-group", run.settings.group_name))


# --- the pure decision --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserDecision:
    action: str  # enrol, exempt, member
    exemption: Exemption | None = None


def decide_user(
    user: str, tags: Mapping[str, str], settings: Settings, today: date, *, is_member: bool
) -> UserDecision:
    """Exempt users are never enrolled; everybody else ends up in the group. Never removes anyone."""
    exemption = exemption_for(user, tags, settings, today)
    if exemption is not None:
        return UserDecision("exempt", exemption)
    return UserDecision("member" if is_member else "enrol")


# --- alerts -------------------------------------------------------------------------------------------


def _alert(run: _Run, kind: AlertKind, severity: Severity, title: str, summary: str, **kw: Any) -> Alert:
    meta = run.meta
    return Alert(
        kind=kind,
        severity=severity,
        title=("[dry run] " if run.dry_run else "") + title,
        summary=summary,
        account_id=meta.account_id,
        region=meta.region,
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        event_id=meta.event_id,
        dry_run=run.dry_run,
        **kw,
    )


def enrolled_alert(run: _Run, user: str, severity: Severity, *, because: str) -> Alert:
    group = run.settings.group_name
    verb = "would be added" if run.dry_run else "was added"
    return _alert(
        run,
        AlertKind.USER_ENROLLED,
        severity,
        f"User {user} enrolled in {group}",
        f"{because}; {user} {verb} to {group}, so the guardrail policy applies: until they sign in "
        f"with MFA they can only set up MFA. If {user} must stay outside, tag it "
        f"{run.settings.exempt_tag_key}=true (or YYYY-MM-DD) and remove it from the group.",
        items=(AlertItem(user, "enrolled", severity, _status(run)),),
    )


def exempt_created_alert(run: _Run, user: str, exemption: Exemption | None) -> Alert:
    return _alert(
        run,
        AlertKind.EXEMPT_USER_CREATED,
        Severity.INFO,
        f"Exempt user {user} created (not enrolled)",
        f"{_short(run.meta.actor)} created {user}, which is exempt ({_describe(exemption)}) and was not "
        f"put in {run.settings.group_name}. Check the exemption is intended.",
        items=(AlertItem(user, "exempt", Severity.INFO, "exempt", action="confirm the exemption"),),
    )


def exemption_granted_alert(run: _Run, user: str, value: str) -> Alert:
    group, key = run.settings.group_name, run.settings.exempt_tag_key
    return _alert(
        run,
        AlertKind.EXEMPTION_GRANTED,
        Severity.MEDIUM,
        f"Exemption tag put on enrolled user {user}",
        f"{_short(run.meta.actor)} tagged {user} {key}={value}. IAM Guard never removes users from "
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


def root_key_alert(command: RootAccessKeyCreated, settings: Settings) -> Alert:
    meta = command.meta
    key = command.access_key_id or "(ID not in the event)"
    return Alert(
        kind=AlertKind.ROOT_ACCESS_KEY_CREATED,
        severity=Severity.CRITICAL,
        title="Root user access key created",
        summary=f"The root user created access key {key} from {meta.source_ip or 'an unknown address'}. "
        "No IAM policy can restrict the root user: delete the key unless there is a documented need, "
        "and check who holds the root credentials.",
        account_id=meta.account_id,
        region=meta.region,
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        event_id=meta.event_id,
        dry_run=settings.dry_run,
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


def guardrail_alert(run: _Run, changes: list[Change]) -> Alert:
    """A tamper event healed (high), or drift found while handling another event (medium)."""
    meta = run.meta
    done = "would be restored" if run.dry_run else "restored"
    listed = "; ".join(f"{c.resource}: {c.change}" + (f" ({c.detail})" if c.detail else "") for c in changes)
    if run.tamper:
        severity = Severity.HIGH
        title = f"Guardrail tampering undone after {meta.event_name} by {_short(meta.actor)}"
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
        run,
        AlertKind.TAMPER_HEALED,
        severity,
        title,
        summary,
        items=tuple(AlertItem(c.resource, c.change, severity, _status(run)) for c in changes),
    )


def failure_alert(command: Command, exc: IamGuardError, settings: Settings) -> Alert:
    meta = command.meta
    subject = getattr(command, "user_name", "") or f"event/{meta.event_name}"
    retry = (
        "Lambda retries the event."
        if is_retryable(exc)
        else "Not retried: fix the cause, then run the sweep."
    )
    return Alert(
        kind=AlertKind.ENFORCEMENT_FAILED,
        severity=Severity.HIGH,
        title=f"Enforcement failed for {meta.event_name} ({subject})",
        summary=f"{exc}. {retry}",
        account_id=meta.account_id,
        region=meta.region,
        actor=meta.actor,
        occurred_at=meta.occurred_at,
        event_id=meta.event_id,
        dry_run=settings.dry_run,
        items=(AlertItem(subject, "enforcement-failed", Severity.HIGH, "violation", action=retry),),
    )


def _deliver(alerts: Iterable[Alert], sink: AlertSink) -> list[str]:
    """Send every alert; a delivery failure is reported, never undoes or blocks enforcement."""
    errors: list[str] = []
    for alert in alerts:
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


def _describe(exemption: Exemption | None) -> str:
    if exemption is None:
        return "no exemption"
    return exemption.reason + (f", until {exemption.until.isoformat()}" if exemption.until else "")


def _status(run: _Run) -> str:
    return "dry-run" if run.dry_run else "done"


def _short(arn: str) -> str:
    """``arn:aws:sts::1:assumed-role/Admin/alice`` -> ``assumed-role/Admin/alice``; '' -> 'someone'."""
    return arn.split(":", 5)[-1] if arn else "someone"
