"""Classifying users into findings. Pure.

The credential report and the live details in, one finding per problem out: root, MFA, the secured
group, exemptions, unused and old credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple

from core.model.credential_report import ROOT, AccessKeySlot, CredentialRecord
from core.model.exemptions import exemption_for
from core.model.findings import (
    _ACTION,
    ACCESS_KEY_EXPOSED,
    ACCESS_KEY_OLD,
    ACCESS_KEY_UNUSED,
    ACCESS_KEY_WITHOUT_MFA,
    CLI_USER_WITHOUT_TOTP,
    CONSOLE_UNUSED,
    CONSOLE_WITHOUT_MFA,
    EXEMPT,
    EXEMPTED,
    GRACE,
    NOT_IN_SECURED_GROUP,
    OWNER_INVALID,
    ROOT_ACCESS_KEY,
    ROOT_NO_CREDENTIALS,
    ROOT_VIRTUAL_MFA,
    ROOT_WITHOUT_MFA,
    SEVERITY,
    TWO_ACTIVE_KEYS,
    VIOLATION,
    Credentials,
    Finding,
    FindingKind,
    RootCredentials,
    ServiceCredential,
    Snapshot,
    SshKey,
    Status,
    UserPermissions,
    UserRecord,
    is_totp_serial,
    sort_findings,
)
from core.model.naming import EXPOSED_KEYS_TAG, is_aws_quarantine_policy, same_iam_name
from core.model.owners import resolve_owner
from core.model.settings import Settings
from core.sweep.account_checks import (
    password_policy_findings,
    permission_findings,
    service_credential_findings,
    signing_certificate_findings,
    ssh_key_findings,
)


def credentials_from_report(record: CredentialRecord, virtual_mfa: bool) -> Credentials:
    """A report row, with MFA refreshed: the report's ``mfa_active`` may be hours old.

    ``mfa_active`` is the only place a hardware, FIDO or passkey device shows up account-wide (the
    virtual-MFA listing does not have them), so it counts as much as the fresh listing.
    """
    return Credentials(
        password_enabled=record.password_enabled is True,
        mfa=record.mfa_active or virtual_mfa,
        source="report",
        keys=record.keys,
        password_last_used=record.password_last_used,
        password_last_changed=record.password_last_changed,
        certificates=record.certificates,
    )


def classify(snapshot: Snapshot, settings: Settings, now: datetime) -> list[Finding]:
    """All findings of the account, most severe first."""
    findings = list(root_findings(snapshot.root))
    if snapshot.root_virtual_mfa and not any(f.finding == ROOT_NO_CREDENTIALS for f in findings):
        findings.append(
            _root(
                ROOT_VIRTUAL_MFA,
                VIOLATION,
                "the root user's MFA device is virtual (ListVirtualMFADevices: User.Arn ends in :root); "
                "IAM.6 and CIS 2.6 ask for a hardware device",
            )
        )
    if snapshot.password_policy_read:
        findings.extend(password_policy_findings(snapshot.password_policy))
    by_user: dict[str, list[ServiceCredential]] = {}
    for credential in snapshot.service_credentials or ():
        by_user.setdefault(credential.user, []).append(credential)
    for user in snapshot.users:
        findings.extend(
            user_findings(
                user,
                credentials_of(snapshot, user.name),
                settings,
                now,
                by_user.get(user.name, ()),
                snapshot.permissions.get(user.name),
                snapshot.ssh_keys.get(user.name, ()),
                mfa_serials=totp_evidence(snapshot, user.name),
            )
        )
        findings.extend(owner_findings(user, settings))
    return sort_findings(findings)


def totp_candidates(snapshot: Snapshot, settings: Settings, now: datetime) -> list[str]:
    """The users whose MFA devices must be read to know whether one gives a code (strict mode only).

    Those the credential report shows with MFA and an active access key, that are not exempt, with no
    device in the virtual-MFA listing already read (a virtual device is a TOTP device) and not read live
    already (users missing from the report). Everyone else costs no call.
    """
    if settings.mfa_mode != "strict":
        return []
    names = []
    for user in snapshot.users:
        record = snapshot.records.get(user.name)
        if record is None or not record.mfa_active or user.name in snapshot.virtual_mfa_users:
            continue
        if user.name in snapshot.mfa_devices or not record.active_keys:
            continue
        if exemption_for(user.name, user.tags, settings, now.date()) is None:
            names.append(user.name)
    return names


def totp_evidence(snapshot: Snapshot, user_name: str) -> tuple[str, ...] | None:
    """The serials of a user with no virtual device, when read (None: a virtual device, or not read)."""
    if user_name in snapshot.virtual_mfa_users:
        return None
    if user_name in snapshot.mfa_devices:
        return snapshot.mfa_devices[user_name]
    live = snapshot.live.get(user_name)
    return live.mfa_serials if live is not None and user_name not in snapshot.records else None


def owner_findings(user: UserRecord, settings: Settings) -> list[Finding]:
    """``owner-invalid`` when the user's owner tag cannot be read (exempt users too: it routes notices)."""
    lookup = resolve_owner(user.tags, settings.owner_tag_key, settings.default_owner)
    if lookup.problem is None:
        return []
    fallback = "notices go to the default owner" if lookup.owner else "notices reach only the administrators"
    return [
        Finding(
            user.name,
            OWNER_INVALID,
            SEVERITY[OWNER_INVALID],
            VIOLATION,
            since=user.created,
            detail=f"owner tag {settings.owner_tag_key}={lookup.tag_value!r} {lookup.problem}; {fallback}",
            action=_ACTION[OWNER_INVALID],
        )
    ]


def credentials_of(snapshot: Snapshot, user_name: str) -> Credentials | None:
    record = snapshot.records.get(user_name)
    if record is not None:
        return credentials_from_report(record, user_name in snapshot.virtual_mfa_users)
    return snapshot.live.get(user_name)


def root_findings(root: RootCredentials) -> list[Finding]:
    """The root user is judged only here: no MFA, an access key, or nothing to sign in with (info)."""
    has_key = root.has_access_key
    if root.password is False and not has_key:
        # Root credentials managed centrally (AWS Organizations) or removed: MFA advice would be impossible.
        return [
            _root(
                ROOT_NO_CREDENTIALS,
                EXEMPTED,
                "the root user has no console password and no access key (GetAccountSummary): "
                "nothing to protect with MFA",
            )
        ]
    findings: list[Finding] = []
    if root.has_mfa is False:
        can_use = []
        if root.password is None:
            can_use.append("console password assumed: GetAccountSummary did not say")
        elif root.password:
            can_use.append("console password")
        if has_key:
            can_use.append("access key")
        findings.append(
            _root(ROOT_WITHOUT_MFA, VIOLATION, f"the root user has no MFA device ({', '.join(can_use)})")
        )
    if has_key:
        findings.append(_root(ROOT_ACCESS_KEY, VIOLATION, _describe_root_keys(root)))
    return findings


def _root(kind: FindingKind, status: Status, detail: str) -> Finding:
    return Finding(ROOT, kind, SEVERITY[kind], status, detail=detail, action=_ACTION[kind])


def _describe_root_keys(root: RootCredentials) -> str:
    active = root.report_active_keys
    if not active:
        if root.report is None:
            return "the root user has an access key (GetAccountSummary)"
        return (
            "the root user has an access key (GetAccountSummary); the credential report shows none "
            "active: it is inactive, or was created after the report"
        )
    return "the root user has " + "; ".join(
        f"an active access key in slot {k.slot} (created {_day(k.last_rotated)}, "
        + (f"last used {_day(k.last_used)})" if k.last_used else "never used)")
        for k in active
    )


def user_findings(
    user: UserRecord,
    creds: Credentials | None,
    settings: Settings,
    now: datetime,
    service_credentials: Sequence[ServiceCredential] = (),
    permissions: UserPermissions | None = None,
    ssh_keys: Sequence[SshKey] = (),
    *,
    mfa_serials: tuple[str, ...] | None = None,
) -> list[Finding]:
    """One finding per kind that applies to this user (an exempt user gets only ``exempt``, and
    ``access-key-exposed``: a leaked key matters whoever holds it)."""
    exposed = exposed_finding(user, creds)
    exemption = exemption_for(user.name, user.tags, settings, now.date())
    if exemption is not None:
        until = None
        if exemption.until is not None:
            until = datetime.combine(exemption.until, time.max, tzinfo=UTC)
        return [
            *exposed,
            Finding(
                user.name,
                EXEMPT,
                SEVERITY[EXEMPT],
                EXEMPTED,
                since=user.created,
                deadline=until,
                detail=exemption.reason,
                action=_ACTION[EXEMPT],
            ),
        ]
    note = _lapsed_exemption_note(user.tags, settings)
    results: list[Finding] = list(exposed)
    deadline = user.created + timedelta(days=settings.grace_days)
    status: Status = GRACE if now < deadline else VIOLATION
    kind = mfa_finding_kind(creds)
    if kind is not None and creds is not None:
        results.append(
            Finding(
                user.name,
                kind,
                SEVERITY[kind],
                status,
                since=user.created,
                deadline=deadline,
                detail=_join(_describe(creds), note),
                action=_ACTION[kind],
                source=creds.source,
                active_keys=creds.active_keys,
            )
        )
    totp = _totp_finding(user, creds, settings, mfa_serials, status, deadline, note)
    results.extend(totp)
    if not any(same_iam_name(group, settings.group_name) for group in user.groups):
        # No grace for membership: the group's policy is what walks a new user through MFA setup.
        results.append(
            Finding(
                user.name,
                NOT_IN_SECURED_GROUP,
                SEVERITY[NOT_IN_SECURED_GROUP],
                VIOLATION,
                since=user.created,
                detail=_join(f"not a member of {settings.group_name}", note),
                action=_ACTION[NOT_IN_SECURED_GROUP],
                source=creds.source if creds else "report",
            )
        )
    if creds is not None:
        for hygiene in hygiene_checks(creds, settings, now):
            results.append(
                Finding(
                    user.name,
                    hygiene.kind,
                    SEVERITY[hygiene.kind],
                    status,
                    since=hygiene.since,
                    deadline=deadline,
                    detail=_join(hygiene.detail, note),
                    action=_ACTION[hygiene.kind],
                    source=creds.source,
                    active_keys=hygiene.keys,
                )
            )
    results.extend(
        service_credential_findings(
            user.name,
            service_credentials,
            settings,
            now,
            status=status,
            since=user.created,
            deadline=deadline,
            note=note,
        )
    )
    if creds is not None:
        results.extend(
            signing_certificate_findings(
                user.name,
                creds.certificates,
                settings,
                now,
                status=status,
                since=user.created,
                deadline=deadline,
                note=note,
            )
        )
    results.extend(
        ssh_key_findings(
            user.name,
            ssh_keys,
            settings,
            now,
            status=status,
            since=user.created,
            deadline=deadline,
            note=note,
        )
    )
    results.extend(
        permission_findings(
            user.name, permissions, status=status, since=user.created, deadline=deadline, note=note
        )
    )
    return results


def _totp_finding(
    user: UserRecord,
    creds: Credentials | None,
    settings: Settings,
    serials: tuple[str, ...] | None,
    status: Status,
    deadline: datetime,
    note: str,
) -> list[Finding]:
    """``cli-user-without-totp``: strict mode, an active key, MFA, and no device that gives a code.

    ``serials`` are ``ListMFADevices``' (None: not read, because the user holds a virtual device or was
    no candidate). Without a TOTP device the user cannot pass a code to ``GetSessionToken``, so the key
    alone gets only self-service: a lockout for the CLI and SDKs, not a door.
    """
    if settings.mfa_mode != "strict" or serials is None or creds is None or not creds.mfa:
        return []
    if not creds.active_keys or any(is_totp_serial(s) for s in serials):
        return []
    keys = creds.active_keys
    devices = (
        f"MFA devices {', '.join(serials)} are passkeys or security keys (FIDO: console sign-in only)"
        if serials
        else "ListMFADevices lists no device now (the credential report said MFA)"
    )
    detail = (
        f"{keys} active access key{'s' if keys != 1 else ''}; {devices}; no TOTP device, so "
        "GetSessionToken gets no MFA code and strict mode denies the key all but self-service"
    )
    return [
        Finding(
            user.name,
            CLI_USER_WITHOUT_TOTP,
            SEVERITY[CLI_USER_WITHOUT_TOTP],
            status,
            since=user.created,
            deadline=deadline,
            detail=_join(detail, note),
            action=_ACTION[CLI_USER_WITHOUT_TOTP],
            source=creds.source,
            active_keys=keys,
        )
    ]


def exposed_finding(user: UserRecord, creds: Credentials | None) -> list[Finding]:
    """``access-key-exposed``: AWS's quarantine policy is on the user, or keys the leaked-key responder
    listed in ``iam-guard:exposed-keys`` while the credential report still shows the user holding a key
    (the report names no key IDs: deleting the leaked keys ends the finding)."""
    quarantine = sorted(p.rsplit("/", 1)[-1] for p in user.policies if is_aws_quarantine_policy(p))
    listed = user.tags.get(EXPOSED_KEYS_TAG, "").split()
    holds_a_key = creds is not None and any(k.last_rotated is not None or k.active for k in creds.keys)
    if not quarantine and not (listed and holds_a_key):
        return []
    parts = [f"leaked key(s) {' '.join(listed)} listed by IAM Guard"] if listed and holds_a_key else []
    if quarantine:
        parts.append(f"AWS's {', '.join(quarantine)} attached")
    return [
        Finding(
            user.name,
            ACCESS_KEY_EXPOSED,
            SEVERITY[ACCESS_KEY_EXPOSED],
            VIOLATION,
            since=user.created,
            detail="; ".join(parts),
            action=_ACTION[ACCESS_KEY_EXPOSED],
            source=creds.source if creds else "report",
        )
    ]


class Hygiene(NamedTuple):
    """One credential hygiene problem of a user, before statuses apply."""

    kind: FindingKind
    since: datetime | None  # the last activity of the idle credential, or the oldest key's creation
    detail: str
    keys: int = 0  # access keys concerned


def hygiene_checks(creds: Credentials, settings: Settings, now: datetime) -> list[Hygiene]:
    """console-unused, access-key-unused, access-key-old, two-active-keys (thresholds: module docstring)."""
    found: list[Hygiene] = []
    last = creds.password_last_activity
    if creds.password_enabled and last is not None and is_unused(last, now, settings.unused_days):
        used = (
            "never used"
            if creds.password_last_used is None
            else f"last used {_day(creds.password_last_used)}"
        )
        found.append(
            Hygiene(
                CONSOLE_UNUSED,
                last,
                f"console password unused for {_days(now - last)} ({used}, "
                f"last changed {_day(creds.password_last_changed)}); threshold {settings.unused_days} days",
            )
        )
    active = creds.active_key_slots
    idle = [
        (k, last)
        for k in active
        if (last := k.last_activity) is not None and is_unused(last, now, settings.unused_days)
    ]
    if idle:
        found.append(
            Hygiene(
                ACCESS_KEY_UNUSED,
                min(last for _, last in idle),
                "; ".join(_describe_idle_key(k, last, now) for k, last in idle)
                + f"; threshold {settings.unused_days} days",
                keys=len(idle),
            )
        )
    old = [k for k in active if is_old(k.last_rotated, now, settings.key_max_age_days)]
    if old:
        found.append(
            Hygiene(
                ACCESS_KEY_OLD,
                min(k.last_rotated for k in old if k.last_rotated is not None),
                "; ".join(
                    f"access key {k.slot} created {_day(k.last_rotated)} ({_days(now - k.last_rotated)} ago)"
                    for k in old
                    if k.last_rotated is not None
                )
                + f"; maximum age {settings.key_max_age_days} days",
                keys=len(old),
            )
        )
    if len(active) >= 2:
        created = [k.last_rotated for k in active if k.last_rotated is not None]
        found.append(
            Hygiene(
                TWO_ACTIVE_KEYS,
                max(created) if created else None,
                "access keys "
                + " and ".join(f"{k.slot} (created {_day(k.last_rotated)})" for k in active)
                + " are both active",
                keys=len(active),
            )
        )
    return found


def is_unused(last_activity: datetime | None, now: datetime, days: int) -> bool:
    """Unused for ``days`` days or more (inclusive); ``days == 0`` turns the check off."""
    if days == 0 or last_activity is None:
        return False
    return now - last_activity >= timedelta(days=days)


def is_old(created: datetime | None, now: datetime, max_age_days: int) -> bool:
    """Created more than ``max_age_days`` days ago (exclusive); ``0`` turns the check off."""
    if max_age_days == 0 or created is None:
        return False
    return now - created > timedelta(days=max_age_days)


def _describe_idle_key(key: AccessKeySlot, last: datetime, now: datetime) -> str:
    if key.last_used is None:
        return f"access key {key.slot} never used, created {_day(key.last_rotated)} ({_days(now - last)} ago)"
    return f"access key {key.slot} unused for {_days(now - last)} (last used {_day(key.last_used)})"


def mfa_finding_kind(creds: Credentials | None) -> FindingKind | None:
    """console-without-mfa, access-key-without-mfa, or None (MFA present, or nothing to sign in with)."""
    if creds is None or creds.mfa:
        return None
    if creds.password_enabled:
        return CONSOLE_WITHOUT_MFA
    if creds.active_keys > 0:
        return ACCESS_KEY_WITHOUT_MFA
    return None


def _describe(creds: Credentials) -> str:
    parts = ["console password" if creds.password_enabled else "no console password"]
    keys = creds.active_keys
    slots = " and ".join(str(k.slot) for k in creds.active_key_slots)
    where = f" (slot{'s' if keys > 1 else ''} {slots})" if keys else ""
    parts.append(f"{keys} active access key{'s' if keys != 1 else ''}{where}")
    parts.append("no MFA")
    if creds.source == "live":
        parts.append("checked live: created after the report")
    return ", ".join(parts)


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "unknown"


def _days(delta: timedelta) -> str:
    days = delta.days
    return f"{days} day{'s' if days != 1 else ''}"


def _lapsed_exemption_note(tags: Mapping[str, str], settings: Settings) -> str:
    """A tag that no longer (or never did) exempt: said out loud, so nobody believes it still does."""
    value = tags.get(settings.exempt_tag_key)
    if value is None:
        return ""
    return f"exemption tag {settings.exempt_tag_key}={value} not in force (expired or not true/YYYY-MM-DD)"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
