"""The alert model: every action of the enforcer and every sweep digest becomes one typed ``Alert``.

Pure data. Renderings (SNS subject/body/attributes, Slack Block Kit) and delivery live elsewhere; they all
take this model, so an alert says the same thing wherever it is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, IntEnum
from typing import Protocol


class Severity(IntEnum):
    """Ordered so that ``max()`` and sorting put the most severe first when reversed."""

    INFO = 10
    LOW = 20
    MEDIUM = 30
    HIGH = 40
    CRITICAL = 50

    @property
    def label(self) -> str:
        return self.name.lower()


class AlertKind(str, Enum):
    USER_ENROLLED = "user-enrolled"
    TAMPER_HEALED = "tamper-healed"
    EXEMPT_USER_CREATED = "exempt-user-created"
    ROOT_ACCESS_KEY_CREATED = "root-access-key-created"
    ENFORCEMENT_FAILED = "enforcement-failed"
    SWEEP_DIGEST = "sweep-digest"
    SWEEP_FAILED = "sweep-failed"
    KEYS_DEACTIVATED = "access-keys-deactivated"
    EXEMPTION_GRANTED = "exemption-granted"  # exemption tag put on an enrolled user (never auto-removed)
    EXEMPT_USER_CREDENTIAL = "exempt-user-credential"  # a key or password for a user outside the guardrail
    ROOT_PASSWORD_CREATED = "root-password-created"  # noqa: S105 - an alert kind, not a secret
    MFA_REGISTRATION_SUSPICIOUS = "mfa-registration-suspicious"  # MFA registered without MFA, or for another
    INFRASTRUCTURE_TAMPERED = "infrastructure-tampered"  # IAM Guard's own functions, rules, topic, key ...
    INFRASTRUCTURE_CHANGED = "infrastructure-changed"  # the same, by this stack's own CloudFormation update
    ORG_SWEEP_DIGEST = "org-sweep-digest"  # one per organisation sweep (core.org.report)
    OWNER_CHANGED = "owner-changed"  # the owner tag set, changed or removed, by anyone (core.model.owners)
    LEAKED_KEY_RESPONSE = "leaked-key-response"  # a leaked access key: what was done (core.enforce.leak)
    LEAKED_KEY_UNVERIFIED = "leaked-key-unverified"  # a leak report AWS does not corroborate: nothing done
    QUARANTINE_DETACHED = "quarantine-detached"  # AWS's AWSCompromisedKeyQuarantine* policy detached
    # A still-failing IAM Guard finding hidden in Security Hub (suppressed, overwritten): reasserted
    SECURITY_HUB_FINDING_SUPPRESSED = "security-hub-finding-suppressed"
    ROOT_SESSION_ASSUMED = "root-session-assumed"  # sts:AssumeRoot into a member account (centralized root)
    PASSWORD_POLICY_RESTORED = "password-policy-restored"  # noqa: S105 - ManagePasswordPolicy undid a change


@dataclass(frozen=True)
class AlertItem:
    """One line of an alert: a user (or resource) and what is wrong or was done about it."""

    subject: str  # an IAM user name, "<root_account>", or a resource such as "group/IAMGuardSecuredUsers"
    finding: str  # e.g. "console-without-mfa", "enrolled", "policy-version-restored"
    severity: Severity
    status: str = ""  # e.g. "violation", "grace", "exempt", "done", "dry-run"
    since: datetime | None = None  # when the situation started (user creation, key creation, ...)
    deadline: datetime | None = None  # end of a grace period or of a dated exemption
    action: str = ""  # what a person should do next, one sentence


@dataclass(frozen=True)
class Alert:
    """One alert: what happened, how bad, and what a person can do about it."""

    kind: AlertKind
    severity: Severity
    title: str  # one line: what happened (the email subject is derived from it)
    summary: str  # one or two sentences a person can act on
    account_id: str = ""
    region: str = ""
    actor: str = ""  # who did it, from CloudTrail userIdentity (ARN), when known
    occurred_at: datetime | None = None
    items: tuple[AlertItem, ...] = ()
    counts: tuple[tuple[str, int], ...] = ()  # (finding, count), for digests
    report_generated_at: datetime | None = None
    event_id: str = ""  # CloudTrail event ID, for tracing
    dry_run: bool = False
    details: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    # Items left out of ``items`` because a transport has a size limit (SNS: 256 KiB); renderings add
    # them to the "and N more" line so the reader still learns how many users are affected.
    items_omitted: int = 0

    @property
    def item_count(self) -> int:
        """How many items this alert is about, including those a size limit left out."""
        return len(self.items) + self.items_omitted

    def sorted_items(self) -> list[AlertItem]:
        """Items most severe first, then by subject, so every rendering lists them the same way."""
        return sorted(self.items, key=lambda i: (-int(i.severity), i.subject, i.finding))


class AlertSink(Protocol):
    """Where alerts go. Implementations must not raise for delivery problems the caller cannot fix."""

    def send(self, alert: Alert) -> None: ...


class RecordingSink:
    """Keeps alerts in memory: the CLI prints them, the tests assert on them."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


class FanOutSink:
    """Sends each alert to every sink; one sink failing does not stop the others."""

    def __init__(self, sinks: Iterable[AlertSink]) -> None:
        self.sinks: Sequence[AlertSink] = tuple(sinks)

    def send(self, alert: Alert) -> None:
        errors: list[Exception] = []
        for sink in self.sinks:
            try:
                sink.send(alert)
            except Exception as exc:  # collected and re-raised after the others ran
                errors.append(exc)
        if errors:
            raise errors[0]
