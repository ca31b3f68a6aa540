"""Slack notifier Lambda: SNS alert topic -> Block Kit message -> Slack incoming webhook.

Subscribed to the alert topic with protocol ``lambda``; SnsSink publishes with ``MessageStructure="json"``
so this function receives the alert model as JSON (the ``lambda`` key) while email readers get text.

Reads one variable, ``IAM_GUARD_SLACK_SECRET_ARN``: the Secrets Manager secret holding the webhook URL
(fetched through Powertools Parameters, cached for 5 minutes). The guardrail's other settings are not this
function's business, so it does not require them. A delivery failure raises: SNS invokes asynchronously,
so Lambda retries twice and then sends the event to the function's dead-letter queue / on-failure
destination, and the alert is kept.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from core.model.errors import SettingsError
from core.model.metric_names import SLACK_DELIVERY_FAILED, SLACK_MESSAGES_POSTED
from core.model.settings import validate_setting
from core.model.validation import Fields, validated
from core.report.slack import SlackWebhookSink, SnsNotification, forward_to_slack, webhook_url_from_secret
from handlers.common import logger, metrics, trace_handler

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext

SECRET_ARN_VAR = "IAM_GUARD_SLACK_SECRET_ARN"  # noqa: S105 - the name of a variable, not a secret


def secret_arn() -> str:
    """The validated secret ARN (one-line error naming the variable when missing or malformed)."""
    raw = os.environ.get(SECRET_ARN_VAR, "").strip()
    if not raw:
        raise SettingsError(f"{SECRET_ARN_VAR} is not set: the notifier does not know where the webhook is")
    return str(validate_setting("slack_secret_arn", raw))


def sns_record(f: Fields) -> SnsNotification:
    """One record of an SNS event (the fields Lambda's SNS event always carries, and the ones we use)."""
    f.choice("EventSource", ("aws:sns",))
    f.text("EventSubscriptionArn")
    sns = f.required_record("Sns")
    sns.choice("Type", ("Notification",))
    sns.text("TopicArn")
    sns.required_timestamp("Timestamp")
    return SnsNotification(
        message_id=sns.text("MessageId"), subject=sns.optional_text("Subject"), message=sns.text("Message")
    )


def sns_event(f: Fields) -> list[SnsNotification]:
    return [sns_record(record) for record in f.records("Records", required=True)]


def notifications(event: dict[str, Any]) -> list[SnsNotification]:
    return validated(sns_event, event, "an SNS event")


@logger.inject_lambda_context
@metrics.log_metrics
@trace_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        received = notifications(event)
        sink = SlackWebhookSink(webhook_url_from_secret(secret_arn()))
        posted = forward_to_slack(received, sink)
    except Exception:
        metrics.add_metric(name=SLACK_DELIVERY_FAILED, unit=MetricUnit.Count, value=1)
        raise  # Lambda retries; then the dead-letter queue keeps the alert
    metrics.add_metric(name=SLACK_MESSAGES_POSTED, unit=MetricUnit.Count, value=posted)
    return {"posted": posted}
