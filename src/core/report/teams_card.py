"""Microsoft Teams: an alert as an Adaptive Card for a Power Automate Workflows webhook. Pure.

The same content as the e-mail and the Slack message (one ``Alert`` model): severity and title, the
summary, the account facts, the affected users most severe first (at most ``TEAMS_LISTED_MAX``, then
"and N more") and what to do per finding. Workflows webhooks take a message with one attachment of
content type ``application/vnd.microsoft.card.adaptive``.
"""

from __future__ import annotations

from typing import Any

from core.model.alerts import Alert, Severity
from core.report.render_common import actions_by_finding, clip, console_url, format_time, since_text

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.4"
TEAMS_LISTED_MAX = 30
_COLOR = {
    Severity.CRITICAL: "attention",
    Severity.HIGH: "attention",
    Severity.MEDIUM: "warning",
    Severity.LOW: "accent",
    Severity.INFO: "default",
}


def teams_card(alert: Alert) -> dict[str, Any]:
    """The Adaptive Card itself."""
    label = alert.severity.label.upper()
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": clip(f"IAM Guard {label}: {alert.title}", 200),
            "weight": "Bolder",
            "size": "Medium",
            "color": _COLOR[alert.severity],
            "wrap": True,
        },
        {"type": "TextBlock", "text": clip(alert.summary, 2000), "wrap": True},
    ]
    facts = [
        {"title": title, "value": value}
        for title, value in (
            ("Kind", alert.kind.value),
            ("Account", alert.account_id),
            ("Region", alert.region),
            ("Actor", alert.actor),
            ("Occurred", format_time(alert.occurred_at) if alert.occurred_at else ""),
            ("Event ID", alert.event_id),
        )
        if value
    ]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    items = alert.sorted_items()
    listed = items[:TEAMS_LISTED_MAX]
    for item in listed:
        line = f"**{item.subject}**: {item.finding} ({item.severity.label}"
        line += f", {item.status})" if item.status else ")"
        since = since_text(item, alert)
        if since:
            line += f"; {since}"
        url = console_url(item.subject, alert.account_id)
        if url:
            line += f" [console]({url})"
        body.append({"type": "TextBlock", "text": clip(line, 500), "wrap": True, "spacing": "Small"})
    more = alert.item_count - len(listed)
    if more > 0:
        body.append(
            {"type": "TextBlock", "text": f"…and {more:,} more (`iam-guard audit` lists all).", "wrap": True}
        )
    todo = actions_by_finding(items)
    if todo:
        body.append({"type": "TextBlock", "text": "What to do", "weight": "Bolder", "wrap": True})
        body += [
            {"type": "TextBlock", "text": clip(f"- {finding}: {action}", 500), "wrap": True}
            for finding, action in todo
        ]
    return {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": CARD_VERSION,
        "body": body,
    }


def teams_message(alert: Alert) -> dict[str, Any]:
    """The message a Workflows webhook takes: one Adaptive Card attachment."""
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": teams_card(alert)}],
    }
