"""A realistic sweep digest, and the files generated from it with the real renderers.

.venv/bin/python -m tests.report.channels.samples events   # rewrite events/sns-alert.json
.venv/bin/python -m tests.report.channels.samples readme   # print the README's rendered examples
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.model.alerts import Alert, AlertItem, AlertKind, Severity
from core.report.slack_blocks import slack_message
from core.report.sns_email import sns_message

ROOT = Path(__file__).resolve().parents[2]
SWEPT = datetime(2026, 3, 2, 6, 0, 12, tzinfo=UTC)
MFA = "Ask the user to register an MFA device, or remove the console password."
KEYS = "Ask the owner to register an MFA device, or move the workload to a role."
GROUP = "Add the user to the secured group, or exempt them explicitly."


def realistic_digest() -> Alert:
    def days_ago(days: int) -> datetime:
        return SWEPT - timedelta(days=days)

    items = (
        AlertItem(
            "<root_account>",
            "root-without-mfa",
            Severity.CRITICAL,
            "violation",
            action="Enable MFA on the root user (sign in as root, Security credentials, Assign MFA).",
        ),
        AlertItem(
            "ci-deployer",
            "access-key-without-mfa",
            Severity.HIGH,
            "violation",
            days_ago(212),
            days_ago(205),
            KEYS,
        ),
        AlertItem(
            "hanako.sato", "console-without-mfa", Severity.HIGH, "violation", days_ago(9), days_ago(2), MFA
        ),
        AlertItem("kenji.ito", "console-without-mfa", Severity.HIGH, "grace", days_ago(1), days_ago(-6), MFA),
        AlertItem(
            "legacy-backup", "not-in-secured-group", Severity.MEDIUM, "violation", days_ago(400), action=GROUP
        ),
        AlertItem(
            "break-glass",
            "exempt",
            Severity.INFO,
            "exempt",
            days_ago(30),
            days_ago(-60),
            "Review the exemption; remove the tag or setting when it is no longer needed.",
        ),
    )
    return Alert(
        kind=AlertKind.SWEEP_DIGEST,
        severity=Severity.CRITICAL,
        title="IAM sweep: 4 need attention, 6 findings",
        summary="42 users swept; 4 violation, 1 grace, 1 exempt.",
        account_id="123456789012",
        region="us-east-1",
        occurred_at=SWEPT,
        report_generated_at=SWEPT - timedelta(minutes=3),
        items=items,
        counts=(
            ("root-without-mfa", 1),
            ("console-without-mfa", 2),
            ("access-key-without-mfa", 1),
            ("not-in-secured-group", 1),
            ("exempt", 1),
        ),
        details=(("Group", "IAMGuardSecuredUsers"), ("Grace days", "7")),
    )


def sns_event(alert: Alert) -> dict[str, Any]:
    """The event SNS sends the notifier (a lambda subscription receives the ``lambda`` key's text)."""
    message = sns_message(alert)
    topic = "arn:aws:sns:us-east-1:123456789012:iam-guard-alerts"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic,
                    "Subject": message.subject,
                    "Message": message.envelope,
                    "Timestamp": "2026-03-02T06:00:13.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-EXAMPLE.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn="
                    f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
                    "MessageAttributes": {
                        k: {"Type": "String", "Value": v} for k, v in message.attributes.items()
                    },
                },
            }
        ]
    }


def main(what: str) -> None:
    alert = realistic_digest()
    if what == "events":
        path = ROOT / "events" / "sns-alert.json"
        path.write_text(json.dumps(sns_event(alert), indent=2) + "\n")
        print(f"wrote {path}", file=sys.stderr)
    else:
        message = sns_message(alert)
        print(f"Subject: {message.subject}\n\n{message.body}")
        print(json.dumps(slack_message(alert), indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "readme")
