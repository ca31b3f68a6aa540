"""Alert delivery from a workstation: ``--sns-topic-arn`` and ``--slack-webhook-url`` flags -> a sink.

The Slack message is the same Block Kit message the notifier Lambda posts (same renderer, same model).
A delivery failure raises ``DeliveryError`` from the sink; commands log it and carry on. The SNS and
Slack adapters are imported only when their flag is given.
"""

from __future__ import annotations

import argparse

from core.model.alerts import AlertSink, FanOutSink, RecordingSink
from core.model.errors import SettingsError

SEVERITIES = ("info", "low", "medium", "high", "critical")


def add_delivery_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("alert delivery")
    group.add_argument("--sns-topic-arn", metavar="ARN", help="also publish the alerts to this SNS topic")
    group.add_argument(
        "--slack-webhook-url",
        metavar="URL",
        help="also post the alerts to this Slack incoming webhook (never printed or logged)",
    )
    group.add_argument(
        "--webhook-secret-arn",
        metavar="ARN",
        help="also POST the alerts, signed, to the webhook in this Secrets Manager secret "
        '(JSON {"url": ..., "signing_key": ...}; never printed)',
    )
    group.add_argument(
        "--webhook-min-severity",
        choices=SEVERITIES,
        default="info",
        help="send only alerts at least this severe to the signed webhook (default info)",
    )
    group.add_argument(
        "--teams-webhook-secret-arn",
        metavar="ARN",
        help="also post the alerts as Adaptive Cards to the Teams Workflows webhook in this secret "
        '(JSON {"url": ...}; never printed)',
    )
    group.add_argument(
        "--teams-min-severity",
        choices=SEVERITIES,
        default="info",
        help="send only alerts at least this severe to Teams (default info)",
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
    sinks += _webhook_sinks(args)
    return recorder, FanOutSink(sinks)


def _webhook_sinks(args: argparse.Namespace) -> list[AlertSink]:
    """The signed webhook and Teams, each from its secret (read once, now; values never printed)."""
    found: list[AlertSink] = []
    webhook_arn = getattr(args, "webhook_secret_arn", None)
    teams_arn = getattr(args, "teams_webhook_secret_arn", None)
    if not (webhook_arn or teams_arn):
        return found
    from core.model.alerts import Severity
    from core.model.settings import validate_setting
    from core.report.webhook import SignedWebhookSink, TeamsWebhookSink, secret_fields

    if webhook_arn:
        arn = validate_setting("webhook_secret_arn", webhook_arn)
        secret = secret_fields(arn, ("url", "signing_key"), "a webhook")
        minimum = Severity[args.webhook_min_severity.upper()]
        found.append(SignedWebhookSink(secret["url"], secret["signing_key"], min_severity=minimum))
    if teams_arn:
        arn = validate_setting("teams_webhook_secret_arn", teams_arn)
        secret = secret_fields(arn, ("url",), "a Teams webhook")
        found.append(TeamsWebhookSink(secret["url"], min_severity=Severity[args.teams_min_severity.upper()]))
    return found
