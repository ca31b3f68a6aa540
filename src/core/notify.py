"""Alert delivery adapters (SNS). Delivery failures raise ``DeliveryError`` and never undo enforcement."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.alerts import Alert, AlertSink, FanOutSink, RecordingSink
from core.aws import Retrier, translate
from core.errors import AwsError, DeliveryError
from core.settings import Settings

SNS_SUBJECT_MAX = 100


def default_sns_client() -> Any:
    import boto3

    return boto3.client("sns")


class SnsSink:
    """Publishes each alert to one SNS topic: subject, plain-text body, filterable attributes."""

    permissions = frozenset({"sns:Publish"})

    def __init__(
        self,
        topic_arn: str,
        client: Any = None,
        *,
        client_factory: Callable[[], Any] = default_sns_client,
        retrier: Retrier | None = None,
    ) -> None:
        self.topic_arn = topic_arn
        self._client = client
        self._client_factory = client_factory
        self.retrier = retrier or Retrier(max_attempts=3)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send(self, alert: Alert) -> None:
        from core.render import sns_message  # rendering is pure and lives with the other renderings

        message = sns_message(alert)
        try:
            self.retrier.call(
                "Publish",
                lambda: self.client.publish(
                    TopicArn=self.topic_arn,
                    Subject=message.subject,
                    Message=message.body,
                    MessageAttributes={
                        k: {"DataType": "String", "StringValue": v} for k, v in message.attributes.items()
                    },
                ),
            )
        except AwsError as exc:
            raise DeliveryError(f"alert not delivered to SNS: {exc}") from None
        except Exception as exc:  # botocore errors not raised through the retrier
            raise DeliveryError(f"alert not delivered to SNS: {translate('Publish', exc)}") from None


def sink_from_settings(settings: Settings, *, sns_client: Any = None) -> AlertSink:
    """The Lambda functions' sink: the SNS topic when configured, else an in-memory recorder."""
    if settings.sns_topic_arn:
        return SnsSink(settings.sns_topic_arn, sns_client)
    return RecordingSink()


__all__ = ["FanOutSink", "SnsSink", "sink_from_settings"]
