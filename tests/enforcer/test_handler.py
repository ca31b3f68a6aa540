"""The Lambda entry point, invoked with the events/ samples and a fake Lambda context."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.conftest import EVENTS_DIR
from tests.enforcer.conftest import GROUP, fast_retrier, make_settings, sample

from core.errors import ThrottledError
from core.guardrail import ensure_guardrail
from core.iam import IamGateway
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
}


@dataclass
class FakeContext:
    function_name: str = "iam-guard-EnforcerFunction-7Yx2kQ"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:iam-guard-EnforcerFunction-7Yx2kQ"
    )
    aws_request_id: str = "0f5c7c1e-2b1a-4c8e-9d55-6f1f2a3b4c5d"


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh container: IAM_GUARD_* environment, empty caches, moto IAM with the guardrail deployed."""
    monkeypatch.setenv("IAM_GUARD_ALLOWED_CIDRS", "203.0.113.0/24")
    monkeypatch.setenv("IAM_GUARD_OWN_ROLE_ARNS", ENFORCER_ROLE)
    # Powertools objects were built when the module was imported, possibly before this environment.
    monkeypatch.setattr(common.metrics, "namespace", "IAMGuardTests")
    monkeypatch.setattr(common.metrics, "service", "iam-guard")
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
        outcome = enforcer.lambda_handler(sample(name), FakeContext())
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

    outcome = enforcer.lambda_handler(event, FakeContext())

    assert outcome["action"] == "ignored"
    assert lambda_env.get_group(GroupName=GROUP)["Users"] == []
    # The same event by a person is healed: the ignore rule is about the caller, nothing else.
    assert enforcer.lambda_handler(sample("remove-user-from-group"), FakeContext())["action"] == "healed"


def test_malformed_event_is_logged_and_not_retried(lambda_env: Any) -> None:
    outcome = enforcer.lambda_handler({"hello": "world"}, FakeContext())
    assert outcome["action"] == "failed"
    assert outcome["reason"].startswith("not an EventBridge event:")


def test_missing_settings_fail_without_retry(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IAM_GUARD_ALLOWED_CIDRS")
    common.reset_caches()
    outcome = enforcer.lambda_handler(sample("create-user"), FakeContext())
    assert outcome["action"] == "failed"
    assert "no allowed network" in outcome["reason"]


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
        enforcer.lambda_handler(sample("create-user"), FakeContext())


def test_warm_container_uses_the_cache(lambda_env: Any) -> None:
    first = enforcer.lambda_handler(sample("create-user"), FakeContext())
    second = enforcer.lambda_handler(sample("create-user-tagged"), FakeContext())
    assert (first["guardrail"], second["guardrail"]) == ("verified", "cached")


def test_alerts_reach_the_sns_topic(lambda_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="iam-guard-AlertTopic")["TopicArn"]  # the name the stack gives it
    queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
    queue_arn = attributes["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("IAM_GUARD_SNS_TOPIC_ARN", topic)
    common.reset_caches()
    outcome = enforcer.lambda_handler(sample("create-access-key-root"), FakeContext())
    assert outcome["delivery_errors"] == []
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(message["Body"])
    assert body["Subject"].endswith("Root user access key created")
    assert body["MessageAttributes"]["severity"]["Value"] == "critical"
