"""Which findings a reader asked to see (``--severity``, ``--status``, ``--finding``) and whether any of them
fails the run (``--fail-on``). Pure.

The filters change what is printed (stdout, ``--output``) only: alerts, the digest and Security Hub always
get every finding, because the sweep has already sent them when a filter applies.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, get_args

from core.model.alerts import Severity
from core.model.findings import (
    FAILED,
    VIOLATION,
    WOULD_ENROL,
    WOULD_HEAL,
    WOULD_REMEDIATE,
    Finding,
    FindingKind,
    Status,
)

if TYPE_CHECKING:  # the CLI reads the vocabularies to build its flags, before any sweep (no AWS SDK)
    from core.sweep.result import SweepResult

SEVERITIES = tuple(s.label for s in sorted(Severity))  # info ... critical
STATUSES: tuple[str, ...] = get_args(Status)
KINDS: tuple[str, ...] = get_args(FindingKind)
# What --fail-on counts: something is wrong, or would be changed, or a change failed. Not grace, exempt,
# enrolled, remediated or healed (nothing left to do).
FAILING_STATUSES = frozenset({VIOLATION, WOULD_ENROL, WOULD_REMEDIATE, WOULD_HEAL, FAILED})
FAIL_ON_EXIT = 3  # below bad input (2) and AWS failures (1) in precedence


@dataclass(frozen=True)
class Selection:
    """Empty sets keep everything."""

    severities: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    kinds: frozenset[str] = frozenset()

    def keeps(self, finding: Finding) -> bool:
        return (
            (not self.severities or finding.severity.label in self.severities)
            and (not self.statuses or finding.status in self.statuses)
            and (not self.kinds or finding.finding in self.kinds)
        )

    def __bool__(self) -> bool:
        return bool(self.severities or self.statuses or self.kinds)


def selected(result: SweepResult, selection: Selection) -> SweepResult:
    """The result as printed: only the findings the selection keeps."""
    if not selection:
        return result
    return replace(result, findings=tuple(f for f in result.findings if selection.keeps(f)))


def failing(findings: Iterable[Finding], threshold: str | None) -> list[Finding]:
    """The findings ``--fail-on threshold`` counts: at or above that severity, with a failing status."""
    if threshold is None:
        return []
    floor = Severity[threshold.upper()]
    return [f for f in findings if f.severity >= floor and f.status in FAILING_STATUSES]


def selected_org(result: Any, selection: Selection) -> Any:
    """An organisation's result (``core.org.sweep.OrgSweepResult``) as printed: each account's findings
    the selection keeps (this package may not import ``core.org``, so it is typed loosely)."""
    if not selection:
        return result
    accounts = tuple(
        a._replace(result=selected(a.result, selection)) if a.result is not None else a
        for a in result.accounts
    )
    organization = tuple(f for f in result.organization_findings if selection.keeps(f))
    return result._replace(accounts=accounts, organization_findings=organization)
