"""The Health API fallback (core.aws.health, core.enforce.leak): a Health RISK event whose user carries no
quarantine policy is corroborated when ``health:DescribeEventDetails`` returns the event and
``DescribeAffectedEntities`` names the key. On plans below Business support the API answers
``SubscriptionRequiredException``: asked once, never retried, "not corroborated".

moto does not emulate AWS Health: its answers are served in its API's format by botocore's Stubber.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.enforce.conftest import ACCOUNT, Harness, fast_retrier
from tests.enforce.test_leaked_key import health_event, key_status, leaked_user, writes

from core.aws.health import HealthGateway
from core.model.alerts import AlertKind

CODE = "AWS_RISK_CREDENTIALS_EXPOSED"
ARN = f"arn:aws:health:global::event/RISK/{CODE}/{CODE}_0123"


def health_api(*steps: tuple[str, Any]) -> tuple[HealthGateway, Stubber]:
    client = boto3.client("health", region_name="us-east-1")
    stubber = Stubber(client)
    for operation, answer in steps:
        if isinstance(answer, str):
            stubber.add_client_error(operation, answer, "The AWS account is not subscribed.", 400)
        else:
            stubber.add_response(operation, answer)
    stubber.activate()
    return HealthGateway(client, retrier=fast_retrier()), stubber


def details(arn: str = ARN, service: str = "RISK") -> dict[str, Any]:
    event = {"arn": arn, "service": service, "eventTypeCode": CODE, "eventTypeCategory": "issue",
             "region": "global", "statusCode": "open"}  # fmt: skip
    return {"successfulSet": [{"event": event}], "failedSet": []}


def entities(*values: str) -> dict[str, Any]:
    return {"entities": [{"eventArn": ARN, "entityValue": v, "awsAccountId": ACCOUNT} for v in values]}


def test_the_health_api_corroborates_a_leak_without_the_quarantine_policy(deployed: Harness) -> None:
    key = leaked_user(deployed, quarantined=False)
    health, stubber = health_api(
        ("describe_event_details", details()), ("describe_affected_entities", entities(key))
    )

    result = deployed.run(health_event(key), health=health)

    assert result.action == "leaked-key-deactivated"
    assert key_status(deployed, "build-bot", key) == "Inactive"
    stubber.assert_no_pending_responses()
    (alert,) = deployed.sink.alerts
    assert ("evidence", f"AWS Health's API returns event {ARN} naming the key") in alert.details


def test_subscription_required_is_asked_once_and_changes_nothing(deployed: Harness) -> None:
    key = leaked_user(deployed, quarantined=False)
    # One error scripted: a retry, or a second call, would meet an unscripted request and fail differently.
    health, stubber = health_api(("describe_event_details", "SubscriptionRequiredException"))

    result = deployed.run(health_event(key), health=health)

    assert result.action == "leaked-key-unverified"
    assert key_status(deployed, "build-bot", key) == "Active"
    assert writes(deployed) == []
    stubber.assert_no_pending_responses()
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.LEAKED_KEY_UNVERIFIED
    assert "Health API needs a Business support plan" in alert.summary


@pytest.mark.parametrize(
    ("steps", "why"),
    [
        (
            [
                ("describe_event_details", details()),
                ("describe_affected_entities", entities("AKIAEXAMPLEOTHERKEY1")),
            ],
            "does not name the key",
        ),
        ([("describe_event_details", {"successfulSet": [], "failedSet": []})], "does not know the event"),
        ([("describe_event_details", details(service="EC2"))], "not a RISK event"),
    ],
)
def test_a_health_answer_that_does_not_match_changes_nothing(
    deployed: Harness, steps: list[tuple[str, Any]], why: str
) -> None:
    key = leaked_user(deployed, "breakglass-admin", quarantined=False, tags={"iam-guard:exempt": "true"})
    health, stubber = health_api(*steps)

    result = deployed.run(health_event(key), health=health)

    assert result.action == "leaked-key-unverified"
    assert key_status(deployed, "breakglass-admin", key) == "Active"
    assert writes(deployed) == []
    stubber.assert_no_pending_responses()
    assert why in deployed.sink.alerts[0].summary


def test_with_the_quarantine_policy_on_the_user_the_health_api_is_not_asked(
    aws_managed_policies: None, deployed: Harness
) -> None:
    key = leaked_user(deployed)
    health, stubber = health_api()  # nothing scripted: any call would fail

    result = deployed.run(health_event(key), health=health)

    assert result.action == "leaked-key-deactivated"
    stubber.assert_no_pending_responses()


@pytest.fixture
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
