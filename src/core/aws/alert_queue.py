"""Amazon SQS: the alert dead-letter queue (``<stack>_alert-dlq``). Send, receive, delete; nothing else.

The queue is named by its URL (``https://sqs.<region>.amazonaws.com/<account>/<name>``); the client is
built for the URL's region (an emulator's URL names none: the configured region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.aws.gateway import Gateway
from core.aws.iam import requires

_AWS_HOST = re.compile(r"^sqs\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


def queue_region(queue_url: str) -> str | None:
    """The region in an AWS queue URL's host (``sqs.us-east-1.amazonaws.com``); None for other hosts."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    found = _AWS_HOST.match(host)
    return found.group(1) if found else None


def queue_name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class QueuedMessage:
    """One message received from the alert dead-letter queue, with the handle that deletes it."""

    message_id: str
    receipt_handle: str
    body: str


class AlertQueueGateway(Gateway):
    """One queue, by URL. Errors arrive translated (``core.aws.gateway``): ``AwsError`` and its kinds."""

    def __init__(self, queue_url: str, client: Any = None, **kwargs: Any) -> None:
        self.queue_url = queue_url
        region = queue_region(queue_url)

        def factory() -> Any:
            from core.aws.clients import client as make_client

            return make_client("sqs", region=region)

        super().__init__(client, client_factory=kwargs.pop("client_factory", None) or factory, **kwargs)

    @staticmethod
    def default_client_factory() -> Any:  # the factory above is always given
        raise NotImplementedError

    @requires("sqs:SendMessage")
    def send(self, body: str, attributes: dict[str, str] | None = None) -> str:
        answer = self._call(
            "SendMessage",
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageAttributes={
                k: {"DataType": "String", "StringValue": v} for k, v in (attributes or {}).items()
            },
        )
        return str(answer.get("MessageId", ""))

    @requires("sqs:ReceiveMessage")
    def receive(self, *, max_messages: int = 10, visibility_timeout: int = 60) -> list[QueuedMessage]:
        """Up to ``max_messages`` (1-10) messages, hidden from other readers for ``visibility_timeout``
        seconds (0: visible again at once, nothing held); no long polling."""
        answer = self._call(
            "ReceiveMessage",
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=max(1, min(10, max_messages)),
            VisibilityTimeout=visibility_timeout,
            WaitTimeSeconds=0,
        )
        return [
            QueuedMessage(str(m["MessageId"]), str(m["ReceiptHandle"]), str(m.get("Body", "")))
            for m in answer.get("Messages") or []
        ]

    @requires("sqs:DeleteMessage")
    def delete(self, receipt_handle: str) -> None:
        self._call("DeleteMessage", QueueUrl=self.queue_url, ReceiptHandle=receipt_handle)

    @requires("sqs:GetQueueAttributes")
    def depth(self) -> int:
        """``ApproximateNumberOfMessages`` (visible); a missing queue raises (``QueueDoesNotExist``)."""
        answer = self._call(
            "GetQueueAttributes", QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )
        return int(answer.get("Attributes", {}).get("ApproximateNumberOfMessages", 0))
