"""Sweep classification. Pure: an account snapshot + settings + a clock -> findings. No I/O here.

The snapshot is gathered by ``core.sweep`` (a constant number of account-wide calls, plus per-user
checks for users the credential report does not know yet). This module decides what is wrong and how
bad it is; ``core.sweep`` decides what to do about it.

Vocabulary (also in the README):

- finding kinds: ``root-without-mfa``, ``console-without-mfa``, ``access-key-without-mfa``,
  ``not-in-secured-group``, ``exempt``;
- statuses: ``violation`` (past grace, needs a person), ``grace`` (user younger than the grace period;
  ``deadline`` says until when), ``exempt``; the sweep later turns some into ``enrolled`` /
  ``would-enrol``, ``remediated`` / ``would-remediate`` or ``failed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from core.alerts import Severity
from core.exemptions import exemption_for
from core.naming import same_iam_name
from core.settings import Settings

ROOT = "<root_account>"

ROOT_WITHOUT_MFA = "root-without-mfa"
CONSOLE_WITHOUT_MFA = "console-without-mfa"
ACCESS_KEY_WITHOUT_MFA = "access-key-without-mfa"
NOT_IN_SECURED_GROUP = "not-in-secured-group"
EXEMPT = "exempt"
GUARDRAIL_DRIFT = "guardrail-drift"  # the secured group or the guardrail policy is not as intended

SEVERITY = {
    ROOT_WITHOUT_MFA: Severity.CRITICAL,
    CONSOLE_WITHOUT_MFA: Severity.HIGH,
    ACCESS_KEY_WITHOUT_MFA: Severity.HIGH,
    NOT_IN_SECURED_GROUP: Severity.MEDIUM,
    EXEMPT: Severity.INFO,
    GUARDRAIL_DRIFT: Severity.CRITICAL,
}
MFA_KINDS = frozenset({CONSOLE_WITHOUT_MFA, ACCESS_KEY_WITHOUT_MFA})

VIOLATION = "violation"
GRACE = "grace"
EXEMPTED = "exempt"
ENROLLED = "enrolled"
WOULD_ENROL = "would-enrol"
REMEDIATED = "remediated"
WOULD_REMEDIATE = "would-remediate"
HEALED = "healed"
WOULD_HEAL = "would-heal"
FAILED = "failed"
# Statuses that make a run worth an alert even with quiet runs (see ``needs_attention``).
ATTENTION_STATUSES = frozenset(
    {VIOLATION, ENROLLED, WOULD_ENROL, REMEDIATED, WOULD_REMEDIATE, HEALED, WOULD_HEAL, FAILED}
)
# Within one severity, what a person must look at first.
_STATUS_ORDER = {
    FAILED: 0,
    VIOLATION: 1,
    REMEDIATED: 2,
    WOULD_REMEDIATE: 3,
    HEALED: 2,
    WOULD_HEAL: 3,
    ENROLLED: 4,
    WOULD_ENROL: 5,
    GRACE: 6,
    EXEMPTED: 7,
}

_ACTION = {
    ROOT_WITHOUT_MFA: "Enable MFA on the root user (sign in as root, Security credentials, Assign MFA).",
    CONSOLE_WITHOUT_MFA: "Ask the user to register an MFA device, or remove the console password.",
    ACCESS_KEY_WITHOUT_MFA: "Ask the owner to register an MFA device, or move the workload to a role.",
    NOT_IN_SECURED_GROUP: "Add the user to the secured group, or exempt them explicitly.",
    EXEMPT: "Review the exemption; remove the tag or setting when it is no longer needed.",
}


@dataclass(frozen=True)
class Credentials:
    """What a user can sign in with, and whether an MFA device guards it."""

    password_enabled: bool
    active_keys: int
    mfa: bool
    source: str  # "report" (credential report + fresh virtual-MFA listing) or "live" (per-user calls)


@dataclass(frozen=True)
class UserRecord:
    """One user from the account-wide listing (GetAccountAuthorizationDetails)."""

    name: str
    arn: str
    created: datetime
    groups: frozenset[str]
    tags: Mapping[str, str]


@dataclass(frozen=True)
class Snapshot:
    """Everything the classification needs, gathered by ``core.sweep.gather``."""

    report_generated_at: datetime
    report_rows: Mapping[str, Mapping[str, str]]  # user name (or <root_account>) -> credential report row
    users: tuple[UserRecord, ...]
    virtual_mfa_users: frozenset[str]  # users holding an assigned virtual MFA device now
    root_mfa: bool | None  # None: unknown (neither a report row nor GetAccountSummary)
    live: Mapping[str, Credentials] = field(default_factory=dict)  # users missing from the report

    def missing_from_report(self) -> list[str]:
        """Users created after the report was generated: they need per-user checks."""
        return [u.name for u in self.users if u.name not in self.report_rows]


@dataclass(frozen=True)
class Finding:
    user: str
    finding: str
    severity: Severity
    status: str
    since: datetime | None = None  # user creation
    deadline: datetime | None = None  # end of the grace period, or last moment of a dated exemption
    detail: str = ""
    action: str = ""
    source: str = "report"
    active_keys: int = 0  # as last seen (report or live check); remediation re-checks before acting

    @property
    def needs_attention(self) -> bool:
        return self.status in ATTENTION_STATUSES


def credentials_from_report(row: Mapping[str, str], virtual_mfa: bool) -> Credentials:
    """A report row, with MFA refreshed: the report's ``mfa_active`` may be hours old."""
    keys = sum(row.get(f"access_key_{i}_active", "false") == "true" for i in (1, 2))
    return Credentials(
        password_enabled=row.get("password_enabled", "false") == "true",
        active_keys=keys,
        mfa=row.get("mfa_active", "false") == "true" or virtual_mfa,
        source="report",
    )


def classify(snapshot: Snapshot, settings: Settings, now: datetime) -> list[Finding]:
    """All findings of the account, most severe first."""
    findings = list(root_findings(snapshot.root_mfa))
    for user in snapshot.users:
        findings.extend(user_findings(user, credentials_of(snapshot, user.name), settings, now))
    return sort_findings(findings)


def credentials_of(snapshot: Snapshot, user_name: str) -> Credentials | None:
    row = snapshot.report_rows.get(user_name)
    if row is not None:
        return credentials_from_report(row, user_name in snapshot.virtual_mfa_users)
    return snapshot.live.get(user_name)


def root_findings(root_mfa: bool | None) -> Iterable[Finding]:
    if root_mfa is False:
        yield Finding(
            ROOT,
            ROOT_WITHOUT_MFA,
            SEVERITY[ROOT_WITHOUT_MFA],
            VIOLATION,
            detail="the root user has no MFA device",
            action=_ACTION[ROOT_WITHOUT_MFA],
        )


def user_findings(
    user: UserRecord, creds: Credentials | None, settings: Settings, now: datetime
) -> list[Finding]:
    """One finding per kind that applies to this user (an exempt user gets only ``exempt``)."""
    exemption = exemption_for(user.name, user.tags, settings, now.date())
    if exemption is not None:
        until = None
        if exemption.until is not None:
            until = datetime.combine(exemption.until, time.max, tzinfo=UTC)
        return [
            Finding(
                user.name,
                EXEMPT,
                SEVERITY[EXEMPT],
                EXEMPTED,
                since=user.created,
                deadline=until,
                detail=exemption.reason,
                action=_ACTION[EXEMPT],
            )
        ]
    note = _lapsed_exemption_note(user.tags, settings)
    results: list[Finding] = []
    kind = mfa_finding_kind(creds)
    if kind is not None and creds is not None:
        deadline = user.created + timedelta(days=settings.grace_days)
        results.append(
            Finding(
                user.name,
                kind,
                SEVERITY[kind],
                GRACE if now < deadline else VIOLATION,
                since=user.created,
                deadline=deadline,
                detail=_join(_describe(creds), note),
                action=_ACTION[kind],
                source=creds.source,
                active_keys=creds.active_keys,
            )
        )
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
    return results


def mfa_finding_kind(creds: Credentials | None) -> str | None:
    """console-without-mfa, access-key-without-mfa, or None (MFA present, or nothing to sign in with)."""
    if creds is None or creds.mfa:
        return None
    if creds.password_enabled:
        return CONSOLE_WITHOUT_MFA
    if creds.active_keys > 0:
        return ACCESS_KEY_WITHOUT_MFA
    return None


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first; within a severity, what needs a person first; then by user and kind."""
    return sorted(
        findings, key=lambda f: (-int(f.severity), _STATUS_ORDER.get(f.status, 99), f.user, f.finding)
    )


def count_by_kind(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.finding] = counts.get(f.finding, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-int(SEVERITY.get(kv[0], Severity.INFO)), kv[0])))


def count_by_status(findings: Iterable[Finding]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: _STATUS_ORDER.get(kv[0], 99)))


def _describe(creds: Credentials) -> str:
    parts = ["console password" if creds.password_enabled else "no console password"]
    keys = creds.active_keys
    parts.append(f"{keys} active access key{'s' if keys != 1 else ''}")
    parts.append("no MFA")
    if creds.source == "live":
        parts.append("checked live: created after the report")
    return ", ".join(parts)


def _lapsed_exemption_note(tags: Mapping[str, str], settings: Settings) -> str:
    """A tag that no longer (or never did) exempt: said out loud, so nobody believes it still does."""
    value = tags.get(settings.exempt_tag_key)
    if value is None:
        return ""
    return f"exemption tag {settings.exempt_tag_key}={value} not in force (expired or not true/YYYY-MM-DD)"


def _join(*parts: str) -> str:
    return "; ".join(p for p in parts if p)
