"""Alert delivery to SNS. Delivery failures raise ``DeliveryError`` and never undo enforcement.

One Publish per alert, with ``MessageStructure="json"``: email (and any other) subscribers get the
plain-text body (``default`` / ``email``); the Slack notifier Lambda gets the alert model as JSON
(``lambda``) and renders Block Kit from it. The ``type`` and ``severity`` message attributes let each
subscription filter (e.g. email only for high and critical).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.aws.gateway import Retrier, translate
from core.model.alerts import Alert, AlertSink, RecordingSink
from core.model.errors import AwsError, DeliveryError
from core.model.settings import Settings

REQUIRED_PERMISSIONS = frozenset({"sns:Publish"})  # what a function publishing alerts needs
# Publishing to a KMS-encrypted topic also needs these on the topic's key (a customer managed key).
ENCRYPTED_TOPIC_KEY_PERMISSIONS = frozenset({"kms:GenerateDataKey", "kms:Decrypt"})


def default_sns_client(region: str | None = None) -> Any:
    from core.aws.clients import client

    return client("sns", region=region)


def _topic_region(topic_arn: str) -> str | None:
    parts = topic_arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else None


class SnsSink:
    """Publishes each alert to one SNS topic: subject, plain-text body, filterable attributes."""

    permissions = REQUIRED_PERMISSIONS

    def __init__(
        self,
        topic_arn: str,
        client: Any = None,
        *,
        client_factory: Callable[[], Any] | None = None,
        retrier: Retrier | None = None,
    ) -> None:
        self.topic_arn = topic_arn
        self._client = client
        # The topic's own region (its ARN says it), whatever region the rest of the process uses.
        self._client_factory = client_factory or (lambda: default_sns_client(_topic_region(topic_arn)))
        self.retrier = retrier or Retrier(max_attempts=3)

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def send(self, alert: Alert) -> None:
        from core.report.sns_email import sns_message  # pure; lives with the other renderings

        message = sns_message(alert)
        try:
            self.retrier.call(
                "Publish",
                lambda: self.client.publish(
                    TopicArn=self.topic_arn,
                    Subject=message.subject,
                    Message=message.structured(),
                    MessageStructure="json",
                    MessageAttributes={
                        k: {"DataType": "String", "StringValue": v} for k, v in message.attributes.items()
                    },
                ),
            )
        except AwsError as exc:
            raise DeliveryError(f"alert not delivered to SNS: {exc}") from None
        except Exception as exc:  # botocore errors not raised through the retrier
            raise DeliveryError(f"alert not delivered to SNS: {translate('Publish', exc)}") from None


def sink_from_settings(settings: Settings, *, sns_client: Any = None, channels: bool = False) -> AlertSink:
    """The Lambda functions' sink: the SNS topic when configured, else an in-memory recorder. With
    ``channels`` (the enforcer and the sweep) also Teams and the signed webhook when their secrets are
    set (``core.report.webhook``), each failing on its own, and what they fail to deliver kept in the
    alert dead-letter queue when the settings name one."""
    topic: AlertSink = RecordingSink()
    if settings.sns_topic_arn:
        topic = SnsSink(settings.sns_topic_arn, sns_client)
    if not channels or not (settings.webhook_secret_arn or settings.teams_webhook_secret_arn):
        return topic
    from core.model.alerts import FanOutSink, Severity
    from core.report.webhook import channel_sinks

    channels_on: list[AlertSink] = list(
        channel_sinks(
            settings.webhook_secret_arn,
            settings.teams_webhook_secret_arn,
            webhook_min_severity=Severity[settings.webhook_min_severity.upper()],
            teams_min_severity=Severity[settings.teams_min_severity.upper()],
        )
    )
    if settings.alert_dlq_url:  # what a channel does not take is kept there (core.report.dead_letter)
        from core.aws.alert_queue import AlertQueueGateway
        from core.report.dead_letter import TEAMS, WEBHOOK, DeadLetteringSink

        queue = AlertQueueGateway(settings.alert_dlq_url)
        channels_on = [
            DeadLetteringSink(sink, WEBHOOK if getattr(sink, "what", "") == "webhook" else TEAMS, queue)
            for sink in channels_on
        ]
    return FanOutSink([topic, *channels_on])


__all__ = [
    "ENCRYPTED_TOPIC_KEY_PERMISSIONS",
    "REQUIRED_PERMISSIONS",
    "SnsSink",
    "sink_from_settings",
]
