"""The alert dead-letter queue on moto's SQS: what Teams or the signed webhook did not take is kept there
without the URL or the signing key, the other channels are unaffected, and ``iam-guard redrive-alerts``
re-sends it (signed anew) and empties the queue only once delivered."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.report.channels.conftest import tamper_healed
from tests.report.channels.test_signed_webhook import KEY, Receiver, verify

from cli.main import main
from core.model.errors import DeliveryError
from core.report.envelope import alert_envelope
from core.report.webhook import SignedWebhookSink, TeamsWebhookSink

ACCOUNT = "123456789012"
EXTRAS = ("channel", "error", "failed_at")


@pytest.fixture
def hook() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def teams() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The channels' retries without their waits (the attempts are the same)."""
    for sink in (SignedWebhookSink, TeamsWebhookSink):
        defaults = dict(sink.__init__.__kwdefaults__ or {})
        defaults.update(sleep=lambda _: None, backoff_base=0.0)
        monkeypatch.setattr(sink.__init__, "__kwdefaults__", defaults)


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    """moto: the alert DLQ, the alert topic with a queue subscribed (to see what SNS delivered)."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        sns = boto3.client("sns", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="iam-guard_alert-dlq")["QueueUrl"]
        inbox = sqs.create_queue(QueueName="topic-inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        topic = sns.create_topic(Name="iam-guard_alerts")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
        yield {"sqs": sqs, "dlq": dlq, "inbox": inbox, "topic": topic}


def secret(name: str, value: dict[str, str]) -> str:
    client = boto3.client("secretsmanager", region_name="us-east-1")
    return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])


def channel_sink(monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    """The enforcer's and the sweep's sink (handlers.common.channel_sink), from the stack's variables."""
    from handlers.common import channel_sink as build
    from handlers.common import reset_caches

    for name, value in {"IAM_GUARD_IP_RESTRICTION": "false", **env}.items():
        monkeypatch.setenv(name, value)
    reset_caches()
    return build()


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return list(found.get("Messages") or [])


def queued(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def fail_webhook(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], hook: Receiver, teams: Receiver
) -> tuple[str, str, DeliveryError]:
    """A webhook answering 500 to every attempt, Teams healthy; one alert through the functions' sink."""
    hook.replies = [(500, {})] * 4
    webhook_arn = secret("iam-guard/webhook", {"url": hook.url, "signing_key": KEY})
    teams_arn = secret("iam-guard/teams", {"url": teams.url})
    sink = channel_sink(
        monkeypatch,
        IAM_GUARD_SNS_TOPIC_ARN=aws["topic"],
        IAM_GUARD_WEBHOOK_SECRET_ARN=webhook_arn,
        IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN=teams_arn,
        IAM_GUARD_ALERT_DLQ_URL=aws["dlq"],
    )
    with pytest.raises(DeliveryError) as caught:
        sink.send(tamper_healed())
    return webhook_arn, teams_arn, caught.value


def test_after_the_retries_the_envelope_is_in_the_dlq_without_secrets_and_the_others_delivered(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    _, _, error = fail_webhook(monkeypatch, aws, hook, teams)

    assert "webhook delivery failed after 4 attempt(s): HTTP 500" in str(error)
    assert len(hook.requests) == 4  # the first try and 3 retries
    assert len(teams.requests) == 1  # Teams unaffected
    assert len(drain(aws["sqs"], aws["inbox"])) == 1  # SNS (and Slack behind it) unaffected
    (message,) = drain(aws["sqs"], aws["dlq"])
    record = json.loads(message["Body"])
    assert record["channel"] == "webhook"
    assert record["error"] == "webhook delivery failed after 4 attempt(s): HTTP 500"
    assert record["failed_at"].endswith("Z")
    assert abs(time.time() - _epoch(record["failed_at"])) < 60
    # the same JSON the webhook received, plus the three fields
    _, body = hook.requests[0]
    assert {k: v for k, v in record.items() if k not in EXTRAS} == json.loads(body)
    for text in (message["Body"], str(error), ours(caplog)):
        assert "SeCrEt" not in text  # the URL's secret path
        assert KEY not in text
        assert "127.0.0.1" not in text


def test_a_failing_teams_is_dead_lettered_as_teams(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], hook: Receiver, teams: Receiver, no_backoff: None
) -> None:
    teams.replies = [(404, {})]
    sink = channel_sink(
        monkeypatch,
        IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN=secret("iam-guard/teams", {"url": teams.url}),
        IAM_GUARD_ALERT_DLQ_URL=aws["dlq"],
    )
    with pytest.raises(DeliveryError, match="Teams webhook delivery failed after 1 attempt"):
        sink.send(tamper_healed())
    (message,) = drain(aws["sqs"], aws["dlq"])
    record = json.loads(message["Body"])
    assert record["channel"] == "teams"
    assert {k: v for k, v in record.items() if k not in EXTRAS} == json.loads(alert_envelope(tamper_healed()))


def test_a_dlq_that_fails_too_is_logged_and_reported_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    hook.replies = [(500, {})] * 4
    sink = channel_sink(
        monkeypatch,
        IAM_GUARD_SNS_TOPIC_ARN=aws["topic"],
        IAM_GUARD_WEBHOOK_SECRET_ARN=secret("iam-guard/webhook", {"url": hook.url, "signing_key": KEY}),
        IAM_GUARD_ALERT_DLQ_URL=f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard_gone-dlq",
    )
    with pytest.raises(DeliveryError) as caught:
        sink.send(tamper_healed())

    message = str(caught.value)
    assert message.startswith(
        "webhook delivery failed after 4 attempt(s): HTTP 500; and not kept in the alert"
    )
    assert "SendMessage" in message
    assert "alert not dead-lettered" in ours(caplog)
    assert len(drain(aws["sqs"], aws["inbox"])) == 1  # SNS still delivered
    for text in (message, ours(caplog)):
        assert "SeCrEt" not in text
        assert KEY not in text


def test_without_a_dlq_nothing_is_kept_and_the_failure_is_as_before(
    monkeypatch: pytest.MonkeyPatch, aws: dict[str, Any], hook: Receiver, no_backoff: None
) -> None:
    hook.replies = [(500, {})] * 4
    sink = channel_sink(
        monkeypatch,
        IAM_GUARD_WEBHOOK_SECRET_ARN=secret("iam-guard/webhook", {"url": hook.url, "signing_key": KEY}),
        IAM_GUARD_ALERT_DLQ_URL="",
    )
    with pytest.raises(DeliveryError, match=r"^webhook delivery failed after 4 attempt"):
        sink.send(tamper_healed())
    assert drain(aws["sqs"], aws["dlq"]) == []


def ours(caplog: pytest.LogCaptureFixture) -> str:
    """What IAM Guard logged, every level (the AWS SDK's own debug lines echo the test's CreateSecret)."""
    sdk = ("botocore", "boto3", "urllib3", "moto")
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records if not r.name.startswith(sdk))


def redrive(*args: str) -> int:
    return main(["redrive-alerts", *args])


def test_redrive_with_a_healthy_receiver_delivers_a_verifiable_signature_and_empties_the_queue(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhook_arn, _, _ = fail_webhook(monkeypatch, aws, hook, teams)
    first_headers, first_body = hook.requests[0]
    hook.requests.clear()
    teams.requests.clear()
    time.sleep(1.1)  # the new signature's timestamp is a later second
    capsys.readouterr()

    code = redrive("--queue-url", aws["dlq"], "--webhook-secret-arn", webhook_arn, "--apply")
    out, err = capsys.readouterr()

    assert code == 0, err
    ((headers, body),) = hook.requests
    assert body == first_body  # the same envelope
    assert verify(headers, body, KEY, time.time())  # signed anew, fresh
    assert int(headers["x-iam-guard-timestamp"]) > int(first_headers["x-iam-guard-timestamp"])
    assert not verify(headers, body, "another-key", time.time())
    assert teams.requests == []  # Teams had taken it the first time
    assert queued(aws["sqs"], aws["dlq"]) == 0
    result = json.loads(out)
    assert result["dry_run"] is False
    assert result["counts"] == {"delivered": 1, "would-redrive": 0, "failed": 0, "unreadable": 0}
    assert result["messages"][0]["channel"] == "webhook"
    assert result["messages"][0]["title"] == tamper_healed().title
    assert "SeCrEt" not in out + err
    assert KEY not in out + err


def test_redrive_without_apply_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhook_arn, _, _ = fail_webhook(monkeypatch, aws, hook, teams)
    hook.requests.clear()
    capsys.readouterr()

    code = redrive("--queue-url", aws["dlq"], "--webhook-secret-arn", webhook_arn)
    out, err = capsys.readouterr()

    assert code == 0, err
    assert hook.requests == []
    result = json.loads(out)
    assert result["dry_run"] is True
    assert result["queued"] == 1
    assert [m["status"] for m in result["messages"]] == ["would-redrive"]
    # still there, and visible at once (read with a visibility timeout of 0)
    assert len(drain(aws["sqs"], aws["dlq"])) == 1


def test_redrive_to_a_still_failing_receiver_keeps_the_message_and_exits_1(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhook_arn, _, _ = fail_webhook(monkeypatch, aws, hook, teams)
    hook.replies = [(503, {})] * 4
    capsys.readouterr()

    code = redrive("--queue-url", aws["dlq"], "--webhook-secret-arn", webhook_arn, "--apply")
    out, _ = capsys.readouterr()

    assert code == 1
    (message,) = json.loads(out)["messages"]
    assert message["status"] == "failed"
    assert "HTTP 503" in message["error"]
    assert queued(aws["sqs"], aws["dlq"]) == 1  # not deleted


def test_a_forged_message_is_not_signed_or_deleted(
    aws: dict[str, Any], hook: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    webhook_arn = secret("iam-guard/webhook", {"url": hook.url, "signing_key": KEY})
    aws["sqs"].send_message(QueueUrl=aws["dlq"], MessageBody='{"sign": "this for me", "channel": "webhook"}')

    code = redrive("--queue-url", aws["dlq"], "--webhook-secret-arn", webhook_arn, "--apply")
    out, _ = capsys.readouterr()

    assert code == 1
    assert [m["status"] for m in json.loads(out)["messages"]] == ["unreadable"]
    assert hook.requests == []
    assert queued(aws["sqs"], aws["dlq"]) == 1


@pytest.mark.parametrize(
    "url",
    [
        "not-a-url",
        "https://sqs.us-east-1.amazonaws.com/123/iam-guard_alert-dlq",  # no account
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard_enforcer-dlq",  # another queue of ours
        f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/other_alert-dlq",  # no such queue
    ],
)
def test_a_bad_queue_url_is_one_line_and_exit_2(
    url: str, aws: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code = redrive("--queue-url", url, "--apply", "--webhook-secret-arn", secret("hook", {"url": "x"}))
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("iam-guard redrive-alerts: --queue-url")


def test_redrive_from_the_stack_reads_its_queue_and_secrets(
    monkeypatch: pytest.MonkeyPatch,
    aws: dict[str, Any],
    hook: Receiver,
    teams: Receiver,
    no_backoff: None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    webhook_arn, teams_arn, _ = fail_webhook(monkeypatch, aws, hook, teams)
    hook.requests.clear()
    template = {
        "Parameters": {"WebhookSecretArn": {"Type": "String"}, "TeamsWebhookSecretArn": {"Type": "String"}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"AlertDeadLetterQueueUrl": {"Value": aws["dlq"]}},
    }
    boto3.client("cloudformation", region_name="us-east-1").create_stack(
        StackName="iam-guard",
        TemplateBody=json.dumps(template),
        Parameters=[
            {"ParameterKey": "WebhookSecretArn", "ParameterValue": webhook_arn},
            {"ParameterKey": "TeamsWebhookSecretArn", "ParameterValue": teams_arn},
        ],
    )
    capsys.readouterr()

    code = redrive("--from-stack", "iam-guard", "--apply")
    out, err = capsys.readouterr()

    assert code == 0, err
    assert json.loads(out)["queue_url"] == aws["dlq"]
    ((headers, body),) = hook.requests
    assert verify(headers, body, KEY, time.time())
    assert queued(aws["sqs"], aws["dlq"]) == 0


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_redrive_works_through_more_than_one_batch_to_each_channel_and_stops_at_max_messages(
    aws: dict[str, Any], hook: Receiver, teams: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime

    from core.report.dead_letter import dead_letter_body

    now = datetime.now(UTC)
    for channel in ["webhook"] * 11 + ["teams"]:
        body = dead_letter_body(tamper_healed(), channel, "HTTP 500", now)
        aws["sqs"].send_message(QueueUrl=aws["dlq"], MessageBody=body)
    webhook_arn = secret("iam-guard/webhook", {"url": hook.url, "signing_key": KEY})
    teams_arn = secret("iam-guard/teams", {"url": teams.url})
    flags = [
        "--queue-url",
        aws["dlq"],
        "--webhook-secret-arn",
        webhook_arn,
        "--teams-webhook-secret-arn",
        teams_arn,
    ]

    assert redrive(*flags, "--apply", "--max-messages", "5") == 0
    assert queued(aws["sqs"], aws["dlq"]) == 12 - 5
    capsys.readouterr()
    assert redrive(*flags, "--apply") == 0
    result = json.loads(capsys.readouterr().out)

    assert result["counts"]["delivered"] == 7
    assert queued(aws["sqs"], aws["dlq"]) == 0
    assert len(hook.requests) + len(teams.requests) == 12
    assert len(teams.requests) == 1
    assert all(verify(h, b, KEY, time.time()) for h, b in hook.requests)
    assert all(b == alert_envelope(tamper_healed()).encode() for _, b in hook.requests)
    assert json.loads(teams.requests[0][1])["type"] == "message"  # the Adaptive Card, not the envelope


def test_an_error_naming_a_url_is_kept_without_it() -> None:
    from datetime import UTC, datetime

    from core.report.dead_letter import dead_letter_body, read_dead_letter

    body = dead_letter_body(
        tamper_healed(),
        "webhook",
        "POST https://hooks.example.com/SeCrEt failed\nsecond line",
        datetime.now(UTC),
    )
    letter = read_dead_letter(body)
    assert letter.error == "POST <url hidden> failed"
    assert "SeCrEt" not in body
    assert letter.alert == tamper_healed()


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        json.dumps({"schema": "iam-guard.alert.v1", "alert": {}, "channel": "webhook"}),  # no alert in it
        json.dumps({**json.loads(alert_envelope(tamper_healed())), "channel": "email"}),  # unknown channel
        json.dumps({**json.loads(alert_envelope(tamper_healed())), "channel": "webhook", "schema": "x"}),
    ],
)
def test_what_is_not_a_dead_lettered_alert_is_refused_in_one_line(body: str) -> None:
    from core.model.errors import InvalidEventError
    from core.report.dead_letter import read_dead_letter

    with pytest.raises(InvalidEventError) as caught:
        read_dead_letter(body)
    assert len(str(caught.value).splitlines()) == 1


@pytest.mark.parametrize("value", ["0", "1001", "abc", "²", "-3"])
def test_a_bad_message_count_is_one_line_and_exit_2(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/iam-guard_alert-dlq"
    with pytest.raises(SystemExit) as exited:
        redrive("--queue-url", url, "--max-messages", value)
    out, err = capsys.readouterr()
    assert exited.value.code == 2
    assert out == ""
    assert "--max-messages" in err.strip().splitlines()[-1]
    assert "_count" not in err  # the reason, not the validator's name
