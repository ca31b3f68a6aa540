"""`--slack-webhook-url` from a workstation: same Block Kit message; a failed alert never stops the run."""

from __future__ import annotations

import argparse

import pytest
from tests.report.channels.conftest import tamper_healed

from cli.delivery import add_delivery_arguments, sink_from_args
from cli.main import main
from core.model.alerts import FanOutSink, RecordingSink
from core.model.errors import SettingsError
from core.report.slack import SlackWebhookSink
from core.report.slack_blocks import slack_message
from demo.slack_receiver import Reply, SlackReceiver


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_delivery_arguments(parser)
    return parser.parse_args(list(argv))


def test_webhook_flag_adds_a_slack_sink_after_the_recorder(receiver: SlackReceiver) -> None:
    recorder, sink = sink_from_args(parse("--slack-webhook-url", receiver.url))
    assert isinstance(sink, FanOutSink)
    assert sink.sinks[0] is recorder
    assert isinstance(sink.sinks[1], SlackWebhookSink)
    sink.send(tamper_healed())
    assert recorder.alerts == [tamper_healed()]
    assert receiver.payloads() == [slack_message(tamper_healed())]


def test_no_flags_only_record() -> None:
    recorder, sink = sink_from_args(parse())
    assert isinstance(recorder, RecordingSink)
    assert isinstance(sink, FanOutSink)
    assert list(sink.sinks) == [recorder]


def test_a_bad_topic_flag_is_refused_before_anything_is_sent() -> None:
    parser = argparse.ArgumentParser()
    add_delivery_arguments(parser)
    args = parser.parse_args(["--sns-topic-arn", "arn:aws:sqs:us-east-1:123456789012:alerts"])
    with pytest.raises(SettingsError, match="is not an SNS topic ARN"):
        sink_from_args(args)


def test_a_bad_webhook_flag_is_a_one_line_error_without_the_value() -> None:
    with pytest.raises(SettingsError, match="--slack-webhook-url") as caught:
        sink_from_args(parse("--slack-webhook-url", "hooks.slack.com/services/TOKEN9"))
    assert "TOKEN9" not in str(caught.value)


def test_audit_posts_its_digest_to_slack(
    receiver: SlackReceiver, account_with_a_user_without_mfa: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["audit", "--dry-run", "--format", "json", "--slack-webhook-url", receiver.url])
    out, err = capsys.readouterr()
    assert code == 0, err
    [payload] = receiver.payloads()
    assert payload["blocks"][0]["type"] == "header"
    assert "hanako" in str(payload["blocks"])
    assert "SeCrEt" not in out + err


def test_audit_still_reports_when_slack_fails(
    receiver: SlackReceiver, account_with_a_user_without_mfa: None, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.script(Reply(404, "no_service"))
    code = main(["audit", "--dry-run", "--format", "json", "--slack-webhook-url", receiver.url])
    out, err = capsys.readouterr()
    assert code == 1  # an undelivered alert is an AWS-side failure for the audit
    assert "hanako" in out  # the result was printed all the same
    assert "HTTP 404" in err
    assert len(err.strip().splitlines()) == 1
    assert "SeCrEt" not in out + err
