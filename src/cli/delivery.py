"""Alert delivery from a workstation: ``--sns-topic-arn`` and ``--slack-webhook-url`` flags -> a sink.

The Slack message is the same Block Kit message the notifier Lambda posts (same renderer, same model).
A delivery failure raises ``DeliveryError`` from the sink; commands log it and carry on. The SNS and
Slack adapters are imported only when their flag is given.
"""

from __future__ import annotations

import argparse

from core.model.alerts import AlertSink, FanOutSink, RecordingSink
from core.model.errors import SettingsError


def add_delivery_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("alert delivery")
    group.add_argument("--sns-topic-arn", metavar="ARN", help="also publish the alerts to this SNS topic")
    group.add_argument(
        "--slack-webhook-url",
        metavar="URL",
        help="also post the alerts to this Slack incoming webhook (never printed or logged)",
    )


def sink_from_args(args: argparse.Namespace) -> tuple[RecordingSink, AlertSink]:
    """A recorder (the CLI reports what it alerted) plus the deliveries the flags ask for."""
    recorder = RecordingSink()
    sinks: list[AlertSink] = [recorder]
    topic = getattr(args, "sns_topic_arn", None)
    if topic:
        from core.model.settings import validate_setting
        from core.report.sns import SnsSink

        sinks.append(SnsSink(validate_setting("sns_topic_arn", topic)))
    webhook = getattr(args, "slack_webhook_url", None)
    if webhook:
        from core.report.slack import SlackWebhookSink

        try:
            sinks.append(SlackWebhookSink(webhook))
        except SettingsError as exc:
            raise SettingsError(f"--slack-webhook-url: {exc}") from None
    return recorder, FanOutSink(sinks)
