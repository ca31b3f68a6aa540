"""Credentials and controls the credential report does not carry. Pure: snapshot data in, findings out.

- Service-specific credentials (``ListServiceSpecificCredentials``, ``AllUsers``): CodeCommit HTTPS Git,
  Amazon Keyspaces, and the Amazon Bedrock and CloudWatch Logs API keys. Only ``Active`` ones count.
  ``service-credential-active``: any on a user IAM Guard guards (not exempt): such a credential cannot
  carry MFA, so strict mode denies its requests and console mode applies only the network statement.
  ``service-credential-no-expiry``: an active Bedrock or CloudWatch Logs API key without
  ``ExpirationDate`` (IAM records no last use for these credentials, so nothing else ends it).
  ``service-credential-old``: created more than ``key_max_age_days`` days ago (the access-key limit).
  One finding per user and kind; the detail names each credential. Statuses as the MFA findings (grace).
- X.509 signing certificates, from the credential report's ``cert_1_*`` and ``cert_2_*`` columns (no
  extra call; the report names no certificate ID, only the slot):
  ``signing-certificate-active``: an active certificate on a guarded user (it signs requests with no
  MFA: strict mode denies them, console mode applies only the network statement);
  ``signing-certificate-old``: uploaded more than ``key_max_age_days`` days ago (the access-key limit;
  a certificate whose upload time the report does not give is never old).
- SSH public keys (CodeCommit), per user only (``ListSSHPublicKeys``): read for the users
  ``ssh_audit_users`` picks this run (``ssh_key_audit_users_per_run``; 0 = none): ``ssh-key-active`` (an
  active key on a guarded user) and ``ssh-key-old`` (uploaded more than ``key_max_age_days`` days ago).
- The account password policy (``GetAccountPasswordPolicy``), pseudo-user ``<password_policy>``:
  ``password-policy-missing`` when there is none, ``password-policy-weak`` naming each failed
  requirement with its control (``REQUIREMENTS``). Passwords that never expire fail only IAM.17, which
  CIS v7.0 does not require: a policy failing nothing else is reported with status ``exempt`` (it
  never wakes a quiet run), the reason in the detail.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from core.model.credential_report import CertificateSlot
from core.model.findings import (
    _ACTION,
    EXEMPTED,
    PASSWORD_POLICY,
    PASSWORD_POLICY_MISSING,
    PASSWORD_POLICY_WEAK,
    SERVICE_CREDENTIAL_ACTIVE,
    SERVICE_CREDENTIAL_NO_EXPIRY,
    SERVICE_CREDENTIAL_OLD,
    SEVERITY,
    SIGNING_CERTIFICATE_ACTIVE,
    SIGNING_CERTIFICATE_OLD,
    SSH_KEY_ACTIVE,
    SSH_KEY_OLD,
    USER_CLOUDSHELL_FULL_ACCESS,
    USER_DIRECT_POLICY,
    USER_FULL_ADMIN,
    VIOLATION,
    Finding,
    FindingKind,
    ServiceCredential,
    SshKey,
    Status,
    UserPermissions,
)
from core.model.settings import Settings

# API keys: the services whose service-specific credentials take an expiry (CredentialAgeDays).
API_KEY_SERVICES = frozenset({"bedrock.amazonaws.com", "logs.amazonaws.com"})
MAX_PASSWORD_AGE_DAYS = 90  # IAM.17: passwords expire within 90 days or less


def service_credential_findings(
    user: str,
    credentials: Iterable[ServiceCredential],
    settings: Settings,
    now: datetime,
    *,
    status: Status,
    since: datetime,
    deadline: datetime,
    note: str = "",
) -> list[Finding]:
    """The service-credential findings of one guarded (not exempt) user."""
    active = sorted((c for c in credentials if c.active), key=lambda c: (c.service, c.credential_id))
    if not active:
        return []
    found: list[Finding] = []

    def add(kind: FindingKind, which: Sequence[ServiceCredential], why: str, when: datetime | None) -> None:
        detail = "; ".join(p for p in ("; ".join(_describe(c, now) for c in which) + why, note) if p)
        found.append(
            Finding(
                user,
                kind,
                SEVERITY[kind],
                status,
                since=when,
                deadline=deadline,
                detail=detail,
                action=_ACTION[kind],
            )
        )

    add(
        SERVICE_CREDENTIAL_ACTIVE,
        active,
        "; cannot carry MFA: strict mode denies its requests, console mode applies only the network "
        "statement",
        since,
    )
    no_expiry = [c for c in active if c.service in API_KEY_SERVICES and c.expires is None]
    if no_expiry:
        add(
            SERVICE_CREDENTIAL_NO_EXPIRY, no_expiry, "; no ExpirationDate, and IAM records no last use", since
        )
    limit = settings.key_max_age_days
    # As access-key-old: created more than ``limit`` days ago (exclusive); 0 turns the check off.
    old = [c for c in active if limit and c.created is not None and now - c.created > timedelta(days=limit)]
    if old:
        add(
            SERVICE_CREDENTIAL_OLD,
            old,
            f"; maximum age {limit} days",
            min(c.created for c in old if c.created is not None),
        )
    return found


def _describe(credential: ServiceCredential, now: datetime) -> str:
    created = credential.created.date().isoformat() if credential.created else "unknown"
    expires = f", expires {credential.expires.date().isoformat()}" if credential.expires else ""
    age = f" ({(now - credential.created).days} days ago)" if credential.created else ""
    return f"{credential.service} credential {credential.credential_id} created {created}{age}{expires}"


def signing_certificate_findings(
    user: str,
    certificates: Iterable[CertificateSlot],
    settings: Settings,
    now: datetime,
    *,
    status: Status,
    since: datetime,
    deadline: datetime,
    note: str = "",
) -> list[Finding]:
    """The signing-certificate findings of one guarded (not exempt) user, from its report row."""
    active = [c for c in certificates if c.active]
    if not active:
        return []

    def describe(cert: CertificateSlot) -> str:
        if cert.last_rotated is None:
            return f"signing certificate {cert.slot} (upload time not in the report)"
        age = (now - cert.last_rotated).days
        uploaded = cert.last_rotated.date().isoformat()
        return f"signing certificate {cert.slot} uploaded {uploaded} ({age} days ago)"

    def make(kind: FindingKind, which: Sequence[CertificateSlot], why: str, when: datetime | None) -> Finding:
        text = "; ".join(describe(c) for c in which) + why
        return Finding(
            user,
            kind,
            SEVERITY[kind],
            status,
            since=when,
            deadline=deadline,
            detail="; ".join(p for p in (text, note) if p),
            action=_ACTION[kind],
        )

    found = [
        make(
            SIGNING_CERTIFICATE_ACTIVE,
            active,
            " active (credential report); it signs requests without MFA: strict mode denies them, console "
            "mode applies only the network statement",
            since,
        )
    ]
    limit = settings.key_max_age_days
    # As access-key-old: uploaded more than ``limit`` days ago (exclusive); 0 turns the check off.
    old = [
        c
        for c in active
        if limit and c.last_rotated is not None and now - c.last_rotated > timedelta(days=limit)
    ]
    if old:
        found.append(
            make(
                SIGNING_CERTIFICATE_OLD,
                old,
                f"; maximum age {limit} days",
                min(c.last_rotated for c in old if c.last_rotated is not None),
            )
        )
    return found


def ssh_audit_buckets(users: int, per_run: int) -> int:
    """How many runs (days) one round of the SSH-key audit takes: ceil(N / per_run); 0 when off."""
    if per_run <= 0 or users <= 0:
        return 0
    return math.ceil(users / per_run)


def ssh_audit_bucket(user: str) -> int:
    """A stable number for the user name (SHA-256: the same on every run and machine, unlike ``hash``)."""
    return int.from_bytes(hashlib.sha256(user.encode("utf-8")).digest()[:8], "big")


def ssh_audit_users(users: Sequence[str], per_run: int, day: date) -> list[str]:
    """The users whose SSH public keys are read on ``day``: those whose name's bucket (SHA-256 of the
    name, modulo ceil(N / per_run)) equals the day's (its ordinal, modulo the same). No stored state:
    each user is read once every ceil(N / per_run) days while N stays; a run reads about ``per_run``
    users (the hash spreads them; a bucket may hold a few more or fewer). ``per_run`` >= N: everyone."""
    buckets = ssh_audit_buckets(len(users), per_run)
    if not buckets:
        return []
    today = day.toordinal() % buckets
    return sorted(u for u in users if ssh_audit_bucket(u) % buckets == today)


def ssh_key_findings(
    user: str,
    keys: Iterable[SshKey],
    settings: Settings,
    now: datetime,
    *,
    status: Status,
    since: datetime,
    deadline: datetime,
    note: str = "",
) -> list[Finding]:
    """The SSH-key findings of one guarded (not exempt) user whose keys were read this run."""
    active = sorted((k for k in keys if k.active), key=lambda k: k.key_id)
    if not active:
        return []

    def describe(key: SshKey) -> str:
        if key.uploaded is None:
            return f"SSH public key {key.key_id}"
        age = (now - key.uploaded).days
        return f"SSH public key {key.key_id} uploaded {key.uploaded.date().isoformat()} ({age} days ago)"

    def make(kind: FindingKind, which: Sequence[SshKey], why: str, when: datetime | None) -> Finding:
        text = "; ".join(describe(k) for k in which) + why
        return Finding(
            user,
            kind,
            SEVERITY[kind],
            status,
            since=when,
            deadline=deadline,
            detail="; ".join(p for p in (text, note) if p),
            action=_ACTION[kind],
            source="live",
        )

    found = [
        make(
            SSH_KEY_ACTIVE,
            active,
            " active (ListSSHPublicKeys); CodeCommit over SSH takes no MFA",
            since,
        )
    ]
    limit = settings.key_max_age_days
    old = [k for k in active if limit and k.uploaded is not None and now - k.uploaded > timedelta(days=limit)]
    if old:
        found.append(
            make(
                SSH_KEY_OLD,
                old,
                f"; maximum age {limit} days",
                min(k.uploaded for k in old if k.uploaded is not None),
            )
        )
    return found


class Requirement(NamedTuple):
    """One password-policy requirement and the controls that check it."""

    name: str
    controls: str  # Security Hub control (and CIS v7.0 item) named in the detail
    met: Callable[[Mapping[str, Any]], bool]


def _at_least(key: str, minimum: int) -> Callable[[Mapping[str, Any]], bool]:
    return lambda policy: int(policy.get(key) or 0) >= minimum


def _required(key: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda policy: policy.get(key) is True


def _expires(policy: Mapping[str, Any]) -> bool:
    age = int(policy.get("MaxPasswordAge") or 0)
    return 0 < age <= MAX_PASSWORD_AGE_DAYS


REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("minimum length 14 or more", "IAM.15, CIS 2.8", _at_least("MinimumPasswordLength", 14)),
    Requirement("reuse prevention 24 or more", "IAM.16, CIS 2.9", _at_least("PasswordReusePrevention", 24)),
    Requirement("an uppercase letter", "IAM.11", _required("RequireUppercaseCharacters")),
    Requirement("a lowercase letter", "IAM.12", _required("RequireLowercaseCharacters")),
    Requirement("a symbol", "IAM.13", _required("RequireSymbols")),
    Requirement("a number", "IAM.14", _required("RequireNumbers")),
    Requirement(f"expiry within {MAX_PASSWORD_AGE_DAYS} days", "IAM.17", _expires),
)
EXPIRY = REQUIREMENTS[-1]
EXPIRY_REASON = (
    "IAM.17 alone is not met: passwords do not expire within 90 days "
    "(CIS v7.0 does not require expiry; NIST SP 800-63B advises against forced rotation)"
)


def failed_requirements(policy: Mapping[str, Any]) -> list[Requirement]:
    return [r for r in REQUIREMENTS if not r.met(policy)]


def password_policy_findings(policy: Mapping[str, Any] | None) -> list[Finding]:
    """``password-policy-missing``, ``password-policy-weak``, or nothing (every requirement met)."""
    if policy is None:
        return [
            Finding(
                PASSWORD_POLICY,
                PASSWORD_POLICY_MISSING,
                SEVERITY[PASSWORD_POLICY_MISSING],
                VIOLATION,
                detail="the account has no password policy (GetAccountPasswordPolicy: NoSuchEntity): IAM's "
                "default allows 8 characters of any kind, reused, never expiring; IAM.7, IAM.10 to "
                "IAM.17, CIS 2.8 and 2.9 not met",
                action=_ACTION[PASSWORD_POLICY_MISSING],
            )
        ]
    failed = failed_requirements(policy)
    if not failed:
        return []
    status: Status = EXEMPTED if failed == [EXPIRY] else VIOLATION
    detail = "failed: " + "; ".join(f"{r.name} ({r.controls})" for r in failed)
    if status == EXEMPTED:
        detail += "; " + EXPIRY_REASON
    return [
        Finding(
            PASSWORD_POLICY,
            PASSWORD_POLICY_WEAK,
            SEVERITY[PASSWORD_POLICY_WEAK],
            status,
            detail=detail,
            action=_ACTION[PASSWORD_POLICY_WEAK],
        )
    ]


def permission_findings(
    user: str,
    permissions: UserPermissions | None,
    *,
    status: Status,
    since: datetime,
    deadline: datetime,
    note: str = "",
) -> list[Finding]:
    """user-direct-policy, user-full-admin, user-cloudshell-full-access (``core.sweep.permissions``)."""
    if permissions is None:
        return []
    found: list[Finding] = []

    def add(kind: FindingKind, detail: str, *, no_control: bool = False) -> None:
        found.append(
            Finding(
                user,
                kind,
                SEVERITY[kind],
                status,
                since=since,
                deadline=deadline,
                detail="; ".join(p for p in (detail, note) if p),
                action=_ACTION[kind],
                no_control=no_control,
            )
        )

    if permissions.direct:
        detail = "attached to the user: " + ", ".join(permissions.direct)
        if permissions.not_counted:
            detail += "; not counted: " + ", ".join(permissions.not_counted)
        add(USER_DIRECT_POLICY, detail)
    if permissions.full_admin:
        checked = [g for g in permissions.full_admin if g.kind in ("customer", "inline")]
        detail = "allows * on *: " + ", ".join(g.label for g in permissions.full_admin)
        if not checked:
            detail += "; AWS managed only: IAM.1 and CIS 2.14 check customer managed and inline policies"
        add(USER_FULL_ADMIN, detail, no_control=not checked)
    if permissions.cloudshell:
        add(USER_CLOUDSHELL_FULL_ACCESS, "from " + ", ".join(permissions.cloudshell))
    return found
