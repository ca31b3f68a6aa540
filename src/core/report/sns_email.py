"""The SNS message for an alert: email subject, plain-text body, filterable attributes, envelope. Pure."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass

from core.model.alerts import Alert, AlertItem
from core.report.envelope import alert_envelope
from core.report.render_common import (
    actions_by_finding,
    age_text,
    console_url,
    finding_counts,
    format_date,
    format_time,
    trimmed,
)

SUBJECT_MAX = 100  # SNS rejects longer subjects
SNS_MESSAGE_MAX_BYTES = 262_144  # SNS: message plus attributes, UTF-8 bytes
EMAIL_LISTED_MAX = 100  # users listed one by one in an email; the rest are counted

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class SnsMessage:
    """One alert as published to the topic: subject, body, attributes and envelope."""

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
    counts = finding_counts(alert)
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
    actions = actions_by_finding(items)
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
        age = age_text(item, alert)
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
