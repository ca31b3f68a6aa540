"""The leaked-credential responder's alerts (``core.enforce.leak``): what was done, what a person must do.

Pure. Never includes a secret: an access key ID is an identifier, the secret is never known to us.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.enforce.alerts import _alert, short_actor
from core.enforce.commands import EventMeta, LeakedKeyReported, QuarantineDetached
from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.settings import Settings

if TYPE_CHECKING:
    from core.enforce.leak import KeyResponse

VERDICT_TEXT: dict[str, str] = {
    "deactivated": "made Inactive",
    "would-deactivate": "would be made Inactive (dry run): the key is still active",
    "already-inactive": "already inactive",
    "alerted": "left Active (LeakedKeyAction=alert)",
    "unverified": "not corroborated by AWS: nothing changed",
    "other-account": "belongs to another account: nothing done",
    "not-found": "no such key in this account (deleted?): nothing done",
    "root": "a root user key: no role can change it",
    "session": "a session key (ASIA): no user to read from IAM",
    "sessions-revoked": "a session key (ASIA): the user's sessions issued before now revoked",
    "would-revoke-sessions": "a session key (ASIA): the user's sessions would be revoked (dry run)",
    "malformed": "not an access key ID: nothing done",
}


def respond_command(key: str) -> str:
    return f"iam-guard respond --access-key-id {key} --apply"


def for_key(meta: EventMeta, settings: Settings, command: LeakedKeyReported, response: KeyResponse) -> Alert:
    if response.verdict == "unverified":
        return unverified(meta, settings, command, response)
    key, user, verdict = response.access_key_id, response.user, response.verdict
    what = VERDICT_TEXT[verdict]
    source = _source(command)
    still_to_do = _to_do(response)
    summary = f"{source} reported access key {key}" + (f" of {user}" if user else "") + f": {what}."
    if verdict == "other-account":
        account = response.account_id
        summary = f"{source} reported access key {key}, owned by account {account}: nothing done here."
    if response.changes:
        summary += " Done: " + ", ".join(c.change for c in response.changes) + "."
    if response.summary is not None:
        summary += " What the key did: " + response.summary.text()
    summary += " " + still_to_do
    severity = Severity.CRITICAL
    return _alert(
        meta,
        settings,
        AlertKind.LEAKED_KEY_RESPONSE,
        severity,
        f"Leaked access key {key}: {what}",
        summary,
        items=(
            AlertItem(
                user or key,
                "access-key-exposed",
                severity,
                verdict,
                action=still_to_do,
            ),
        ),
        details=_details(command, response),
    )


def unverified(
    meta: EventMeta, settings: Settings, command: LeakedKeyReported, response: KeyResponse
) -> Alert:
    key, user = response.access_key_id, response.user
    return _alert(
        meta,
        settings,
        AlertKind.LEAKED_KEY_UNVERIFIED,
        Severity.CRITICAL,
        f"Leak report for {key} not corroborated: nothing changed",
        f"{_source(command)} reported access key {key} of {user or '?'} as leaked, but AWS does not "
        f"corroborate it ({response.evidence or 'AWSCompromisedKeyQuarantine policy not on the user'}), "
        "so the report may be forged and nothing was changed. The key is still Active. If it did leak, "
        f"run: {respond_command(key)}",
        items=(
            AlertItem(
                user, "access-key-exposed", Severity.CRITICAL, "unverified", action=respond_command(key)
            ),
        ),
        details=_details(command, response),
    )


def key_not_named(meta: EventMeta, settings: Settings, command: LeakedKeyReported) -> Alert:
    others = f" (entities: {', '.join(command.not_keys)})" if command.not_keys else ""
    return _alert(
        meta,
        settings,
        AlertKind.LEAKED_KEY_RESPONSE,
        Severity.CRITICAL,
        f"Leaked credential reported, key not named; check the {_console(command)}",
        f"{_source(command)} ({command.event_type}) names no access key ID{others}: key not named; check the "
        f"{_console(command)}, then run iam-guard respond --access-key-id KEY --apply for the key it shows.",
        details=(("event_type", command.event_type), ("event_arn", command.reference)),
    )


def quarantine_detached(
    meta: EventMeta,
    settings: Settings,
    command: QuarantineDetached,
    *,
    restored: bool,
    exposed: tuple[str, ...],
) -> Alert:
    who, user = short_actor(meta.actor), command.user_name
    if restored:
        again = "would be re-attached (dry run)" if settings.dry_run else "re-attached"
        return _alert(
            meta,
            settings,
            AlertKind.QUARANTINE_DETACHED,
            Severity.CRITICAL,
            f"AWS's quarantine policy detached from {user} by {who}: {again}",
            f"{who} detached {command.policy_arn} from {user} while exposed key(s) {' '.join(exposed)} still "
            f"exist on the user; the policy was {again}. Delete the exposed keys first: then the quarantine "
            "may be removed.",
            items=(
                AlertItem(
                    user, "quarantine-detached", Severity.CRITICAL, "done", action="delete the exposed keys"
                ),
            ),
        )
    return _alert(
        meta,
        settings,
        AlertKind.QUARANTINE_DETACHED,
        Severity.INFO,
        f"AWS's quarantine policy detached from {user}",
        f"{who} detached {command.policy_arn} from {user}; no exposed key remains on the user, so this is "
        "the intended end of the quarantine.",
    )


def _source(command: LeakedKeyReported) -> str:
    sources = {"health": "AWS Health", "guardduty": "A GuardDuty finding"}
    return sources.get(command.origin, "A person (iam-guard respond)")


def _console(command: LeakedKeyReported) -> str:
    return "GuardDuty console" if command.origin == "guardduty" else "Health dashboard"


def _to_do(response: KeyResponse) -> str:
    key = response.access_key_id
    if response.verdict in ("deactivated", "already-inactive"):
        return (
            "Still to do: rotate the key wherever it was used (a new key, then delete this one once nothing "
            "needs it), check the key's recent calls in CloudTrail for writes, and answer AWS's support case."
        )
    if response.verdict == "root":
        return (
            "Sign in as the root user, delete the root access key (Security credentials), check CloudTrail "
            "for its calls, and make sure the root user has MFA."
        )
    if response.verdict in ("would-deactivate", "alerted"):
        return f"The key is still active: deactivate it now ({respond_command(key)})."
    if response.verdict == "other-account":
        return f"Tell the owner of account {response.account_id}."
    if response.verdict in ("sessions-revoked", "would-revoke-sessions"):
        return (
            f"Find the long-term key {response.user} made the session with (GetSessionToken in CloudTrail) "
            f"and deactivate it ({respond_command('AKIA...')}); check the session's calls for writes."
        )
    return "Check the Health dashboard for the key."


def _details(command: LeakedKeyReported, response: KeyResponse) -> tuple[tuple[str, str], ...]:
    details = [
        ("access_key_id", response.access_key_id),
        ("user", response.user),
        ("event_type", command.event_type),
        ("finding_id" if command.origin == "guardduty" else "event_arn", command.reference),
        ("finding_region", command.finding.region if command.finding else ""),
        ("quarantine", " ".join(response.quarantine)),
        ("last_used_region", response.last_used_region),
        ("evidence", response.evidence),
    ]
    return tuple((k, v) for k, v in details if v)
