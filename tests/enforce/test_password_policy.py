"""ManagePasswordPolicy=true: the enforcer restores the account password policy after
``UpdateAccountPasswordPolicy`` / ``DeleteAccountPasswordPolicy``, re-reading it from IAM first.

Driven through the Lambda handler (events/enforcer-*-account-password-policy.json) on moto, which
implements the password policy; alerts read from the stack's topic.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.enforce.conftest import make_settings, sample
from tests.harness.metrics import EmittedMetrics

from core.aws.iam import IamGateway
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.guardrail.apply import ensure_guardrail
from core.policy.password_policy import managed_password_policy
from demo.lambda_context import FakeLambdaContext
from handlers import common, enforcer

ENFORCER_ROLE = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_enforcer"
WEAK = {"MinimumPasswordLength": 8, "RequireSymbols": False, "PasswordReusePrevention": 1}


def context() -> FakeLambdaContext:
    return FakeLambdaContext("iam-guard-EnforcerFunction-7Yx2kQ")


class Stack:
    def __init__(self, client: Any, queue: str) -> None:
        self.client = client
        self.queue = queue

    def policy(self) -> dict[str, Any] | None:
        try:
            return dict(self.client.get_account_password_policy()["PasswordPolicy"])
        except self.client.exceptions.NoSuchEntityException:
            return None

    def alerts(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs", region_name="us-east-1")
        found = sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in found]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, lambda_metrics: EmittedMetrics) -> Iterator[Stack]:
    monkeypatch.setenv("IAM_GUARD_ALLOWED_CIDRS", "203.0.113.0/24")
    monkeypatch.setenv("IAM_GUARD_OWN_ROLE_ARNS", ENFORCER_ROLE)
    monkeypatch.setenv("IAM_GUARD_MANAGE_PASSWORD_POLICY", "true")
    common.reset_caches()
    enforcer.guardrail_cache.cache_clear()
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        ensure_guardrail(IamGateway(client), make_settings(), "123456789012")
        sns = boto3.client("sns", region_name="us-east-1")
        sqs = boto3.client("sqs", region_name="us-east-1")
        arn = sns.create_topic(Name="iam-guard-AlertTopic")["TopicArn"]
        queue = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]
        sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn["QueueArn"])
        monkeypatch.setenv("IAM_GUARD_SNS_TOPIC_ARN", arn)
        common.reset_caches()
        yield Stack(client, queue)
    common.reset_caches()
    enforcer.guardrail_cache.cache_clear()


def managed(max_age_days: int = 0) -> dict[str, Any]:
    return managed_password_policy(None, max_age_days)


def matches(live: dict[str, Any] | None, wanted: dict[str, Any]) -> bool:
    return live is not None and all(live.get(k) == v for k, v in wanted.items())


def test_a_weakened_policy_is_restored_and_the_caller_named(stack: Stack) -> None:
    stack.client.update_account_password_policy(**WEAK)  # what the event describes, done on IAM

    outcome = enforcer.lambda_handler(sample("update-account-password-policy"), context())

    assert outcome["action"] == "password-policy-restored"
    assert matches(stack.policy(), managed())
    assert not (stack.policy() or {}).get("MaxPasswordAge")  # PasswordMaxAgeDays 0: no expiry
    (alert,) = [
        a for a in stack.alerts() if a["MessageAttributes"]["type"]["Value"] == "password-policy-restored"
    ]
    assert alert["MessageAttributes"]["severity"]["Value"] == "high"
    assert alert["Subject"].startswith("IAM Guard HIGH: Account password policy changed by assumed-role/")
    assert "alice@example.com" in alert["Message"]  # who: the caller's full ARN
    assert "203.0.113.10" in alert["Message"]


def test_a_deleted_policy_is_set_again(stack: Stack) -> None:
    stack.client.update_account_password_policy(**WEAK)
    stack.client.delete_account_password_policy()
    assert stack.policy() is None

    outcome = enforcer.lambda_handler(sample("delete-account-password-policy"), context())

    assert outcome["action"] == "password-policy-restored"
    assert matches(stack.policy(), managed())
    (alert,) = [
        a for a in stack.alerts() if a["MessageAttributes"]["type"]["Value"] == "password-policy-restored"
    ]
    assert "deleted" in alert["Subject"]


def test_iams_answer_decides_not_the_events_claim(stack: Stack) -> None:
    """A forged or stale event saying the policy was weakened, while IAM holds the managed one: no write."""
    stack.client.update_account_password_policy(**managed())

    outcome = enforcer.lambda_handler(sample("update-account-password-policy"), context())

    assert outcome["action"] == "intact"
    assert [
        a for a in stack.alerts() if a["MessageAttributes"]["type"]["Value"] == "password-policy-restored"
    ] == []


def test_a_change_that_still_meets_every_requirement_is_restored_to_the_configured_values(
    stack: Stack,
) -> None:
    """Expiry after 60 days meets IAM.17, but PasswordMaxAgeDays is 0: set back (the stack decides)."""
    stack.client.update_account_password_policy(**managed(), MaxPasswordAge=60)

    outcome = enforcer.lambda_handler(sample("update-account-password-policy"), context())

    assert outcome["action"] == "password-policy-restored"
    assert not (stack.policy() or {}).get("MaxPasswordAge")


def test_a_stricter_length_is_kept(stack: Stack) -> None:
    stack.client.update_account_password_policy(**{**managed(), "MinimumPasswordLength": 20})

    outcome = enforcer.lambda_handler(sample("update-account-password-policy"), context())

    assert outcome["action"] == "intact"
    assert (stack.policy() or {})["MinimumPasswordLength"] == 20


def test_dry_run_writes_nothing_and_says_so(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IAM_GUARD_DRY_RUN", "true")
    common.reset_caches()
    stack.client.update_account_password_policy(**WEAK)

    outcome = enforcer.lambda_handler(sample("update-account-password-policy"), context())

    assert outcome["action"] == "password-policy-restored"
    assert outcome["dry_run"] is True
    assert (stack.policy() or {})["MinimumPasswordLength"] == 8
    assert "would restore" in outcome["reason"]


def test_off_the_event_is_ignored() -> None:
    for name in ("update-account-password-policy", "delete-account-password-policy"):
        command = command_for(parse_event(sample(name)), make_settings())
        assert type(command).__name__ == "Ignore"
        assert "ManagePasswordPolicy is off" in command.reason  # type: ignore[union-attr]
