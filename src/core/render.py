"""Renderings of the alert model. Pure: SNS (email) subject/body/attributes; Slack Block Kit."""

from __future__ import annotations

from dataclasses import dataclass

from core.alerts import Alert

SUBJECT_MAX = 100


@dataclass(frozen=True)
class SnsMessage:
    subject: str
    body: str
    attributes: dict[str, str]


def sns_message(alert: Alert) -> SnsMessage:
    subject = f"[IAM Guard] {alert.title}"
    if len(subject) > SUBJECT_MAX:
        subject = subject[: SUBJECT_MAX - 1] + "…"
    lines = [alert.title, "", alert.summary, ""]
    for item in alert.sorted_items():
        lines.append(f"- {item.subject}: {item.finding} ({item.severity.label}) {item.action}".rstrip())
    return SnsMessage(
        subject=subject,
        body="\n".join(lines).rstrip() + "\n",
        attributes={"type": alert.kind.value, "severity": alert.severity.label},
    )
