"""The Lambda entry point, invoked with the events/ samples and a fake Lambda context."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from tests.conftest import EVENTS_DIR
from tests.enforce.conftest import GROUP, fast_retrier, make_settings, sample
from tests.harness.answers import fail_transport, network_errors
from tests.harness.metrics import EmittedMetrics

from core.aws.iam import IamGateway, default_iam_client
from core.guardrail.apply import ensure_guardrail
from core.model.errors import ThrottledError, UnavailableError
from core.model.metric_names import ENFORCEMENT_FAILED
from demo.lambda_context import FakeLambdaContext
from handlers import common, enforcer

ENFORCER_ROLE = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_enforcer"

EXPECTED_ACTIONS = {
    "create-user": "enrolled",
    "create-user-tagged": "enrolled",
    "create-user-exempt": "exempt",
    "create-access-key": "already-enrolled",  # dev-bob was enrolled by create-user just before
    "create-access-key-self": "enrolled",
    "create-access-key-root": "root-key-alerted",
    "create-login-profile": "already-enrolled",
    "upload-ssh-public-key": "already-enrolled",
    "upload-signing-certificate": "already-enrolled",
    "create-service-specific-credential": "already-enrolled",
    "reset-service-specific-credential": "already-enrolled",
    "remove-user-from-group": "healed",
    "detach-group-policy": "intact",  # the sample describes a detach that did not happen here
    "create-policy-version": "intact",
    "set-default-policy-version": "intact",
    "delete-policy-version": "intact",
    "delete-group": "intact",
    "delete-policy": "intact",
    "tag-user-exempt": "already-enrolled",  # dev-bob does not actually carry the tag
    "untag-user-exempt": "exempt",  # breakglass-admin still carries it
    "failed-call": "ignored",
    "own-role": "ignored",
    # The leaked-key samples name a key and a user moto does not hold (tests/enforce/test_leaked_key.py).
    "health-credentials-exposed": "leaked-key-alerted",
    "health-iam-quarantine": "leaked-key-alerted",
    "detach-quarantine-policy": "user-not-found",
    # ManagePasswordPolicy is off here (tests/enforce/test_password_policy.py turns it on).
    "update-account-password-policy": "ignored",
    "delete-account-password-policy": "ignored",
    "assume-root": "root-session-alerted",
    # GuardDutyFindings is off by default (tests/enforce/test_guardduty.py turns it on).
    "guardduty-malicious-ip-caller": "ignored",
}


def context() -> FakeLambdaContext:
    return FakeLambdaContext("iam-guard-EnforcerFunction-7Yx2kQ")


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics) -> Iterator[Any]:
    """A fresh container: IAM_GUARD_* environment, empty caches, moto IAM with the guardrail deployed."""
    monkeypatch.setenv("IAM_GUARD_ALLOWED_CIDRS", "203.0.113.0/24")
    monkeypatch.setenv("IAM_GUARD_OWN_ROLE_ARNS", ENFORCER_ROLE)
    common.reset_caches()
    enforcer.guardrail_cache.cache_clear()
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        ensure_guardrail(IamGateway(client), make_settings(), "123456789012")
        for user in ("dev-bob", "dev-carol", "dev-dave"):
            client.create_user(UserName=user)
        client.create_user(UserName="breakglass-admin", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
        yield client
    common.reset_caches()
    enforcer.guardrail_cache.cache_clear()


def test_every_sample_event_is_handled(lambda_env: Any) -> None:
    names = sorted(
        p.name.removeprefix("enforcer-").removesuffix(".json") for p in EVENTS_DIR.glob("enforcer-*.json")
    )
    assert names == sorted(EXPECTED_ACTIONS)
    order = list(EXPECTED_ACTIONS)  # dict order: creations first, tampering after
    for name in order:
        if name == "remove-user-from-group":
            lambda_env.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")
        outcome = enforcer.lambda_handler(sample(name), context())
        assert outcome["action"] == EXPECTED_ACTIONS[name], (name, outcome)
        json.dumps(outcome)  # the result is plain JSON
    groups = lambda_env.get_group(GroupName=GROUP)["Users"]
    assert sorted(u["UserName"] for u in groups) == ["dev-bob", "dev-carol", "dev-dave"]


def test_the_custom_resource_tearing_the_group_down_is_not_undone(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stack deletion / group rename: the custom resource's role empties our group; nobody is put back."""
    deployer = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_policy-resource"
    monkeypatch.setenv("IAM_GUARD_OWN_ROLE_ARNS", f"{ENFORCER_ROLE}, {deployer}")
    lambda_env.add_user_to_group(GroupName=GROUP, UserName="dev-bob")
    lambda_env.remove_user_from_group(GroupName=GROUP, UserName="dev-bob")
    event = sample("remove-user-from-group")
    event["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/iam-guard/iam-guard/iam-guard_policy-resource/session",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": deployer}},
    }

    outcome = enforcer.lambda_handler(event, context())

    assert outcome["action"] == "ignored"
    assert lambda_env.get_group(GroupName=GROUP)["Users"] == []
    # The same event by a person is healed: the ignore rule is about the caller, nothing else.
    assert enforcer.lambda_handler(sample("remove-user-from-group"), context())["action"] == "healed"


@dataclass
class Topic:
    """The stack's alert topic on moto, with an SQS subscription standing in for an email reader."""

    arn: str
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        found = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in found]


@pytest.fixture
def topic(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> Topic:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    arn = sns.create_topic(Name="iam-guard-AlertTopic")["TopicArn"]  # the name the stack gives it
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=attributes["QueueArn"])
    monkeypatch.setenv("IAM_GUARD_SNS_TOPIC_ARN", arn)
    common.reset_caches()
    return Topic(arn, queue)


def failure_alerts(topic: Topic) -> list[str]:
    return [
        m["Subject"]
        for m in topic.messages()
        if m["MessageAttributes"]["type"]["Value"] == "enforcement-failed"
    ]


def test_malformed_event_alerts_counts_and_is_not_retried(
    topic: Topic, lambda_metrics: EmittedMetrics
) -> None:
    outcome = enforcer.lambda_handler({"hello": "world"}, context())

    assert outcome["action"] == "failed"
    assert outcome["reason"].startswith("not an EventBridge event:")
    assert outcome["delivery_errors"] == []
    [subject] = failure_alerts(topic)
    assert "Enforcement failed" in subject
    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1


def test_an_event_naming_no_user_alerts_once(topic: Topic, lambda_metrics: EmittedMetrics) -> None:
    event = sample("create-user", requestParameters={}, responseElements=None)

    outcome = enforcer.lambda_handler(event, context())

    assert outcome["action"] == "failed"
    assert "names no user" in outcome["reason"]
    assert len(failure_alerts(topic)) == 1
    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1


def test_invalid_settings_still_alert_through_a_valid_topic_setting(
    topic: Topic, monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics
) -> None:
    monkeypatch.delenv("IAM_GUARD_ALLOWED_CIDRS")  # no allowed network: the settings are invalid
    common.reset_caches()

    outcome = enforcer.lambda_handler(sample("create-user"), context())

    assert outcome["action"] == "failed"
    assert "no allowed network" in outcome["reason"]
    [body] = [m for m in topic.messages() if m["MessageAttributes"]["type"]["Value"] == "enforcement-failed"]
    assert "no allowed network" in body["Message"]
    assert "Fix the stack's parameters" in body["Message"]
    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1
    assert lambda_env_groups("dev-bob") == []  # nothing was enforced


def lambda_env_groups(user: str) -> list[str]:
    client = boto3.client("iam", region_name="us-east-1")
    return [g["GroupName"] for g in client.list_groups_for_user(UserName=user)["Groups"]]


def test_invalid_settings_and_no_valid_topic_fail_without_alert_or_retry(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics
) -> None:
    monkeypatch.delenv("IAM_GUARD_ALLOWED_CIDRS")
    monkeypatch.setenv("IAM_GUARD_SNS_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:not-a-topic")
    common.reset_caches()

    outcome = enforcer.lambda_handler(sample("create-user"), context())

    assert outcome["action"] == "failed"
    assert outcome["delivery_errors"] == ["no valid alert destination (IAM_GUARD_SNS_TOPIC_ARN)"]
    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1


def test_a_missing_permission_alerts_once_counts_and_is_not_retried(
    topic: Topic, monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics
) -> None:
    client = boto3.client("iam", region_name="us-east-1")

    def denied(model: Any, **_: Any) -> None:  # IAM refuses every call: the role lacks the permissions
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized"}}, model.name)

    client.meta.events.register("before-call.iam", denied)
    monkeypatch.setattr(enforcer, "iam", lambda: IamGateway(client, retrier=fast_retrier()))

    outcome = enforcer.lambda_handler(sample("create-user"), context())

    assert outcome["action"] == "failed"
    assert "failed: AccessDenied: not authorized" in outcome["reason"]
    assert len(failure_alerts(topic)) == 1  # sent by the core, not twice
    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1


@pytest.mark.parametrize("name", sorted(network_errors()))
def test_a_network_failure_that_outlives_our_retries_is_raised_for_a_lambda_retry(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics, name: str
) -> None:
    client = default_iam_client()
    fail_transport(client, "GetUser", *[network_errors()[name]] * 10)
    monkeypatch.setattr(enforcer, "iam", lambda: IamGateway(client, retrier=fast_retrier()))

    with pytest.raises(UnavailableError, match=f"GetUser failed: {name}"):
        enforcer.lambda_handler(sample("create-user"), context())

    assert lambda_metrics.total(ENFORCEMENT_FAILED) == 1


def test_throttling_that_outlives_our_retries_is_raised_for_a_lambda_retry(
    lambda_env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("iam", region_name="us-east-1")

    def throttle(model: Any, **_: Any) -> None:
        from botocore.exceptions import ClientError

        raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, model.name)

    client.meta.events.register("before-call.iam.GetUser", throttle)
    monkeypatch.setattr(enforcer, "iam", lambda: IamGateway(client, retrier=fast_retrier()))
    with pytest.raises(ThrottledError, match="GetUser failed: Throttling"):
        enforcer.lambda_handler(sample("create-user"), context())


def test_warm_container_uses_the_cache(lambda_env: Any) -> None:
    first = enforcer.lambda_handler(sample("create-user"), context())
    second = enforcer.lambda_handler(sample("create-user-tagged"), context())
    assert (first["guardrail"], second["guardrail"]) == ("verified", "cached")


def test_alerts_reach_the_sns_topic(topic: Topic) -> None:
    outcome = enforcer.lambda_handler(sample("create-access-key-root"), context())
    assert outcome["delivery_errors"] == []
    (body,) = topic.messages()
    assert body["Subject"].endswith("Root user access key created")
    assert body["MessageAttributes"]["severity"]["Value"] == "critical"


def test_a_webhook_that_keeps_failing_is_dead_lettered_and_the_topic_still_alerted(
    topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The enforcer as the stack runs it: the webhook answers 500 to every attempt; the topic gets the
    alert, the stack's alert DLQ the envelope (no URL, no key), and the outcome the webhook's line."""
    from tests.report.channels.test_signed_webhook import KEY, Receiver

    from core.report.webhook import SignedWebhookSink

    defaults = dict(SignedWebhookSink.__init__.__kwdefaults__ or {})
    monkeypatch.setattr(SignedWebhookSink.__init__, "__kwdefaults__", {**defaults, "sleep": lambda _: None})
    hook = Receiver()
    hook.replies = [(500, {})] * 4
    try:
        sqs = boto3.client("sqs", region_name="us-east-1")
        dlq = sqs.create_queue(QueueName="iam-guard_alert-dlq")["QueueUrl"]
        secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
            Name="iam-guard/webhook", SecretString=json.dumps({"url": hook.url, "signing_key": KEY})
        )["ARN"]
        monkeypatch.setenv("IAM_GUARD_WEBHOOK_SECRET_ARN", secret)
        monkeypatch.setenv("IAM_GUARD_ALERT_DLQ_URL", dlq)
        common.reset_caches()

        outcome = enforcer.lambda_handler(sample("create-access-key-root"), context())
    finally:
        hook.close()

    assert outcome["action"] == "root-key-alerted"
    assert outcome["delivery_errors"] == ["webhook delivery failed after 4 attempt(s): HTTP 500"]
    (body,) = topic.messages()
    assert body["Subject"].endswith("Root user access key created")
    (message,) = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    record = json.loads(message["Body"])
    assert record["channel"] == "webhook"
    assert record["alert"]["kind"] == "root-access-key-created"
    assert len(hook.requests) == 4
    assert {k: v for k, v in record.items() if k not in {"channel", "error", "failed_at"}} == json.loads(
        hook.requests[0][1]
    )
    assert "SeCrEt" not in message["Body"]
    assert KEY not in message["Body"]
