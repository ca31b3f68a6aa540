"""The Slack notifier Lambda with events/sns-alert.json, Secrets Manager in moto, Slack on 127.0.0.1."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.conftest import load_event
from tests.report.channels.conftest import SecretCheck

from core.model.errors import DeliveryError, InvalidEventError, SettingsError
from core.report.envelope import alert_from_envelope
from core.report.slack_blocks import slack_message
from demo.lambda_context import FakeLambdaContext
from demo.slack_receiver import Reply, SlackReceiver

pytestmark = pytest.mark.usefixtures("lambda_metrics")


@pytest.fixture
def secret_arn(receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from aws_lambda_powertools.utilities import parameters

    parameters.clear_caches()  # a new 'container' per test
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="iam-guard/slack-webhook", SecretString=receiver.url)["ARN"]
        monkeypatch.setenv("IAM_GUARD_SLACK_SECRET_ARN", arn)
        yield str(arn)
    parameters.clear_caches()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler builds its own sink: shrink the backoff so the retry tests take milliseconds."""
    import core.report.slack

    monkeypatch.setattr(core.report.slack, "BACKOFF_BASE", 0.001)


def invoke(event: dict[str, Any]) -> Any:
    from handlers.slack_notifier import lambda_handler

    return lambda_handler(event, FakeLambdaContext("iam-guard-SlackNotifierFunction"))


def test_sample_event_becomes_the_block_kit_message_of_its_alert(
    receiver: SlackReceiver, secret_arn: str
) -> None:
    event = load_event("sns-alert.json")
    alert = alert_from_envelope(event["Records"][0]["Sns"]["Message"])
    assert alert is not None
    assert invoke(event) == {"posted": 1}
    assert receiver.payloads() == [slack_message(alert)]


def test_a_message_that_is_not_an_envelope_is_posted_as_text(
    receiver: SlackReceiver, secret_arn: str
) -> None:
    event = load_event("sns-alert.json")
    event["Records"][0]["Sns"].update(Subject="Budget alarm", Message="Spend is over 80%.")
    invoke(event)
    [payload] = receiver.payloads()
    assert payload["blocks"][0]["text"]["text"] == "Budget alarm"
    assert "Spend is over 80%." in payload["blocks"][1]["text"]["text"]


@pytest.mark.parametrize(
    "message",
    ["[" * 100_000 + "]" * 100_000, '{"schema": "iam-guard-alert/1", "alert": ' + "[" * 100_000],
    ids=["deeply-nested-json", "truncated-deep-envelope"],
)
def test_a_hostile_message_is_posted_as_text_never_a_traceback(
    receiver: SlackReceiver, secret_arn: str, message: str
) -> None:
    """Whoever may publish to the topic can send anything: it is shown, never crashes the notifier."""
    event = load_event("sns-alert.json")
    event["Records"][0]["Sns"]["Message"] = message

    assert invoke(event) == {"posted": 1}
    assert len(receiver.payloads()) == 1


def test_secret_may_hold_json_with_a_url_key(receiver: SlackReceiver, secret_arn: str) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=secret_arn, SecretString=json.dumps({"url": receiver.url})
    )
    invoke(load_event("sns-alert.json"))
    assert len(receiver.payloads()) == 1


def test_slack_failure_fails_the_invocation_so_lambda_retries(
    receiver: SlackReceiver,
    secret_arn: str,
    all_log_records: list[logging.LogRecord],
    webhook_kept_secret: SecretCheck,
) -> None:
    receiver.script(Reply(403, "invalid_token"))
    with pytest.raises(DeliveryError, match="HTTP 403") as caught:
        invoke(load_event("sns-alert.json"))
    failures = [r for r in all_log_records if r.getMessage() == "slack delivery failed"]
    assert [r.__dict__.get("status") for r in failures] == [403]  # the status is in the function's log
    webhook_kept_secret(str(caught.value))


def test_server_errors_are_retried_then_fail(
    receiver: SlackReceiver, secret_arn: str, fast_retries: None
) -> None:
    receiver.script(*[Reply(502, "bad_gateway")] * 5)
    with pytest.raises(DeliveryError, match="HTTP 502"):
        invoke(load_event("sns-alert.json"))
    assert len(receiver.payloads()) == 3


def test_malformed_event_is_a_one_line_error(receiver: SlackReceiver, secret_arn: str) -> None:
    with pytest.raises(InvalidEventError, match="not an SNS event"):
        invoke({"Records": [{"EventSource": "aws:s3"}]})
    assert receiver.payloads() == []


def test_missing_secret_setting_says_which_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IAM_GUARD_SLACK_SECRET_ARN", raising=False)
    with pytest.raises(SettingsError, match="IAM_GUARD_SLACK_SECRET_ARN is not set"):
        invoke(load_event("sns-alert.json"))


def test_a_secret_setting_that_is_not_a_secret_arn_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_GUARD_SLACK_SECRET_ARN", "arn:aws:ssm:us-east-1:123456789012:parameter/slack")
    with pytest.raises(SettingsError, match="is not a Secrets Manager secret ARN"):
        invoke(load_event("sns-alert.json"))


def test_unreadable_secret_is_a_delivery_error_naming_the_secret(
    secret_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = secret_arn.replace("slack-webhook", "nope")
    monkeypatch.setenv("IAM_GUARD_SLACK_SECRET_ARN", missing)
    with pytest.raises(DeliveryError, match="cannot read the Slack webhook secret"):
        invoke(load_event("sns-alert.json"))


def test_a_secret_that_is_not_a_url_is_refused_without_showing_it(secret_arn: str) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").put_secret_value(
        SecretId=secret_arn, SecretString="xoxb-not-a-webhook"
    )
    with pytest.raises(SettingsError) as caught:
        invoke(load_event("sns-alert.json"))
    assert "xoxb" not in str(caught.value)


def test_cloudwatch_alarm_on_the_topic_is_posted_readably(receiver: SlackReceiver, secret_arn: str) -> None:
    event = load_event("sns-cloudwatch-alarm.json")
    alarm = json.loads(event["Records"][0]["Sns"]["Message"])
    invoke(event)
    [payload] = receiver.payloads()
    header = payload["blocks"][0]["text"]["text"]
    assert header == f":rotating_light: ALARM: {alarm['AlarmName']}"
    body = payload["blocks"][1]["text"]["text"]
    assert alarm["AlarmDescription"] in body
    assert alarm["NewStateReason"] in body
