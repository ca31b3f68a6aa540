"""Sweep results as text for the CLI: an aligned table, CSV, or one JSON object. Pure.

Every format carries the credential report's generation time, so a reader knows how fresh it is.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the CLI reads FORMATS before it runs a sweep
    from core.model.findings import Finding
    from core.sweep.result import SweepResult

FORMATS = ("table", "json", "csv", "ocsf", "asff")
CSV_COLUMNS = (
    "user",
    "finding",
    "severity",
    "status",
    "since",
    "deadline",
    "detail",
    "action",
    "source",
    "report_generated_at",
)
_TABLE_COLUMNS = ("SEVERITY", "STATUS", "FINDING", "USER", "DEADLINE", "DETAIL")


def format_report(
    result: SweepResult, fmt: str, *, iam_calls: int | None = None, region: str = "us-east-1"
) -> str:
    if fmt in ("ocsf", "asff"):
        return json.dumps(interchange(result, fmt, region=region), indent=2)
    if fmt == "json":
        return to_json(result, iam_calls=iam_calls)
    if fmt == "csv":
        return to_csv(result)
    return to_table(result, iam_calls=iam_calls)


def interchange(result: SweepResult, fmt: str, *, region: str) -> list[dict[str, Any]]:
    """The findings as a JSON list of OCSF Detection Findings or ASFF findings (``core.report``)."""
    from core.aws.securityhub import Target
    from core.report.ocsf import to_ocsf
    from core.report.securityhub import compliance_status, finding_id, to_asff

    target = Target(result.account_id, region)
    if fmt == "asff":
        return [
            to_asff(f, target, now=result.swept_at, report_generated_at=result.report_generated_at)
            for f in result.findings
        ]
    return [
        to_ocsf(
            f,
            account_id=result.account_id,
            region=region,
            now=result.swept_at,
            compliance=compliance_status(f.status),
            uid=finding_id(result.account_id, f.finding, f.user),
        )
        for f in result.findings
    ]


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "user": f.user,
        "finding": f.finding,
        "severity": f.severity.label,
        "status": f.status,
        "since": _iso(f.since),
        "deadline": _iso(f.deadline),
        "detail": f.detail,
        "action": f.action,
        "source": f.source,
    }


def to_json(result: SweepResult, *, iam_calls: int | None = None) -> str:
    document: dict[str, Any] = {
        "account_id": result.account_id,
        "report_generated_at": _iso(result.report_generated_at),
        "swept_at": _iso(result.swept_at),
        "users_scanned": result.users_scanned,
        "group_name": result.group_name,
        "grace_days": result.grace_days,
        "dry_run": result.dry_run,
        "remediate": result.remediate,
        "unused_days": result.unused_days,
        "key_max_age_days": result.key_max_age_days,
        "remediate_unused_keys": result.remediate_unused_keys,
        "counts": result.counts,
        "status_counts": result.status_counts,
        "findings": [{"account_id": result.account_id, **finding_dict(f)} for f in result.findings],
        "alerts_sent": [k.value for k in result.alerts_sent],
        "guardrail": result.guardrail,
        "guardrail_changes": [
            {"resource": c.resource, "change": c.change, "detail": c.detail} for c in result.guardrail_changes
        ],
        "enforcer": {"status": result.enforcer.status, "problems": list(result.enforcer.problems)},
    }
    if iam_calls is not None:
        document["iam_calls"] = iam_calls
    if result.security_hub is not None:
        document["security_hub"] = result.security_hub.counts()
    if result.enrolled_tags is not None:
        document["enrolled_tags"] = list(result.enrolled_tags)
    if result.notifications is not None:
        fate = {d.notification: d for d in result.deliveries or ()}
        document["notifications"] = [
            {**n.as_dict(), **({"delivery": fate[n].as_dict()} if n in fate else {})}
            for n in result.notifications
        ]
    return json.dumps(document, indent=2)


def to_csv(result: SweepResult) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for f in result.findings:
        writer.writerow({**finding_dict(f), "report_generated_at": _iso(result.report_generated_at)})
    return buffer.getvalue().rstrip("\n")


def table_lines(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A header and rows in aligned columns; the last column (free text) is not padded."""
    widths = [max(len(str(r[i])) for r in [columns, *rows]) for i in range(len(columns) - 1)]
    return [
        "  ".join([*(str(c).ljust(w) for c, w in zip(row[:-1], widths, strict=True)), str(row[-1])]).rstrip()
        for row in [columns, *rows]
    ]


def to_table(result: SweepResult, *, iam_calls: int | None = None) -> str:
    rows = [
        (f.severity.label, f.status, f.finding, f.user, _day(f.deadline), f.detail) for f in result.findings
    ]
    lines = [f"Credential report generated {_iso(result.report_generated_at)}; swept {_iso(result.swept_at)}"]
    if rows:
        lines.extend(table_lines(_TABLE_COLUMNS, rows))
    lines.append(summary_line(result, iam_calls=iam_calls))
    if result.notifications is not None:
        lines.append(notifications_line(result))
    if result.security_hub is not None:
        lines.append(result.security_hub.summary())
    return "\n".join(lines)


def summary_line(result: SweepResult, *, iam_calls: int | None = None) -> str:
    statuses = ", ".join(f"{n} {s}" for s, n in result.status_counts.items()) or "no findings"
    mode = " (dry run)" if result.dry_run else ""
    calls = f", {iam_calls} IAM calls" if iam_calls is not None else ""
    users = f"{result.users_scanned} user{'' if result.users_scanned == 1 else 's'}"
    checks = f"; guardrail {result.guardrail}" if result.guardrail != "not-checked" else ""
    if result.enforcer.status != "not-checked":
        checks += f"; enforcer {result.enforcer.status}"
    return f"{users} swept{mode}: {statuses}{calls}{checks}"


def notifications_line(result: SweepResult) -> str:
    if result.deliveries is not None:
        from core.sweep.owner_delivery import deliveries_line

        return f"Owner notifications: {deliveries_line(result.deliveries, limit=5)}"
    notes = result.notifications or ()
    owners = len({n.owner for n in notes})
    listed = "; ".join(f"{n.owner} ({n.channel}): {n.user} {n.finding} {n.stage}" for n in notes[:5])
    more = f" (and {len(notes) - 5} more)" if len(notes) > 5 else ""
    return f"Owner notifications due (not sent): {len(notes)} to {owners} owner(s)" + (
        f": {listed}{more}" if notes else ""
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else "-"
