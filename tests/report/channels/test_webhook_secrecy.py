"""The Slack webhook URL is a credential: when an answer or an error carries it back, it is scrubbed
before it reaches an exception, a log line, the CLI's stderr or the notifier's failure.

Slack (or a proxy in front of it) may echo the URL in an error body; an HTTP library may put it in an
exception. Each test makes the answer carry the URL and checks that only ``<webhook>`` comes out.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.error import URLError

import boto3
import pytest
from moto import mock_aws
from tests.conftest import load_event
from tests.report.channels.conftest import SecretCheck, tamper_healed

from cli.main import main
from core.model.errors import DeliveryError
from core.report.slack import SlackWebhookSink
from demo.lambda_context import FakeLambdaContext
from demo.slack_receiver import Reply, SlackReceiver


def no_wait(_seconds: float) -> None:
    pass


@pytest.mark.parametrize("status", [400, 404, 500])
def test_an_error_body_echoing_the_url_is_scrubbed(
    receiver: SlackReceiver, webhook_kept_secret: SecretCheck, status: int
) -> None:
    receiver.script(*[Reply(status, f"invalid_payload for {receiver.url}")] * 3)

    with pytest.raises(DeliveryError) as caught:
        SlackWebhookSink(receiver.url, sleep=no_wait, backoff_base=0).send(tamper_healed())

    assert f"HTTP {status}" in str(caught.value)
    assert "<webhook>" in str(caught.value)  # the echo is still there, scrubbed: the reader learns why
    webhook_kept_secret(str(caught.value), repr(caught.value))


class _FailingClient:
    """What an HTTP library does when its error text names the URL it was asked for."""

    def __init__(self, url: str) -> None:
        self.url = url

    def send_dict(self, _payload: dict[str, Any]) -> Any:
        raise URLError(f"tunnel connection failed for {self.url}")


def test_a_transport_error_naming_the_url_is_scrubbed(
    receiver: SlackReceiver, webhook_kept_secret: SecretCheck
) -> None:
    sink = SlackWebhookSink(receiver.url, client=_FailingClient(receiver.url))

    with pytest.raises(DeliveryError, match="unreachable after retries") as caught:
        sink.send(tamper_healed())

    assert "<webhook>" in str(caught.value)
    webhook_kept_secret(str(caught.value), repr(caught.value))


def test_the_cli_reports_an_echoing_slack_without_the_url(
    receiver: SlackReceiver, account_with_a_user_without_mfa: None, webhook_kept_secret: SecretCheck
) -> None:
    receiver.script(Reply(403, f"invalid_token: {receiver.url}"))

    code = main(["audit", "--dry-run", "--format", "json", "--slack-webhook-url", receiver.url])

    assert code == 1
    searched = webhook_kept_secret()
    assert any("HTTP 403" in text and "<webhook>" in text for text in searched)  # stderr said why


@pytest.mark.usefixtures("lambda_metrics")
def test_the_notifier_fails_without_the_url_when_slack_echoes_it(
    receiver: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
    all_log_records: list[logging.LogRecord],
    webhook_kept_secret: SecretCheck,
) -> None:
    from aws_lambda_powertools.utilities import parameters

    from handlers.slack_notifier import lambda_handler

    receiver.script(Reply(410, f"no_service {receiver.url}"))
    parameters.clear_caches()
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name="iam-guard/slack-webhook", SecretString=receiver.url)["ARN"]
        monkeypatch.setenv("IAM_GUARD_SLACK_SECRET_ARN", arn)
        all_log_records.clear()  # storing the secret (test setup) is logged by botocore at debug level
        with pytest.raises(DeliveryError, match="HTTP 410") as caught:
            lambda_handler(load_event("sns-alert.json"), FakeLambdaContext("iam-guard-SlackNotifierFunction"))
    parameters.clear_caches()

    webhook_kept_secret(str(caught.value), repr(caught.value))
