"""The leaked-credential responder: a leaked access key made useless, AWS's quarantine kept.

Order, for each access key a ``LeakedKeyReported`` names (nothing in the event is trusted):

1. whose key: ``sts:GetAccessKeyInfo`` (its account: another account's key is one alert, nothing done),
   then ``GetAccessKeyLastUsed`` (its user: a deleted key is one alert) and ``ListAccessKeys`` (the key
   is that user's, and its status);
2. corroborated: AWS's ``AWSCompromisedKeyQuarantine*`` policy is on the user (AWS attaches it when it
   finds a key in public), else Health's own API returns the event with the key among its entities
   (``health:DescribeEventDetails``, ``DescribeAffectedEntities``: Business support and up); for a
   GuardDuty finding, ``guardduty:GetFindings`` in its region returns it with the same key; or a person
   decided (``iam-guard respond --apply``). Otherwise nothing changes and a critical
   ``leaked-key-unverified`` alert gives the manual command. A session key (``ASIA``) in a corroborated
   GuardDuty finding: the user GuardDuty names has its sessions revoked, nothing is deactivated;
3. ``LeakedKeyAction=deactivate`` (default): ``UpdateAccessKey`` to Inactive (never deleted: evidence),
   whatever the user's exemption; then the user's sessions issued before now are denied (inline policy
   ``iam-guard-revoke-sessions``), the key is listed in the user's ``iam-guard:exposed-keys`` tag, and a
   user outside the secured group who is not exempt is enrolled. ``LeakedKeyAction=alert``: alert only;
4. one critical ``leaked-key-response`` alert: the user, the key, what was done, what a person must do.

Idempotent: a key already Inactive is reported "already inactive", and nothing else is written.
``keep_quarantine`` re-attaches AWS's quarantine policy when it is detached while an exposed key still
exists on the user.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from core.aws.sts import KeyOwnerGateway
from core.enforce import key_summary, leak_alerts
from core.enforce.actions import (
    EnforcementAction,
    Outcome,
    Run,
    _add_to_group,
    _is_member,
    decide_user,
)
from core.enforce.commands import LeakedKeyReported, QuarantineDetached
from core.enforce.guardduty import corroborates, finding_user
from core.enforce.key_summary import KeySummary
from core.enforce.risk import (
    EXPOSED_KEYS_TAG,
    REVOKE_SESSIONS_POLICY,
    exposed_keys_in,
    is_access_key_id,
    is_quarantine_policy,
    revoke_sessions_policy,
    with_exposed_key,
)
from core.guardrail.state import Change
from core.model.alerts import Alert
from core.model.errors import AwsError, NotFoundError, SubscriptionRequiredError
from core.model.exemptions import tags_to_dict

Verdict = Literal[
    "deactivated",  # made Inactive now
    "would-deactivate",  # DryRun=true: still Active
    "already-inactive",
    "alerted",  # LeakedKeyAction=alert: still Active
    "unverified",  # AWS does not corroborate the report: nothing done
    "other-account",
    "not-found",  # no such key in this account (deleted, or never existed)
    "root",  # the root user's key: no role can change it
    "session",  # an ASIA session key: no user to read from IAM
    "sessions-revoked",  # an ASIA key GuardDuty corroborates: its user's older sessions denied
    "would-revoke-sessions",  # DryRun=true
    "malformed",  # not an access key ID
]
ROOT_NAMES = frozenset({"root", "<root_account>"})


@dataclass(frozen=True)
class KeyResponse:
    """What was found and done about one key (the CLI prints it; the alert tells it)."""

    access_key_id: str
    account_id: str  # the key's account per STS ('' when not asked)
    user: str
    verdict: Verdict
    changes: tuple[Change, ...] = ()
    quarantine: tuple[str, ...] = ()  # AWS's quarantine policies on the user
    last_used_region: str = ""
    summary: KeySummary | None = None  # what the key did (CloudTrail), when it was read
    evidence: str = ""  # what corroborated the report, or why nothing did

    def to_dict(self) -> dict[str, Any]:
        return {
            "access_key_id": self.access_key_id,
            "account_id": self.account_id or None,
            "user": self.user or None,
            "verdict": self.verdict,
            "actions": [{"change": c.change, "status": _status(c), "detail": c.detail} for c in self.changes],
            "quarantine": list(self.quarantine),
            "summary": self.summary.text() if self.summary else None,
            "evidence": self.evidence or None,
        }


def _status(change: Change) -> str:
    return "planned" if change.change.startswith("would-") else "done"


def respond_to_leak(command: LeakedKeyReported, run: Run) -> Outcome:
    """The Health event's (or the person's) keys, each verified against IAM before anything is done."""
    if not command.access_key_ids:
        alert = leak_alerts.key_not_named(run.meta, run.settings, command)
        return Outcome("leaked-key-alerted", alert.summary, alerts=(alert,))
    responses = [
        respond_to_key(key, run, confirmed=command.confirmed, report=command)
        for key in command.access_key_ids
    ]
    alerts = [leak_alerts.for_key(run.meta, run.settings, command, r) for r in responses]
    changes = tuple(c for r in responses for c in r.changes)
    users = sorted({r.user for r in responses if r.user})
    return Outcome(_action(responses), _reason(responses), ", ".join(users), changes, tuple(alerts))


def respond_to_key(
    key: str, run: Run, *, confirmed: bool, report: LeakedKeyReported | None = None
) -> KeyResponse:
    """One key: whose (STS, then IAM), corroborated, then ``LeakedKeyAction``. Reads before any write.

    ``report``: the event that named the key (its origin decides which of AWS's answers corroborate it).
    """
    if not is_access_key_id(key):
        return KeyResponse(key, "", "", "malformed")
    sts = run.sts or KeyOwnerGateway()
    account = sts.access_key_account(key)
    if account != run.meta.account_id:
        return KeyResponse(key, account, "", "other-account")
    by_guardduty = report is not None and report.origin == "guardduty"
    if key.startswith("ASIA"):
        if by_guardduty and report is not None:
            return _session_key(key, account, run, report)
        return KeyResponse(key, account, "", "session")
    try:
        user, region = run.iam.access_key_user(key)
    except NotFoundError:
        return KeyResponse(key, account, "", "not-found")
    if not user or user in ROOT_NAMES:
        return KeyResponse(key, account, "<root_account>", "root", last_used_region=region)
    status = next(
        (k.get("Status", "") for k in run.iam.list_access_keys(user) if k.get("AccessKeyId") == key), None
    )
    if status is None:  # GetAccessKeyLastUsed named a user who does not hold the key: trust neither
        return KeyResponse(key, account, user, "not-found")
    quarantine = tuple(a for a in run.iam.list_attached_user_policies(user) if is_quarantine_policy(a))
    corroborated, evidence = True, "a person's decision (iam-guard respond --apply)"
    if not confirmed:
        corroborated, evidence = _corroboration(key, run, report, quarantine)
    found = KeyResponse(
        key, account, user, "unverified", quarantine=quarantine, last_used_region=region, evidence=evidence
    )
    if not corroborated:
        return found
    if run.settings.leaked_key_action == "alert":
        return _summarized(_replace(found, "alerted"), run)
    if status != "Active":
        return _summarized(_replace(found, "already-inactive"), run)
    return _summarized(_contain(found, run), run)


def _corroboration(
    key: str, run: Run, report: LeakedKeyReported | None, quarantine: tuple[str, ...]
) -> tuple[bool, str]:
    """Does AWS itself back the report? (yes or no, and what says so or why not). Never the event's word."""
    if report is not None and report.origin == "guardduty":
        ok, why, _user = _guardduty_says(key, run, report)
        return ok, why
    if quarantine:
        return True, "AWS's quarantine policy is on the user"
    if report is not None and report.origin == "health" and report.reference:
        return _health_says(key, run, report.reference)
    return False, "AWS's quarantine policy is not on the user"


def _guardduty_says(key: str, run: Run, report: LeakedKeyReported) -> tuple[bool, str, str]:
    """``guardduty:GetFindings`` in the finding's region: the same finding, account and key (and the user
    GuardDuty names). Any failure to ask is "not corroborated", never an action."""
    claim = report.finding
    if claim is None or run.findings is None or not (claim.detector_id and claim.finding_id and claim.region):
        return False, "GuardDuty could not be asked about the finding", ""
    try:
        finding = run.findings(claim.region).finding(claim.detector_id, claim.finding_id)
    except AwsError as exc:
        return False, f"GuardDuty did not confirm the finding ({exc.code})", ""
    expected = claim._replace(access_key_id=key, account_id=run.meta.account_id)
    why_not = corroborates(finding, expected, run.settings.guardduty_min_severity)
    if why_not:
        return False, f"GuardDuty's own finding does not match ({why_not})", ""
    assert finding is not None
    return True, f"GuardDuty finding {claim.finding_id} in {claim.region}", finding_user(finding)


def _health_says(key: str, run: Run, event_arn: str) -> tuple[bool, str]:
    """The Health API (Business support and up): the event exists and names the key among its entities.
    ``SubscriptionRequiredException`` is the expected answer on other plans: not retried, not corroborated."""
    if run.health is None:
        return False, "AWS's quarantine policy is not on the user"
    try:
        event = run.health.event(event_arn)
        if event is None:
            return False, "AWS Health does not know the event"
        if event.get("service") != "RISK":
            return False, "AWS Health's event is not a RISK event"
        if key not in run.health.entity_values(event_arn):
            return False, "AWS Health's event does not name the key"
    except SubscriptionRequiredError:
        return False, "no quarantine policy, and the Health API needs a Business support plan"
    except AwsError as exc:
        return False, f"no quarantine policy, and the Health API could not be read ({exc.code})"
    return True, f"AWS Health's API returns event {event_arn} naming the key"


def _session_key(key: str, account: str, run: Run, report: LeakedKeyReported) -> KeyResponse:
    """A session key (``ASIA``) GuardDuty saw used by someone else: revoke the user's older sessions.
    Nothing is deactivated (a session key cannot be; its long-term key is not named)."""
    ok, evidence, user = _guardduty_says(key, run, report)
    if not ok or not user:
        claimed = report.finding.user_name if report.finding else ""
        return KeyResponse(
            key, account, claimed, "unverified", evidence=evidence or "GuardDuty names no user"
        )
    try:
        run.iam.get_user(user)
    except NotFoundError:
        return KeyResponse(key, account, user, "not-found", evidence=evidence)
    found = KeyResponse(key, account, user, "unverified", evidence=evidence)
    if run.settings.leaked_key_action == "alert":
        return _replace(found, "alerted")
    dry = run.dry_run
    issued_before = run.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not dry:
        run.iam.put_user_policy(user, REVOKE_SESSIONS_POLICY, revoke_sessions_policy(issued_before))
    change = Change(f"user/{user}", _would("sessions-revoked", dry), f"issued before {issued_before}")
    return _replace(found, "would-revoke-sessions" if dry else "sessions-revoked", (change,))


def _summarized(response: KeyResponse, run: Run) -> KeyResponse:
    """After the writes (the key first: seconds matter), what the key did, when CloudTrail is at hand."""
    if run.trail is None:
        return response
    configured = run.settings.leaked_key_summary_regions
    regions = key_summary.summary_regions(response.last_used_region, configured)
    summary = key_summary.read(response.access_key_id, regions, run.trail, run.settings.allowed_cidrs)
    return dataclasses.replace(response, summary=summary)


def _contain(found: KeyResponse, run: Run) -> KeyResponse:
    """Deactivate, revoke the older sessions, tag, enrol: in that order (the key first, it is the leak)."""
    key, user, dry = found.access_key_id, found.user, run.dry_run
    resource = f"user/{user}"
    changes: list[Change] = []
    if not dry:
        run.iam.deactivate_access_key(user, key)
    changes.append(Change(resource, "would-deactivate" if dry else "access-key-deactivated", key))
    issued_before = run.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    if not dry:
        run.iam.put_user_policy(user, REVOKE_SESSIONS_POLICY, revoke_sessions_policy(issued_before))
    changes.append(Change(resource, _would("sessions-revoked", dry), f"issued before {issued_before}"))
    tags = tags_to_dict(run.iam.get_user(user)["Tags"])
    listed = tags.get(EXPOSED_KEYS_TAG, "")
    if key not in exposed_keys_in(listed):
        if not dry:
            run.iam.tag_user(user, {EXPOSED_KEYS_TAG: with_exposed_key(listed, key)})
        changes.append(Change(resource, _would("tagged-exposed-key", dry), EXPOSED_KEYS_TAG))
    decision = decide_user(user, tags, run.settings, run.now.date(), is_member=_is_member(run, user))
    if decision.action == "enrol":
        try:
            _add_to_group(run, user)  # honours the dry run; records its own change on run.changes
        except NotFoundError:  # no secured group (yet): the key is contained; the sweep enrols later
            changes.append(Change(resource, "not-enrolled", f"{run.settings.group_name} does not exist"))
        else:
            changes.append(Change(resource, _would("added-to-group", dry), run.settings.group_name))
    return _replace(found, "would-deactivate" if dry else "deactivated", tuple(changes))


def _would(change: str, dry: bool) -> str:
    return f"would-{change}" if dry else change


def _replace(found: KeyResponse, verdict: Verdict, changes: tuple[Change, ...] = ()) -> KeyResponse:
    return dataclasses.replace(found, verdict=verdict, changes=changes, summary=None)


_ACTION_OF: dict[Verdict, EnforcementAction] = {
    "deactivated": "leaked-key-deactivated",
    "would-deactivate": "leaked-key-deactivated",
    "already-inactive": "leaked-key-already-inactive",
    "unverified": "leaked-key-unverified",
    "sessions-revoked": "leaked-key-sessions-revoked",
    "would-revoke-sessions": "leaked-key-sessions-revoked",
}


def _action(responses: Iterable[KeyResponse]) -> EnforcementAction:
    """The most consequential verdict of the event's keys names the action."""
    verdicts = [r.verdict for r in responses]
    for verdict in (
        "deactivated",
        "would-deactivate",
        "sessions-revoked",
        "would-revoke-sessions",
        "unverified",
        "already-inactive",
    ):
        if verdict in verdicts:
            return _ACTION_OF[verdict]  # type: ignore[index]
    return "leaked-key-alerted"


def _reason(responses: Iterable[KeyResponse]) -> str:
    return "; ".join(f"{r.access_key_id}: {leak_alerts.VERDICT_TEXT[r.verdict]}" for r in responses)


def keep_quarantine(command: QuarantineDetached, run: Run) -> Outcome:
    """AWS's quarantine detached: tampering while an exposed key exists on the user (re-attached), else
    the intended end once every exposed key is deleted (an info alert)."""
    user = command.user_name
    try:
        tags = tags_to_dict(run.iam.get_user(user)["Tags"])
    except NotFoundError:
        return Outcome("user-not-found", f"{user} does not exist (any more): nothing to do", user)
    held = {k.get("AccessKeyId", "") for k in run.iam.list_access_keys(user)}
    exposed = tuple(k for k in exposed_keys_in(tags.get(EXPOSED_KEYS_TAG, "")) if k in held)
    alert: Alert
    if not exposed:
        alert = leak_alerts.quarantine_detached(run.meta, run.settings, command, restored=False, exposed=())
        return Outcome("quarantine-detached", alert.title, user, alerts=(alert,))
    if not run.dry_run:
        run.iam.attach_user_policy(user, command.policy_arn)
    change = Change(f"user/{user}", _would("quarantine-reattached", run.dry_run), command.policy_arn)
    alert = leak_alerts.quarantine_detached(run.meta, run.settings, command, restored=True, exposed=exposed)
    return Outcome("quarantine-restored", alert.title, user, (change,), (alert,))
