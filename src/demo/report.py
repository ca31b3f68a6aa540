"""The demo's closing summary as text. Pure: a finished ``DemoRun`` in, lines out."""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from core.model.alerts import Alert, AlertKind
from core.report.envelope import alert_from_envelope
from demo.story import DemoRun, StepRecord

_SLACK_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")


def summary(run: DemoRun) -> list[str]:
    lines: list[str] = []
    lines += _section("Users now", user_table(run.users))
    lines += _section("Findings of the sweep (its digest alert)", findings_lines(run.sweep_digest))
    if run.security_hub:
        lines += _section(
            f"Security Hub: {len(run.security_hub)} IAM Guard findings (ASFF), after the second sweep",
            security_hub_lines(run.security_hub),
        )
    # Show a tamper alert in Slack (the digest is already the findings table, and the email below).
    healed = [s for s in run.steps if s.slack_payloads and AlertKind.TAMPER_HEALED in _kinds(s)]
    shown = healed[-1] if healed else next((s for s in reversed(run.steps) if s.slack_payloads), None)
    lines += _section(
        f"Slack: the local webhook received {len(run.slack_payloads)} Block Kit messages; "
        + (f"the one of step {shown.number}" if shown else "none"),
        slack_preview(shown.slack_payloads[-1]) if shown else ["(nothing received)"],
    )
    emails = [e for step in run.steps for e in step.emails]
    if emails:
        last = emails[-1]
        lines += _section(
            f"Email: {len(emails)} SNS messages (read back from an SQS subscription); the last one",
            [f"Subject: {last.subject}", "", *last.body.rstrip().splitlines()],
        )
    lines += _section(
        "AWS calls made by IAM Guard, per step",
        [
            *calls_table(run),
            "(not counted: the Slack notifier's read of its webhook secret, made through Powertools'",
            " own boto3 session and cached for 5 minutes)",
        ],
    )
    return lines


def _kinds(step: StepRecord) -> set[AlertKind]:
    alerts = (alert_from_envelope(p.message) for p in step.publications)
    return {a.kind for a in alerts if a is not None}


def user_table(users: Sequence[dict[str, Any]]) -> list[str]:
    header = ("USER", "SECURED GROUP", "EXEMPT", "CONSOLE", "ACTIVE KEYS", "MFA")
    rows = [
        (
            u["user"],
            "yes" if u["in_group"] else "no",
            u["exempt"] or "-",
            "yes" if u["console"] else "no",
            str(u["active_keys"]),
            "yes" if u["mfa"] else "no",
        )
        for u in sorted(users, key=lambda u: str(u["user"]))
    ]
    return table([header, *rows])


def findings_lines(digest: Alert | None) -> list[str]:
    """The sweep's findings, as its digest alert lists them (most severe first)."""
    if digest is None:
        return ["(the sweep sent no digest)"]
    rows = [
        (i.severity.label, i.status, i.finding, i.subject, _day(i.deadline)) for i in digest.sorted_items()
    ]
    header = ("SEVERITY", "STATUS", "FINDING", "USER", "DEADLINE")
    return [*table([header, *rows]), digest.summary] if rows else ["no findings"]


def security_hub_lines(findings: Sequence[dict[str, Any]]) -> list[str]:
    """What the security team sees in Security Hub: one row per finding, its lifecycle state."""
    header = ("SEVERITY", "COMPLIANCE", "RECORD", "CONTROLS", "ID")
    rows = [
        (
            str(f["Severity"]["Label"]),
            str(f["Compliance"]["Status"]),
            str(f["RecordState"]),
            ",".join(_short(r) for r in f["Compliance"].get("RelatedRequirements") or []) or "-",
            str(f["Id"]),
        )
        for f in findings
    ]
    return table([header, *rows])


def _short(requirement: str) -> str:
    """ "CIS AWS Foundations Benchmark v7.0.0/2.10" as "CIS-2.10", to fit a terminal line."""
    return "CIS-" + requirement.rsplit("/", 1)[1] if requirement.startswith("CIS ") else requirement


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


def slack_preview(payload: Any) -> list[str]:
    """A readable text preview of a Block Kit message: each block's text, in order."""
    if not isinstance(payload, dict):
        return [str(payload)]
    lines: list[str] = []
    for block in payload.get("blocks") or []:
        texts = list(_block_texts(block))
        if block.get("type") == "divider":
            lines.append("-" * 40)
        # Shown as Slack shows it: link labels, and its three escapes (&amp; &lt; &gt;) undone.
        lines += [html.unescape(_SLACK_LINK.sub(r"\2", line)) for text in texts for line in text.splitlines()]
    if not lines and payload.get("text"):
        lines = str(payload["text"]).splitlines()
    return lines


def _block_texts(block: dict[str, Any]) -> Iterable[str]:
    text = block.get("text")
    if isinstance(text, dict) and text.get("text"):
        yield str(text["text"])
    for item in [*(block.get("fields") or []), *(block.get("elements") or [])]:
        if isinstance(item, dict) and item.get("text"):
            value = item["text"]
            yield str(value["text"] if isinstance(value, dict) else value)


def calls_table(run: DemoRun) -> list[str]:
    rows = [(str(s.number), str(sum(s.calls.values())), _per_api(s.calls)) for s in run.steps]
    total: Counter[str] = Counter()
    for step in run.steps:
        total.update(step.calls)
    rows.append(("all", str(sum(total.values())), f"in {run.seconds:.1f} s"))
    return table([("STEP", "CALLS", "BY API"), *rows])


def _per_api(calls: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items())) or "-"


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        "  ".join([*(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)), r[-1]]).rstrip() for r in rows
    ]


def _section(title: str, body: list[str]) -> list[str]:
    return ["", f"== {title}", *(f"   {line}" if line else "" for line in body)]
