"""SNS's delivery to a subscribed Lambda function, which the emulator cannot do itself.

The alert topic is published with ``MessageStructure="json"``: a queue or an email address gets the
``default``/``email`` text, a Lambda subscription gets the ``lambda`` text. moto delivers to SQS, not to
our Python handler, so ``LambdaSubscription`` watches the successful ``Publish`` calls of the default
boto3 session and builds, for each, the event SNS would give the subscribed function.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Publication:
    topic_arn: str
    message_id: str
    subject: str | None
    message: str  # what a Lambda subscriber receives
    attributes: dict[str, Any]


class LambdaSubscription:
    """Records every successful Publish, as the text a Lambda subscriber of the topic receives."""

    def __init__(self) -> None:
        self.publications: list[Publication] = []
        self._pending: dict[str, Any] | None = None

    def attach_session(self, session: Any) -> None:
        session.events.register("provide-client-params.sns.Publish", self._before)
        session.events.register("after-call.sns.Publish", self._after)

    def _before(self, params: dict[str, Any], **_: Any) -> None:
        self._pending = dict(params)

    def _after(self, parsed: dict[str, Any], **_: Any) -> None:
        params, self._pending = self._pending or {}, None
        if "Error" in parsed or "MessageId" not in parsed:
            return
        self.publications.append(
            Publication(
                topic_arn=str(params.get("TopicArn", "")),
                message_id=str(parsed["MessageId"]),
                subject=params.get("Subject"),
                message=lambda_text(params),
                attributes=dict(params.get("MessageAttributes") or {}),
            )
        )

    def take(self) -> list[Publication]:
        taken, self.publications = self.publications, []
        return taken


def lambda_text(params: dict[str, Any]) -> str:
    """The message a Lambda subscriber gets: the ``lambda`` key of a JSON-structured message, or the
    ``default`` one, or the message itself when it is not structured."""
    message = str(params.get("Message", ""))
    if params.get("MessageStructure") != "json":
        return message
    variants = json.loads(message)
    return str(variants.get("lambda", variants["default"]))


def sns_lambda_event(publication: Publication) -> dict[str, Any]:
    """The event SNS gives a subscribed Lambda function for one publication."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{publication.topic_arn}:0c2f3b4e-demo-subscription",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": publication.message_id,
                    "TopicArn": publication.topic_arn,
                    "Subject": publication.subject,
                    "Message": publication.message,
                    "Timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-demo.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {
                        k: {"Type": v.get("DataType", "String"), "Value": v.get("StringValue", "")}
                        for k, v in publication.attributes.items()
                    },
                },
            }
        ]
    }
