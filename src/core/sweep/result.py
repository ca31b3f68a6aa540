"""What one account's sweep found and did: the result every caller (function, CLI, org sweep) reads."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from core.guardrail.state import Change
from core.model.alerts import AlertKind
from core.model.findings import (
    FAILED,
    Finding,
    count_by_kind,
    count_by_status,
)
from core.sweep.selfcheck import EnforcerHealth

if TYPE_CHECKING:  # loaded only when the import is on (SecurityHub=true)
    from core.report.securityhub_import import SecurityHubResult
    from core.sweep.notifications import Notification
    from core.sweep.owner_delivery import Delivery


GUARDRAIL_SUBJECT = "<guardrail>"


NOT_CHECKED = EnforcerHealth("not-checked")


@dataclass(frozen=True)
class SweepResult:
    """One account's sweep: the findings, what was done and sent, and the checks around it."""

    account_id: str
    report_generated_at: datetime
    swept_at: datetime
    users_scanned: int
    findings: tuple[Finding, ...]
    dry_run: bool
    remediate: bool
    group_name: str
    grace_days: int
    alerts_sent: tuple[AlertKind, ...]
    delivery_error: str | None = None
    # verified, healed, would-heal, drift, not-checked or failed (see ``check_guardrail``)
    guardrail: str = "not-checked"
    guardrail_changes: tuple[Change, ...] = ()
    enforcer: EnforcerHealth = NOT_CHECKED
    security_hub: SecurityHubResult | None = None  # None: the import is off
    unused_days: int = 45
    key_max_age_days: int = 90
    remediate_unused_keys: bool = False
    enrolled_tags: tuple[str, ...] | None = None  # None: tag_enrolled off (core.sweep.enrolled_tag)
    # The owners' warnings and notices due this run (core.sweep.notifications); None: not computed.
    notifications: tuple[Notification, ...] | None = None
    deliveries: tuple[Delivery, ...] | None = None  # what sending them did; None: nothing was sent

    @property
    def counts(self) -> dict[str, int]:
        return count_by_kind(self.findings)

    @property
    def status_counts(self) -> dict[str, int]:
        return count_by_status(self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAILED]
