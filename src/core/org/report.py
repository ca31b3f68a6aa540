"""An organisation sweep as text (JSON, table, CSV) and as one digest alert. Pure.

Each account's entry is the single-account JSON document (``core.sweep.output``) plus the account's
status, error and call count; table and CSV rows carry the account ID first.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.model.errors import InvalidEventError
from core.model.validation import Fields
from core.org.summary import FAILED as ACCOUNT_FAILED
from core.org.summary import RELAYED_KINDS, AccountSummary, totals_of
from core.report.envelope import alert_from_envelope
from core.sweep.output import CSV_COLUMNS, finding_dict, interchange, table_lines, to_json

if TYPE_CHECKING:  # the digest function reads summaries only: it never loads the sweep
    from core.org.sweep import AccountResult, OrgSweepResult

ORG_CSV_COLUMNS = ("account_id", *CSV_COLUMNS)
_TABLE_COLUMNS = ("ACCOUNT", "SEVERITY", "STATUS", "FINDING", "USER", "DEADLINE", "DETAIL")
DIGEST_TOP_ACCOUNTS = 20


def render_org(
    result: OrgSweepResult, fmt: str, *, security_hub: bool = False, region: str = "us-east-1"
) -> str:
    if fmt in ("ocsf", "asff"):  # one list: every account's findings, each with its own account
        return json.dumps(
            organization_interchange(result, fmt, region=region)
            + [d for a in result.accounts if a.result for d in interchange(a.result, fmt, region=region)],
            indent=2,
        )
    if fmt == "json":
        return json.dumps(to_document(result, security_hub=security_hub), indent=2)
    if fmt == "csv":
        return to_csv(result)
    return to_table(result)


def organization_interchange(result: OrgSweepResult, fmt: str, *, region: str) -> list[dict[str, Any]]:
    """The organisation's own findings as OCSF / ASFF, on the management account (the resource is that
    account: Security Hub has no resource type for an organisation)."""
    if not result.organization_findings:
        return []
    from core.aws.securityhub import Target
    from core.report.ocsf import to_ocsf
    from core.report.securityhub import compliance_status, finding_id, to_asff

    account = result.management_account_id
    if fmt == "asff":
        return [
            to_asff(f, Target(account, region), now=result.swept_at) for f in result.organization_findings
        ]
    return [
        to_ocsf(
            f,
            account_id=account,
            region=region,
            now=result.swept_at,
            compliance=compliance_status(f.status),
            uid=finding_id(account, f.finding, f.user),
        )
        for f in result.organization_findings
    ]


def organization_entries(result: OrgSweepResult) -> list[dict[str, Any]]:
    """The organisation's own findings as JSON, each with the management account's ID."""
    return [
        {"account_id": result.management_account_id, **finding_dict(f)} for f in result.organization_findings
    ]


def account_entry(account: AccountResult, *, security_hub: bool = False) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "account_id": account.account_id,
        "status": account.status,
        "error": account.error,
    }
    if account.result is not None:
        single = json.loads(to_json(account.result))
        single.pop("account_id", None)
        single.pop("alerts_sent", None)  # per-account digests are recorded, never sent (one org digest)
        entry.update(single)
        # Every finding carries its own account, as every CSV and table row does.
        entry["findings"] = [{"account_id": account.account_id, **f} for f in single["findings"]]
        entry.setdefault("guardrail", "not-checked")
    else:
        entry.update({"report_generated_at": None, "guardrail": "not-checked", "findings": []})
    if security_hub:  # as the single-account JSON: {"imported", "archived", "failed"}, None when not swept
        imported = getattr(account.result, "security_hub", None)
        entry["security_hub"] = imported.counts() if imported is not None else None
    entry["iam_calls"] = account.iam_calls
    entry["assume_role_calls"] = account.assume_role_calls
    entry["write_role_assumed"] = account.write_role_assumed
    return entry


def to_document(result: OrgSweepResult, *, security_hub: bool = False) -> dict[str, Any]:
    accounts = [account_entry(a, security_hub=security_hub) for a in result.accounts]
    document: dict[str, Any] = {
        "organization_id": result.organization_id,
        "swept_at": _iso(result.swept_at),
        "dry_run": result.dry_run,
        "accounts": accounts,
        # The organisation's own findings (centralized root access), checked once per run.
        "organization_findings": organization_entries(result),
        # Every finding in one list, each as in single-account mode: `.findings[]` reads both (the
        # organisation's first, on the management account).
        "findings": organization_entries(result) + [f for entry in accounts for f in entry["findings"]],
        "skipped": [{"account_id": i, "reason": r} for i, r in result.skipped],
        "totals": result.totals(),
    }
    if any("notifications" in entry for entry in accounts):  # --notify-owners: each with its account
        document["notifications"] = [
            {"account_id": entry["account_id"], **n}
            for entry in accounts
            for n in entry.get("notifications", [])
        ]
    return document


def _rows(result: OrgSweepResult) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [
        {"account_id": result.management_account_id, **finding_dict(f), "report_generated_at": None}
        for f in result.organization_findings
    ]
    for account in result.accounts:
        if account.status == ACCOUNT_FAILED:
            rows.append(
                {
                    "account_id": account.account_id,
                    **dict.fromkeys(CSV_COLUMNS, ""),
                    "status": ACCOUNT_FAILED,
                    "detail": account.error,
                }
            )
            continue
        assert account.result is not None
        generated = _iso(account.result.report_generated_at)
        for f in account.findings:
            rows.append(
                {"account_id": account.account_id, **finding_dict(f), "report_generated_at": generated}
            )
    return rows


def to_csv(result: OrgSweepResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ORG_CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in _rows(result):
        writer.writerow(row)
    return buffer.getvalue().rstrip("\n")


def to_table(result: OrgSweepResult) -> str:
    rows = [
        (
            r["account_id"],
            r["severity"] or "-",
            r["status"],
            r["finding"] or "-",
            r["user"] or "-",
            (r["deadline"] or "-")[:10],
            r["detail"] or "",
        )
        for r in _rows(result)
    ]
    lines = [f"Organisation {result.organization_id}; swept {_iso(result.swept_at)}"]
    if rows:
        lines.extend(table_lines(_TABLE_COLUMNS, rows))
    lines.append(summary_line(result))
    return "\n".join(lines)


def summary_line(result: OrgSweepResult) -> str:
    t = result.totals()
    statuses = ", ".join(f"{n} {s}" for s, n in t["by_status"].items()) or "no findings"
    mode = " (dry run)" if result.dry_run else ""
    return (
        f"{t['accounts']} accounts swept{mode}: {t['accounts_ok']} ok, {t['accounts_failed']} failed, "
        f"{t['accounts_skipped']} skipped; {statuses}; {t['assume_role_calls']} AssumeRole, "
        f"{t['iam_calls']} IAM calls"
    )


# --- the one digest of a run ----------------------------------------------------------------------------


def worst_first(summaries: Iterable[AccountSummary]) -> list[AccountSummary]:
    """Accounts with findings needing attention, most severe first, then most findings, then by ID."""
    ranked = [s for s in summaries if s.status != ACCOUNT_FAILED and s.attention]
    return sorted(ranked, key=lambda s: (-s.worst, -s.attention, s.account_id))


def org_digest_alert(
    organization_id: str,
    summaries: Sequence[AccountSummary],
    *,
    skipped: int = 0,
    swept_at: datetime | None = None,
    dry_run: bool = False,
    top: int = DIGEST_TOP_ACCOUNTS,
    map_error: dict[str, Any] | None = None,
    organization: Sequence[AlertItem] = (),
) -> Alert:
    """One alert for the whole run: the organisation's own findings, totals, the worst accounts first,
    every account that failed.

    ``map_error``: the workflow's fan-out stopped (more account sweeps failed than tolerated).
    ``organization``: the organisation's own findings (``organization_item``); a ``not-checked`` one is
    an information item: it never raises the digest's severity."""
    totals = totals_of(summaries, skipped)
    failed = [s for s in summaries if s.status == ACCOUNT_FAILED]
    worst = worst_first(summaries)
    troubled = bool(failed or map_error)
    severity = max(
        [s.worst for s in worst]
        + [item.severity for item in organization]
        + ([Severity.HIGH] if troubled else []),
        default=Severity.INFO,
    )
    stopped = ""
    if map_error:
        cause = str(map_error.get("Cause") or "").splitlines()[0:1]
        stopped = (
            f"The sweep stopped early: {map_error.get('Error', 'failed')}"
            + (f" ({cause[0]})" if cause else "")
            + ". "
        )
    attention = sum(s.attention for s in worst)
    items = (
        list(organization)
        + [
            AlertItem(
                subject=f"account/{s.account_id}",
                finding=", ".join(s.attention_kinds),
                severity=s.worst,
                status=f"{s.attention} need attention",
            )
            for s in worst[:top]
        ]
        + [
            AlertItem(
                subject=f"account/{s.account_id}",
                finding="account-not-swept",
                severity=Severity.HIGH,
                status=ACCOUNT_FAILED,
                action=s.error or "",
            )
            for s in failed
        ]
    )
    statuses = ", ".join(f"{n} {s}" for s, n in totals["by_status"].items()) or "no findings"
    return Alert(
        kind=AlertKind.ORG_SWEEP_DIGEST,
        severity=severity,
        title=(
            f"IAM org sweep: {len(worst)} of {totals['accounts']} accounts need attention, "
            f"{len(failed)} failed" + (" (dry run)" if dry_run else "")
        ),
        summary=stopped
        + (
            f"Organisation {organization_id}: {totals['accounts_ok']} accounts swept, "
            f"{len(failed)} could not be swept, {totals['accounts_skipped']} skipped; "
            f"{attention} findings need attention ({statuses})."
        ),
        occurred_at=swept_at,
        items=tuple(items),
        items_omitted=max(0, len(worst) - top),
        counts=tuple(totals["by_finding"].items()),
        dry_run=dry_run,
        details=(("organization_id", organization_id), ("accounts_failed", str(len(failed)))),
    )


def relayed_alerts(summaries: Iterable[AccountSummary]) -> tuple[list[Alert], int]:
    """The members' alerts the hub sends after its digest (``RELAYED_KINDS``), each as the member's sweep
    wrote it, and how many envelopes did not read back (left out: they must not cost the digest)."""
    alerts: list[Alert] = []
    unreadable = 0
    for summary in summaries:
        for envelope in summary.relayed:
            try:
                alert = alert_from_envelope(envelope)
            except InvalidEventError:
                alert = None
            if alert is None or alert.kind not in RELAYED_KINDS:
                unreadable += 1
            else:
                alerts.append(alert)
    return alerts, unreadable


def digest_of(result: OrgSweepResult) -> Alert:
    return org_digest_alert(
        result.organization_id,
        result.summaries(),
        skipped=len(result.skipped),
        swept_at=result.swept_at,
        dry_run=result.dry_run,
        organization=[organization_item(Fields(r)) for r in organization_records(result)],
    )


def organization_records(result: OrgSweepResult) -> list[dict[str, Any]]:
    from core.org.root_access import finding_record

    return [finding_record(f) for f in result.organization_findings]


def organization_item(record: Fields) -> AlertItem:
    """One of the organisation's findings as a digest line, from its record (``root_access.finding_record``,
    carried in the hub workflow's state): a finding needing no attention (``not-checked``) is information."""
    severity = Severity[record.choice("severity", tuple(s.label for s in Severity)).upper()]
    detail, action = record.text("detail", ""), record.text("action", "")
    return AlertItem(
        subject=record.text("user"),
        finding=record.text("finding"),
        severity=severity if record.value("attention") is True else Severity.INFO,
        status=record.text("status"),
        action=f"{detail}. {action}" if detail else action,
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None
