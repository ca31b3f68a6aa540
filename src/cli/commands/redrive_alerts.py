"""``iam-guard redrive-alerts (--queue-url URL | --from-stack NAME) [--apply]``: re-send kept alerts.

The alerts Teams or the signed webhook did not take after their retries wait in the stack's alert
dead-letter queue (``<stack>_alert-dlq``, ``core.report.dead_letter``). This re-sends each to its channel
(the webhook's signed anew, with a fresh timestamp) and deletes it only once delivered. Read-only unless
``--apply``: without it the messages are listed (read with a visibility timeout of 0, so nothing is held,
sent or deleted). ``--from-stack`` takes the queue (output ``AlertDeadLetterQueueUrl``) and the channels'
secrets (``WebhookSecretArn``, ``TeamsWebhookSecretArn``) from the deployed stack; the flags override.

Prints one JSON object; exit 0 every message listed or delivered, 1 an AWS failure or a message not
delivered (it stays in the queue), 2 bad input (a malformed queue URL, no such queue, not an alert DLQ).
The webhook's URL and signing key are never printed.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from typing import Any

from cli.options import add_aws_arguments, add_from_stack_argument, whole_number
from core.model.alerts import AlertSink
from core.model.errors import AwsError, InvalidInputError

QUEUE_OUTPUT = "AlertDeadLetterQueueUrl"
MAX_MESSAGES = 1000
# The AWS answers for a queue that is not there (JSON and query protocols).
NO_SUCH_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--queue-url", metavar="URL", help="the alert dead-letter queue (<stack>_alert-dlq)")
    parser.add_argument(
        "--apply",
        action="store_true",
        help="re-send the alerts and delete each one delivered; without it nothing is sent or deleted",
    )
    parser.add_argument(
        "--max-messages",
        type=_count,
        default=100,
        metavar="N",
        help=f"handle at most N messages (1-{MAX_MESSAGES}, default 100)",
    )
    group = parser.add_argument_group("channels (their secrets are read only with --apply)")
    group.add_argument(
        "--webhook-secret-arn",
        metavar="ARN",
        help='the signed webhook\'s secret (JSON {"url": ..., "signing_key": ...}; never printed)',
    )
    group.add_argument(
        "--teams-webhook-secret-arn", metavar="ARN", help='the Teams webhook\'s secret (JSON {"url": ...})'
    )
    add_from_stack_argument(parser)
    add_aws_arguments(parser)


def _count(text: str) -> int:
    return whole_number(text, 1, MAX_MESSAGES, "messages")


def run(args: argparse.Namespace) -> int:
    from cli.options import from_stack_name
    from core.aws.alert_queue import AlertQueueGateway
    from core.report.dead_letter import redrive

    queue_url, webhook_arn, teams_arn = args.queue_url, args.webhook_secret_arn, args.teams_webhook_secret_arn
    stack = from_stack_name(args)
    if stack is not None:
        parameters, outputs = _stack_facts(stack)
        queue_url = queue_url or outputs.get(QUEUE_OUTPUT, "").strip()
        webhook_arn = webhook_arn or parameters.get("WebhookSecretArn", "").strip() or None
        teams_arn = teams_arn or parameters.get("TeamsWebhookSecretArn", "").strip() or None
        if not queue_url:
            raise InvalidInputError(
                f"--from-stack {stack}: the stack has no {QUEUE_OUTPUT} output (neither Teams nor the "
                "webhook is on)"
            )
    if not queue_url:
        raise InvalidInputError("give --queue-url URL or --from-stack NAME")
    queue_url = _checked_queue_url(queue_url)
    sinks = _channel_builders(webhook_arn, teams_arn)
    if args.apply and not sinks:
        raise InvalidInputError("--apply needs a channel: --webhook-secret-arn or --teams-webhook-secret-arn")
    queue = AlertQueueGateway(queue_url)
    try:
        queued = queue.depth()  # is it there? (one line and exit 2 when not, before anything is read)
    except AwsError as exc:
        if exc.code in NO_SUCH_QUEUE:
            raise InvalidInputError(f"--queue-url: no such queue ({exc.aws_message or exc.code})") from None
        raise
    results = redrive(queue, sinks, apply=args.apply, max_messages=args.max_messages)
    counts = {
        status: sum(1 for r in results if r.status == status)
        for status in ("delivered", "would-redrive", "failed", "unreadable")
    }
    print(
        json.dumps(
            {
                "queue_url": queue_url,
                "dry_run": not args.apply,
                "queued": queued,
                "counts": counts,
                "messages": [r.to_dict() for r in results],
            },
            indent=2,
        )
    )
    return 1 if args.apply and (counts["failed"] or counts["unreadable"]) else 0


_QUEUE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,47}_alert-dlq$")


def _checked_queue_url(url: str) -> str:
    """An SQS queue URL of an IAM Guard alert dead-letter queue; one line (exit 2) otherwise."""
    from core.aws.alert_queue import queue_name
    from core.model.settings import QUEUE_URL

    text = url.strip()
    if not QUEUE_URL.match(text):
        raise InvalidInputError(
            f"--queue-url: {text!r} is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)"
        )
    if not _QUEUE_NAME.match(queue_name(text)):
        raise InvalidInputError(
            f"--queue-url: {queue_name(text)!r} is not an IAM Guard alert dead-letter queue "
            "(<stack>_alert-dlq)"
        )
    return text


def _stack_facts(stack: str) -> tuple[dict[str, str], dict[str, str]]:
    from core.aws.cloudformation import CloudFormationGateway

    try:
        facts = CloudFormationGateway().stack(stack)
    except AwsError as exc:
        if exc.code == "ValidationError":
            raise InvalidInputError(
                f"--from-stack {stack}: no such stack in us-east-1 ({exc.aws_message})"
            ) from None
        raise
    return dict(facts.parameters), dict(facts.outputs)


def _channel_builders(webhook_arn: str | None, teams_arn: str | None) -> dict[str, Callable[[], AlertSink]]:
    """Channel -> a builder of its sink (the secret read when the first message for it is re-sent);
    every alert is re-sent whatever its severity: it was routed to the channel the first time."""
    from core.model.settings import validate_setting
    from core.report.dead_letter import TEAMS, WEBHOOK
    from core.report.webhook import SignedWebhookSink, TeamsWebhookSink, secret_fields

    builders: dict[str, Callable[[], AlertSink]] = {}
    if webhook_arn:
        hook = validate_setting("webhook_secret_arn", webhook_arn)

        def webhook() -> Any:
            secret = secret_fields(hook, ("url", "signing_key"), "a webhook")
            return SignedWebhookSink(secret["url"], secret["signing_key"])

        builders[WEBHOOK] = webhook
    if teams_arn:
        teams_secret = validate_setting("teams_webhook_secret_arn", teams_arn)

        def teams() -> Any:
            secret = secret_fields(teams_secret, ("url",), "a Teams webhook")
            return TeamsWebhookSink(secret["url"])

        builders[TEAMS] = teams
    return builders
