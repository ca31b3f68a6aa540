"""SNS delivery through moto, read back from SQS subscriptions (raw message delivery off)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.report.channels.conftest import digest, tamper_healed

from core.model.alerts import RecordingSink
from core.model.errors import DeliveryError
from core.model.settings import build_settings
from core.report.envelope import alert_from_envelope
from core.report.sns import SnsSink, sink_from_settings

REGION = "us-east-1"


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic = sns.create_topic(Name="iam-guard-alerts")["TopicArn"]
        yield {"sns": sns, "sqs": sqs, "topic": topic}


def subscribe_queue(aws: dict[str, Any], name: str, filter_policy: dict[str, Any] | None = None) -> str:
    sqs, sns = aws["sqs"], aws["sns"]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attributes = {"RawMessageDelivery": "false"}
    if filter_policy is not None:
        attributes["FilterPolicy"] = json.dumps(filter_policy)
    sns.subscribe(TopicArn=aws["topic"], Protocol="sqs", Endpoint=arn, Attributes=attributes)
    return str(url)


def received(aws: dict[str, Any], queue_url: str) -> list[dict[str, Any]]:
    messages = aws["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_subscriber_gets_subject_text_body_and_attributes(aws: dict[str, Any]) -> None:
    queue = subscribe_queue(aws, "mail-like")
    alert = digest(4)
    SnsSink(aws["topic"], aws["sns"]).send(alert)
    [notification] = received(aws, queue)
    assert notification["Subject"] == "IAM Guard HIGH: IAM sweep: 4 need attention"
    body = notification["Message"]
    assert body.startswith("[HIGH] IAM sweep: 4 need attention\n")  # plain text, not JSON
    for item in alert.items:
        assert f"{item.subject}: {item.finding}" in body
    attributes = {k: v["Value"] for k, v in notification["MessageAttributes"].items()}
    assert attributes == {"type": "sweep-digest", "severity": "high"}


def test_filter_policy_on_severity_keeps_only_what_a_subscriber_asked_for(aws: dict[str, Any]) -> None:
    critical_only = subscribe_queue(aws, "critical-only", {"severity": ["critical"]})
    digests = subscribe_queue(aws, "digests", {"type": ["sweep-digest"]})
    sink = SnsSink(aws["topic"], aws["sns"])
    sink.send(tamper_healed())  # high, tamper-healed
    sink.send(digest(2))  # high, sweep-digest
    assert received(aws, critical_only) == []
    assert [n["MessageAttributes"]["type"]["Value"] for n in received(aws, digests)] == ["sweep-digest"]


def test_5000_users_publish_within_the_sns_limit(aws: dict[str, Any]) -> None:
    queue = subscribe_queue(aws, "big")
    SnsSink(aws["topic"], aws["sns"]).send(digest(5000, name_length=64))
    [notification] = received(aws, queue)
    assert "more not listed here" in notification["Message"]


def test_the_lambda_key_carries_the_alert_model(aws: dict[str, Any]) -> None:
    """What a lambda subscription receives: the ``lambda`` key of the published JSON structure."""
    published: list[dict[str, Any]] = []
    client = aws["sns"]
    client.meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: published.append(params)
    )
    SnsSink(aws["topic"], client).send(tamper_healed())
    [params] = published
    assert params["MessageStructure"] == "json"
    assert alert_from_envelope(json.loads(params["Message"])["lambda"]) == tamper_healed()


def test_publish_failure_is_a_delivery_error_naming_the_call() -> None:
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        missing = "arn:aws:sns:us-east-1:123456789012:no-such-topic"
        with pytest.raises(DeliveryError, match="alert not delivered to SNS: Publish failed: NotFound"):
            SnsSink(missing, sns).send(tamper_healed())


def test_functions_without_a_topic_record_alerts_in_memory() -> None:
    assert isinstance(sink_from_settings(build_settings(ip_restriction=False)), RecordingSink)
