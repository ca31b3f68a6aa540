"""Slack Block Kit messages: for an alert, a CloudWatch alarm, or any other text on the topic. Pure."""

from __future__ import annotations

import json
from typing import Any

from core.model.alerts import Alert, AlertItem, Severity
from core.report.render_common import (
    actions_by_finding,
    clip,
    console_url,
    finding_counts,
    format_time,
    plural,
    since_text,
)

SLACK_MAX_BLOCKS = 50
SLACK_SECTION_MAX = 3000
SLACK_HEADER_MAX = 150
SLACK_FIELD_MAX = 2000
SLACK_FIELDS_MAX = 10
SLACK_CONTEXT_ELEMENTS_MAX = 10
SLACK_LISTED_MAX = 40  # users listed in a Slack message; more is a wall nobody reads
SLACK_FALLBACK_MAX = 500  # the notification text: title and summary

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":red_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.LOW: ":large_yellow_circle:",
    Severity.INFO: ":large_blue_circle:",
}


def slack_escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(alert: Alert) -> dict[str, Any]:
    """A Block Kit payload within Slack's limits, however many items the alert has."""
    header = _header(alert)
    summary = _section(_summary_text(alert))
    fields = _fields(alert)
    actions = _actions_block(alert)
    footer = _footer(alert)
    fixed = [b for b in (header, summary, fields, actions, footer) if b is not None]
    # Room left for the user list: the divider and the "and N more" line are reserved too.
    room = SLACK_MAX_BLOCKS - len(fixed) - 2
    item_blocks, listed = _item_sections(alert, room)
    remaining = alert.item_count - listed
    blocks: list[dict[str, Any]] = [header]
    blocks += [b for b in (summary, fields) if b is not None]
    if item_blocks:
        blocks.append({"type": "divider"})
        blocks += item_blocks
    if remaining > 0 and listed > 0:
        blocks.append(_section(f"_…and {remaining:,} more not listed here (`iam-guard audit` lists all)._"))
    blocks += [b for b in (actions, footer) if b is not None]
    return {"text": _fallback_text(alert), "blocks": blocks}


def slack_alarm_message(text: str) -> dict[str, Any] | None:
    """A CloudWatch alarm notification (IAM Guard's alarms publish to the same topic); None if not one."""
    try:
        alarm = json.loads(text)
    except (ValueError, RecursionError):  # anyone who may publish to the topic can send anything
        return None
    if not isinstance(alarm, dict) or not {"AlarmName", "NewStateValue"} <= alarm.keys():
        return None
    state = str(alarm["NewStateValue"])
    emoji = (
        ":rotating_light:"
        if state == "ALARM"
        else ":white_check_mark:"
        if state == "OK"
        else ":grey_question:"
    )
    title = f"{emoji} {state}: {' '.join(str(alarm['AlarmName']).split())}"
    lines = [slack_escape(str(alarm.get("AlarmDescription") or ""))]
    if alarm.get("NewStateReason"):
        lines.append(f"_{slack_escape(str(alarm['NewStateReason']))}_")
    footer = [
        f"Account {alarm['AWSAccountId']}" if alarm.get("AWSAccountId") else "",
        str(alarm.get("Region") or ""),
        f"State changed {alarm['StateChangeTime']}" if alarm.get("StateChangeTime") else "",
        "CloudWatch alarm",
    ]
    blocks = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": clip(title, SLACK_HEADER_MAX), "emoji": True},
        },
        _section("\n".join(line for line in lines if line) or "(no description)"),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": clip(slack_escape(p), 300)} for p in footer if p],
        },
    ]
    return {"text": clip(title, SLACK_FALLBACK_MAX), "blocks": blocks}


def slack_text_message(subject: str | None, text: str) -> dict[str, Any]:
    """For SNS messages that are not IAM Guard envelopes: post them as they are, rather than drop them."""
    title = clip(" ".join((subject or "Message on the IAM Guard alert topic").split()), SLACK_HEADER_MAX)
    chunk = SLACK_SECTION_MAX - 8  # room for the code fence
    parts = [text[i : i + chunk] for i in range(0, len(text), chunk)] or [""]
    sections = [_section(f"```{slack_escape(part)}```") for part in parts[: SLACK_MAX_BLOCKS - 2]]
    blocks = [_plain_header(title), *sections]
    if len(parts) > len(sections):
        blocks.append(_section("_…message truncated to fit Slack's limits._"))
    return {"text": clip(title, SLACK_FALLBACK_MAX), "blocks": blocks}


def _header(alert: Alert) -> dict[str, Any]:
    return _plain_header(f"{SEVERITY_EMOJI[alert.severity]} {' '.join(alert.title.split())}")


def _plain_header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, SLACK_HEADER_MAX), "emoji": True},
    }


def _context(parts: list[str]) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": clip(p, SLACK_SECTION_MAX)} for p in parts if p]
    return {"type": "context", "elements": elements[:SLACK_CONTEXT_ELEMENTS_MAX]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SLACK_SECTION_MAX)}}


def _summary_text(alert: Alert) -> str:
    lines = []
    if alert.dry_run:
        lines.append("*Dry run:* nothing was changed; this is what would have been done.")
    lines.append(slack_escape(alert.summary))
    counts = finding_counts(alert)
    if counts and (alert.item_count > 1 or len(counts) > 1):
        total = f"*{plural(alert.item_count, 'finding')}*" if alert.item_count else ""
        per_finding = " · ".join(f"`{slack_escape(finding)}` {count:,}" for finding, count in counts)
        lines.append(" · ".join(part for part in (total, per_finding) if part))
    return "\n".join(lines)


def _fields(alert: Alert) -> dict[str, Any] | None:
    """Who did it and where to trace it: single-event alerts (a digest has no actor or event)."""
    pairs = [
        ("Actor", f"`{slack_escape(alert.actor)}`" if alert.actor else ""),
        ("Occurred", format_time(alert.occurred_at) if not alert.report_generated_at else ""),
        ("CloudTrail event", f"`{slack_escape(alert.event_id)}`" if alert.event_id else ""),
        *((slack_escape(name), slack_escape(value)) for name, value in alert.details),
    ]
    fields = [
        {"type": "mrkdwn", "text": clip(f"*{name}*\n{value}", SLACK_FIELD_MAX)}
        for name, value in pairs
        if value
    ]
    if not fields:
        return None
    return {"type": "section", "fields": fields[:SLACK_FIELDS_MAX]}


def _item_line(item: AlertItem, alert: Alert) -> str:
    url = console_url(item.subject, alert.account_id)
    name = slack_escape(item.subject)
    who = f"*<{url}|{name}>*" if url else f"*{name}*"
    parts = [f"{SEVERITY_EMOJI[item.severity]} {who}", f"`{slack_escape(item.finding)}`"]
    if item.status:
        parts.append(f"_{slack_escape(item.status)}_")
    if item.since:
        parts.append(f"since {since_text(item, alert)}")
    if item.deadline:
        parts.append(f"deadline {format_time(item.deadline)}")
    return clip(" · ".join(parts), SLACK_SECTION_MAX)


def _item_sections(alert: Alert, room: int) -> tuple[list[dict[str, Any]], int]:
    """Item lines packed into sections (each within 3,000 characters), at most ``room`` sections."""
    sections: list[dict[str, Any]] = []
    current: list[str] = []
    size = 0
    listed = 0
    for item in alert.sorted_items()[:SLACK_LISTED_MAX]:
        line = _item_line(item, alert)
        if current and size + 1 + len(line) > SLACK_SECTION_MAX:
            sections.append(_section("\n".join(current)))
            current, size = [], 0
        if not current and len(sections) >= room:
            break
        current.append(line)
        size += len(line) + (1 if size else 0)
        listed += 1
    if current:
        sections.append(_section("\n".join(current)))
    return sections, listed


def _actions_block(alert: Alert) -> dict[str, Any] | None:
    actions = actions_by_finding(alert.sorted_items())
    if not actions:
        return None
    if len(actions) == 1:
        return _section(f"*What to do:* {slack_escape(actions[0][1])}")
    lines = ["*What to do*"] + [f"• `{slack_escape(f)}`: {slack_escape(a)}" for f, a in actions]
    return _section("\n".join(lines))


def _footer(alert: Alert) -> dict[str, Any]:
    parts = [
        f"Account {alert.account_id}" if alert.account_id else "",
        alert.region,
        f"Report {format_time(alert.report_generated_at)}" if alert.report_generated_at else "",
        f"Sent {format_time(alert.occurred_at)}" if alert.occurred_at and alert.report_generated_at else "",
        f"IAM Guard · {alert.kind.value} · {alert.severity.label}",
    ]
    return _context(parts)


def _fallback_text(alert: Alert) -> str:
    return clip(f"{alert.severity.label.upper()}: {alert.title}. {alert.summary}", SLACK_FALLBACK_MAX)
