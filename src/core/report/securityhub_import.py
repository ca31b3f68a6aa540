"""One import of a sweep's findings into Security Hub.

New and changed findings are written, resolved ones archived; per-finding failures are reported, never
silent. A still-failing finding someone hid (Workflow SUPPRESSED or RESOLVED, or its content overwritten)
is reasserted: re-imported as every current finding is, its Workflow set back to NEW, and named with its
caller in ``tampered`` (``core.report.securityhub_reassert``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools import Logger

from core.aws.securityhub import FailedFinding, SecurityHubGateway, Target
from core.model.errors import AwsError
from core.model.findings import (
    Finding,
)
from core.report.asff_checks import asff_problems, batches
from core.report.securityhub import archived, finding_id, to_asff
from core.report.securityhub_reassert import Tampering, caller, tamperings

logger = Logger(child=True)


@dataclass(frozen=True)
class SecurityHubResult:
    """What one import did. ``rejected`` names each finding Security Hub (or the ASFF check) refused;
    ``not_imported`` counts the findings of calls that failed as a whole (``error`` says why)."""

    imported: int = 0
    archived: int = 0
    rejected: tuple[FailedFinding, ...] = ()
    not_imported: int = 0
    error: str | None = None
    # Still-failing findings someone hid (suppressed or overwritten), reasserted by this import.
    tampered: tuple[Tampering, ...] = ()

    @property
    def reasserted(self) -> int:
        return len(self.tampered)

    @property
    def failed(self) -> int:
        return len(self.rejected) + self.not_imported

    @property
    def ok(self) -> bool:
        return not self.failed and self.error is None

    def counts(self) -> dict[str, int]:
        """The contract of ``audit --format json``: imported, archived, failed, reasserted."""
        return {
            "imported": self.imported,
            "archived": self.archived,
            "failed": self.failed,
            "reasserted": self.reasserted,
        }

    def summary(self) -> str:
        reasserted = f", {self.reasserted} reasserted" if self.reasserted else ""
        return (
            f"Security Hub: {self.imported} imported, {self.archived} archived, {self.failed} failed"
            f"{reasserted}"
        )

    def problem(self) -> str | None:
        """One line naming what failed (the ID of every rejected finding), or None when all went in."""
        if self.ok:
            return None
        parts = []
        if self.rejected:
            named = ", ".join(f"{f.id} ({f.code}: {f.message})" for f in self.rejected)
            parts.append(f"{len(self.rejected)} findings rejected: {named}")
        if self.not_imported:
            parts.append(f"{self.not_imported} findings not imported")
        if self.error:
            parts.append(self.error)
        return "Security Hub: " + "; ".join(parts)


def import_findings(
    gateway: SecurityHubGateway,
    findings: Iterable[Finding],
    *,
    account_id: str,
    now: datetime,
    user_arns: Mapping[str, str] | None = None,
    report_generated_at: datetime | None = None,
) -> SecurityHubResult:
    """Import this run's findings of ``account_id`` and archive IAM Guard's findings that are gone.

    ``account_id`` is the account of the gateway's credentials (the sweep's account; in organisation
    mode, the member whose role the client uses); a finding of any other account is never sent. Never
    raises for AWS failures: the result says what failed, and the caller makes it an error (exit 1, a
    failed invocation).
    """
    findings = list(findings)
    if not (len(account_id) == 12 and account_id.isdigit()):
        reason = f"no account ID to import the findings for (got {account_id!r})"
        return SecurityHubResult(not_imported=len(findings), error=reason)
    try:
        target = gateway.target(account_id)
        existing = {str(f["Id"]): f for f in gateway.active_findings(target)}
    except AwsError as exc:
        return SecurityHubResult(not_imported=len(findings), error=_explain(exc))
    arns = user_arns or {}
    current = [
        to_asff(
            f,
            target,
            now=now,
            created_at=_created_at(existing.get(finding_id(account_id, f.finding, f.user))),
            user_arn=arns.get(f.user, ""),
            report_generated_at=report_generated_at,
        )
        for f in findings
    ]
    current_ids = {a["Id"] for a in current}
    gone = [archived(f, now=now) for fid, f in sorted(existing.items()) if fid not in current_ids]
    rejected = [
        FailedFinding(str(a.get("Id", "")), "InvalidAsff", "; ".join(p))
        for a in [*current, *gone]
        if (p := asff_problems(a))
    ]
    invalid = {f.id for f in rejected}
    outgoing = [a for a in [*current, *gone] if a["Id"] not in invalid]
    # Who hid a finding, read before this import adds its own record to the finding's history.
    hidden = _with_callers(gateway, target, tamperings(current, existing), existing, now)
    not_imported = 0
    error: str | None = None
    went_in: set[str] = set()
    for batch in batches(outgoing):
        if error is not None:  # a call failed as a whole (after retries): the rest would fail alike
            not_imported += len(batch)
            continue
        try:
            outcome = gateway.batch_import(batch, account_id=account_id)
        except AwsError as exc:
            error = _explain(exc)
            not_imported += len(batch)
            continue
        rejected += outcome.failed
        refused = {f.id for f in outcome.failed}
        went_in |= {str(a["Id"]) for a in batch if a["Id"] not in refused}
    archived_ids = {str(a["Id"]) for a in gone}
    reasserted, not_updated, problem = _reopen(gateway, target, [t for t in hidden if t.id in went_in])
    result = SecurityHubResult(
        imported=len(went_in - archived_ids),
        archived=len(went_in & archived_ids),
        rejected=(*rejected, *not_updated),
        not_imported=not_imported,
        error="; ".join(e for e in (error, problem) if e) or None,
        tampered=tuple(reasserted),
    )
    if result.ok:
        logger.info("findings imported into Security Hub", extra=result.counts())
    else:
        logger.error("Security Hub import incomplete", extra={**result.counts(), "problem": result.problem()})
    return result


HISTORY_BEFORE_LAST_IMPORT = timedelta(days=1)  # how far before the record's UpdatedAt history is read


def _with_callers(
    gateway: SecurityHubGateway,
    target: Target,
    hidden: list[Tampering],
    existing: Mapping[str, Mapping[str, Any]],
    now: datetime,
) -> list[Tampering]:
    """Each hidden finding with its caller, from its history since a day before its last import (one
    ``GetFindingHistory`` listing per hidden finding; a failed read names why the caller is unknown)."""
    named = []
    for tampering in hidden:
        since = (_moment(existing[tampering.id].get("UpdatedAt")) or now) - HISTORY_BEFORE_LAST_IMPORT
        try:
            who = caller(gateway.history(tampering.id, target, since=since), tampering)
        except AwsError as exc:
            who = f"unknown (GetFindingHistory failed: {exc.code})"
        named.append(replace(tampering, caller=who))
    return named


def _reopen(
    gateway: SecurityHubGateway, target: Target, hidden: list[Tampering]
) -> tuple[list[Tampering], list[FailedFinding], str | None]:
    """Hidden findings that went back in with this import: the suppressed ones' Workflow set back to NEW.
    Returns the reasserted findings, those whose Workflow Security Hub did not reset (still hidden, so
    not reasserted: named as failed), and a failed call's reason."""
    suppressed = [t.id for t in hidden if t.suppressed]
    refused: tuple[FailedFinding, ...] = ()
    problem = None
    if suppressed:
        try:
            refused = gateway.reopen(suppressed, target)
        except AwsError as exc:
            problem = f"Workflow of {len(suppressed)} suppressed findings not reset to NEW: {exc}"
            refused = tuple(FailedFinding(i, exc.code, "Workflow not reset to NEW") for i in suppressed)
    not_reset = {f.id for f in refused}
    reasserted = [t for t in hidden if t.id not in not_reset]
    if reasserted:
        logger.warning(
            "hidden Security Hub findings reasserted", extra={"findings": [t.describe() for t in reasserted]}
        )
    return reasserted, list(refused), problem


def _moment(value: Any) -> datetime | None:
    """An ASFF timestamp (``2026-12-07T12:00:00.000Z``) as a datetime; None when absent or unreadable."""
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None


def _created_at(existing: Mapping[str, Any] | None) -> str | None:
    """First seen: the ACTIVE finding's CreatedAt when there is one (a re-run), else None (now)."""
    if existing is None:
        return None
    created = existing.get("CreatedAt")
    return str(created) if created else None


def _explain(exc: AwsError) -> str:
    if exc.code == "InvalidAccessException":
        return (
            f"{exc}; Security Hub CSPM is not enabled in this account and region: enable it, or turn "
            "the import off (SecurityHub=false, no --security-hub)"
        )
    return str(exc)
