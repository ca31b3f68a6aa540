"""Renderings of the alert model. Pure: no I/O, no clock.

- ``sns_message``: what SnsSink publishes: an email subject (at most 100 characters, says what
  happened), a plain-text body a person can act on, the ``type`` / ``severity`` message attributes for
  subscription filter policies, and the alert itself as a JSON envelope for the Slack notifier.
- ``slack_message``: a Block Kit payload (header, summary with counts, users most severe first, what to
  do, a context footer, a ``text`` fallback) within Slack's limits for any number of items.
- ``alert_envelope`` / ``alert_from_envelope``: the alert model as JSON and back, so the notifier renders
  Slack from the same model the email was rendered from.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from core.alerts import Alert, AlertItem, Severity
from core.errors import InvalidEventError

SUBJECT_MAX = 100  # SNS rejects longer subjects
SNS_MESSAGE_MAX_BYTES = 262_144  # SNS: message plus attributes, UTF-8 bytes
EMAIL_LISTED_MAX = 100  # users listed one by one in an email; the rest are counted

SLACK_MAX_BLOCKS = 50
SLACK_SECTION_MAX = 3000
SLACK_HEADER_MAX = 150
SLACK_FIELD_MAX = 2000
SLACK_FIELDS_MAX = 10
SLACK_CONTEXT_ELEMENTS_MAX = 10
SLACK_LISTED_MAX = 40  # users listed in a Slack message; more is a wall nobody reads
SLACK_FALLBACK_MAX = 500  # the notification text: title and summary

ENVELOPE_SCHEMA = "iam-guard.alert.v1"
CONSOLE = "https://us-east-1.console.aws.amazon.com/iam/home"  # IAM is global; its console lives here
ROOT_SUBJECT = "<root_account>"

SEVERITY_EMOJI = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":red_circle:",
    Severity.MEDIUM: ":large_orange_circle:",
    Severity.LOW: ":large_yellow_circle:",
    Severity.INFO: ":large_blue_circle:",
}

_USER_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_ALERT_JSON: TypeAdapter[Alert] = TypeAdapter(Alert)


# --------------------------------------------------------------------------------------------- shared


def console_url(subject: str, account_id: str = "") -> str | None:
    """The IAM console page where a person fixes this item, when there is one."""
    if subject == ROOT_SUBJECT:
        return f"{CONSOLE}#/security_credentials"
    kind, _, name = subject.partition("/")
    if name and kind == "group":
        return f"{CONSOLE}#/groups/details/{quote(name, safe='')}"
    if name and kind == "policy" and account_id:
        arn = f"arn:aws:iam::{account_id}:policy/{name}"
        return f"{CONSOLE}#/policies/details/{quote(arn, safe='')}"
    if _USER_NAME.match(subject):
        return f"{CONSOLE}#/users/details/{quote(subject, safe='')}"
    return None


def format_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d %H:%M UTC")


def _days_between(start: datetime, end: datetime) -> int:
    def aware(moment: datetime) -> datetime:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment

    return (aware(end) - aware(start)).days


def _reference_time(alert: Alert) -> datetime | None:
    """'Now' for relative ages: when the alert's facts were true (renderings never read the clock)."""
    return alert.report_generated_at or alert.occurred_at


def format_date(moment: datetime) -> str:
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%d")


def _age(item: AlertItem, alert: Alert) -> str:
    """'12 days ago', measured to when the alert's facts were true; empty when that is unknown."""
    reference = _reference_time(alert)
    if item.since is None or reference is None:
        return ""
    days = _days_between(item.since, reference)
    if days < 0:
        return ""
    return "under a day ago" if days == 0 else f"{days} day{'s' if days != 1 else ''} ago"


def _since(item: AlertItem, alert: Alert) -> str:
    """'2026-03-01 (12 days ago)'."""
    if item.since is None:
        return ""
    age = _age(item, alert)
    return format_date(item.since) + (f" ({age})" if age else "")


def _counts(alert: Alert) -> list[tuple[str, int]]:
    """Per-finding counts: the digest's own (computed over every user) or, failing that, the items'."""
    if alert.counts:
        return [(finding, count) for finding, count in alert.counts if count]
    return sorted(Counter(item.finding for item in alert.items).items(), key=lambda fc: (-fc[1], fc[0]))


def _actions(items: list[AlertItem]) -> list[tuple[str, str]]:
    """One 'what to do' per finding (the same advice is not repeated for every user)."""
    seen: dict[str, str] = {}
    for item in items:
        if item.action and item.finding not in seen:
            seen[item.finding] = item.action
    return list(seen.items())


def _clip(text: str, limit: int, marker: str = "…") -> str:
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def trimmed(alert: Alert, max_items: int) -> Alert:
    """The alert with at most ``max_items`` items (the most severe); the rest counted in items_omitted."""
    if len(alert.items) <= max_items:
        return alert
    kept = tuple(alert.sorted_items()[:max_items])
    return replace(alert, items=kept, items_omitted=alert.items_omitted + len(alert.items) - len(kept))


# ---------------------------------------------------------------------------------------- SNS / email


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    body: str  # the plain text email readers get (SNS "default" and "email")
    attributes: dict[str, str]  # message attributes for subscription filter policies
    envelope: str = ""  # the alert as JSON, for the Slack notifier (SNS "lambda")

    def structured(self) -> str:
        """The Publish ``Message`` for ``MessageStructure="json"``: text for people, JSON for the notifier."""
        return json.dumps({"default": self.body, "email": self.body, "lambda": self.envelope})

    def size_bytes(self) -> int:
        attributes = sum(len(k) + len(v) + len("String") for k, v in self.attributes.items())
        return len(self.structured().encode()) + attributes


def sns_message(alert: Alert, *, max_bytes: int = SNS_MESSAGE_MAX_BYTES) -> SnsMessage:
    """Subject, body, attributes and envelope, listing as many users as fit in one SNS message."""
    listed = EMAIL_LISTED_MAX
    while True:
        shown = trimmed(alert, listed)
        message = SnsMessage(
            subject=sns_subject(alert),
            body=email_body(shown),
            attributes=sns_attributes(alert),
            envelope=alert_envelope(shown),
        )
        if message.size_bytes() <= max_bytes or listed == 0:
            return message
        listed //= 2  # long user names or actions: list fewer, count the rest


def sns_attributes(alert: Alert) -> dict[str, str]:
    return {"type": alert.kind.value, "severity": alert.severity.label}


def sns_subject(alert: Alert) -> str:
    """One line, ASCII, at most 100 characters: severity, what happened, and 'dry run' when it was one."""
    prefix = f"IAM Guard {alert.severity.label.upper()}: "
    title = _ascii_line(alert.title)
    if alert.dry_run and "dry run" not in title.lower():
        title += " (dry run)"
    subject = prefix + title
    if len(subject) <= SUBJECT_MAX:
        return subject
    cut = subject[: SUBJECT_MAX - 3]
    space = cut.rfind(" ")
    if space > SUBJECT_MAX * 2 // 3:  # end on a whole word when that loses little
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "..."


def _ascii_line(text: str) -> str:
    """SNS subjects: no line breaks or control characters, and some mail relays mangle non-ASCII."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return unicodedata.normalize("NFKD", flat).encode("ascii", "ignore").decode() or "alert"


def email_body(alert: Alert) -> str:
    """Plain text: what happened, who is affected and since when, what to do, and where it came from."""
    lines = [f"[{alert.severity.label.upper()}] {alert.title}"]
    if alert.dry_run:
        lines.append("DRY RUN: nothing was changed; this is what would have been done.")
    lines += ["", alert.summary]
    counts = _counts(alert)
    if counts:
        lines += ["", "Findings: " + ", ".join(f"{count:,} {finding}" for finding, count in counts)]
    items = alert.sorted_items()
    if items:
        lines += ["", "Affected, most severe first:"]
        for number, item in enumerate(items, start=1):
            lines += _email_item(number, item, alert)
    if alert.items_omitted:
        lines += [
            "",
            f"... and {alert.items_omitted:,} more not listed here (`iam-guard audit` lists all).",
        ]
    actions = _actions(items)
    if len(actions) == 1:
        lines += ["", f"What to do: {actions[0][1]}"]
    elif actions:
        lines += ["", "What to do:", *(f"- {finding}: {action}" for finding, action in actions)]
    lines += ["", "Details", *_email_details(alert)]
    lines += [
        "",
        "--",
        f"IAM Guard alert. Type: {alert.kind.value}; severity: {alert.severity.label}. Subscriptions can "
        "filter on the message attributes 'type' and 'severity'.",
    ]
    return "\n".join(lines) + "\n"


def _email_item(number: int, item: AlertItem, alert: Alert) -> list[str]:
    """Two lines: who, what, how bad, since when, until when; then where to fix it."""
    facts = [", ".join(f for f in (item.severity.label, item.status) if f)]
    if item.since:
        age = _age(item, alert)
        facts.append(f"since {format_date(item.since)}" + (f", {age}" if age else ""))
    if item.deadline:
        facts.append(f"deadline {format_time(item.deadline)}")
    lines = [f"{number:>3}. {item.subject}: {item.finding} ({'; '.join(facts)})"]
    url = console_url(item.subject, alert.account_id)
    if url:
        lines.append(f"     {url}")
    return lines


def _email_details(alert: Alert) -> list[str]:
    rows = [
        ("Account", alert.account_id),
        ("Region", alert.region),
        ("Actor", alert.actor),
        ("Event ID", alert.event_id),
        ("Occurred", format_time(alert.occurred_at)),
        ("Report time", format_time(alert.report_generated_at)),
        *alert.details,
    ]
    shown = [(name, value) for name, value in rows if value]
    width = max((len(name) for name, _ in shown), default=0) + 1
    return [f"  {name + ':':<{width}} {value}" for name, value in shown]


# ---------------------------------------------------------------------------------------- Slack


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
            "text": {"type": "plain_text", "text": _clip(title, SLACK_HEADER_MAX), "emoji": True},
        },
        _section("\n".join(line for line in lines if line) or "(no description)"),
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _clip(slack_escape(p), 300)} for p in footer if p],
        },
    ]
    return {"text": _clip(title, SLACK_FALLBACK_MAX), "blocks": blocks}


def slack_text_message(subject: str | None, text: str) -> dict[str, Any]:
    """For SNS messages that are not IAM Guard envelopes: post them as they are, rather than drop them."""
    title = _clip(" ".join((subject or "Message on the IAM Guard alert topic").split()), SLACK_HEADER_MAX)
    chunk = SLACK_SECTION_MAX - 8  # room for the code fence
    parts = [text[i : i + chunk] for i in range(0, len(text), chunk)] or [""]
    sections = [_section(f"```{slack_escape(part)}```") for part in parts[: SLACK_MAX_BLOCKS - 2]]
    blocks = [_plain_header(title), *sections]
    if len(parts) > len(sections):
        blocks.append(_section("_…message truncated to fit Slack's limits._"))
    return {"text": _clip(title, SLACK_FALLBACK_MAX), "blocks": blocks}


def _header(alert: Alert) -> dict[str, Any]:
    return _plain_header(f"{SEVERITY_EMOJI[alert.severity]} {' '.join(alert.title.split())}")


def _plain_header(text: str) -> dict[str, Any]:
    return {
        "type": "header",
        "text": {"type": "plain_text", "text": _clip(text, SLACK_HEADER_MAX), "emoji": True},
    }


def _context(parts: list[str]) -> dict[str, Any]:
    elements = [{"type": "mrkdwn", "text": _clip(p, SLACK_SECTION_MAX)} for p in parts if p]
    return {"type": "context", "elements": elements[:SLACK_CONTEXT_ELEMENTS_MAX]}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SLACK_SECTION_MAX)}}


def _summary_text(alert: Alert) -> str:
    lines = []
    if alert.dry_run:
        lines.append("*Dry run:* nothing was changed; this is what would have been done.")
    lines.append(slack_escape(alert.summary))
    counts = _counts(alert)
    if counts and (alert.item_count > 1 or len(counts) > 1):
        total = f"*{_plural(alert.item_count, 'finding')}*" if alert.item_count else ""
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
        {"type": "mrkdwn", "text": _clip(f"*{name}*\n{value}", SLACK_FIELD_MAX)}
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
        parts.append(f"since {_since(item, alert)}")
    if item.deadline:
        parts.append(f"deadline {format_time(item.deadline)}")
    return _clip(" · ".join(parts), SLACK_SECTION_MAX)


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
    actions = _actions(alert.sorted_items())
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
    return _clip(f"{alert.severity.label.upper()}: {alert.title}. {alert.summary}", SLACK_FALLBACK_MAX)


# ---------------------------------------------------------------------------------------- envelope


def alert_envelope(alert: Alert) -> str:
    """The alert as versioned JSON (what the Slack notifier receives through SNS)."""
    body = _ALERT_JSON.dump_python(alert, mode="json")
    return json.dumps({"schema": ENVELOPE_SCHEMA, "alert": body}, separators=(",", ":"))


def alert_from_envelope(text: str) -> Alert | None:
    """The alert in an envelope; None when ``text`` is not an envelope (someone else's message)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("schema") != ENVELOPE_SCHEMA:
        return None
    try:
        return _ALERT_JSON.validate_python(data.get("alert"))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidEventError(f"malformed alert envelope: {where}: {first['msg']}") from None
