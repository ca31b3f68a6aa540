"""The leaked-credential responder (core.enforce.leak), driven through ``enforce`` with AWS Health events in
AWS's documented shape (events/enforcer-health-*.json) against moto IAM and STS.

moto does not emulate AWS Health: the events are the samples, delivered as EventBridge would deliver them.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.conftest import load_event
from tests.enforce.conftest import ACCOUNT, GROUP, Harness, fast_retrier, make_settings
from tests.enforce.test_handler import context, lambda_env  # noqa: F401 - the handler's fixture
from tests.harness.metrics import EmittedMetrics

from core.aws.cloudtrail import CloudTrailGateway
from core.aws.iam import IamGateway
from core.aws.sts import KeyOwnerGateway, default_sts_client
from core.enforce.enforcer import enforce
from core.enforce.events import parse_event
from core.enforce.risk import EXPOSED_KEYS_TAG, REVOKE_SESSIONS_POLICY, RISK_EVENT_CODES
from core.model.alerts import AlertKind, Severity
from handlers import enforcer

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
WRITES = ("UpdateAccessKey", "PutUserPolicy", "TagUser", "AddUserToGroup", "AttachUserPolicy")


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto knows AWS's managed policies (the quarantine among them) only when asked to load them."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def health_event(key: str, code: str = RISK_EVENT_CODES[0], *, form: str = "both") -> dict[str, Any]:
    """A Health RISK event naming ``key`` in its entities, its resources, or both (AWS has sent each)."""
    event = copy.deepcopy(load_event("enforcer-health-credentials-exposed.json"))
    event["detail"]["eventTypeCode"] = code
    event["detail"]["eventArn"] = f"arn:aws:health:global::event/RISK/{code}/{code}_0123"
    event["detail"]["affectedEntities"] = [{"entityValue": key}] if form in ("both", "entities") else []
    event["resources"] = [key] if form in ("both", "resources") else []
    return event


def detach_event(user: str, policy: str = QUARANTINE) -> dict[str, Any]:
    event = copy.deepcopy(load_event("enforcer-detach-quarantine-policy.json"))
    event["detail"]["requestParameters"] = {"userName": user, "policyArn": policy}
    return event


def leaked_user(h: Harness, user: str = "build-bot", *, quarantined: bool = True, **kw: Any) -> str:
    """A user with one access key; AWS's quarantine attached, as AWS does when it finds the key."""
    h.create_user(user, **kw)
    key: str = h.client.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    if quarantined:
        h.client.attach_user_policy(UserName=user, PolicyArn=QUARANTINE)
    h.counter.reset()
    return key


def key_status(h: Harness, user: str, key: str) -> str:
    listed = h.client.list_access_keys(UserName=user)["AccessKeyMetadata"]
    (meta,) = [k for k in listed if k["AccessKeyId"] == key]
    return str(meta["Status"])


def writes(h: Harness) -> list[str]:
    return sorted(name for name in h.counter.calls if name.split(":")[1] in WRITES)


@pytest.mark.parametrize(
    ("code", "form"),
    [(code, "both") for code in RISK_EVENT_CODES]
    + [("AWS_RISK_IAM_QUARANTINE", "resources"), ("AWS_RISK_CREDENTIALS_EXPOSED", "entities")],
)
def test_a_corroborated_leak_is_contained_for_every_code_and_entity_form(
    deployed: Harness, code: str, form: str
) -> None:
    key = leaked_user(deployed)

    result = deployed.run(health_event(key, code, form=form))

    assert result.action == "leaked-key-deactivated"
    assert key_status(deployed, "build-bot", key) == "Inactive"
    assert GROUP in deployed.groups_of("build-bot")  # enrolled: it was outside the group, not exempt
    tags = {t["Key"]: t["Value"] for t in deployed.client.list_user_tags(UserName="build-bot")["Tags"]}
    assert tags[EXPOSED_KEYS_TAG] == key
    policy = deployed.client.get_user_policy(UserName="build-bot", PolicyName=REVOKE_SESSIONS_POLICY)
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": "2025-01-15T10:00:00Z"}}
    assert [
        p["PolicyArn"]
        for p in deployed.client.list_attached_user_policies(UserName="build-bot")["AttachedPolicies"]
    ] == [QUARANTINE]  # AWS's quarantine kept
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.LEAKED_KEY_RESPONSE
    assert alert.severity is Severity.CRITICAL
    assert key in alert.title
    assert "build-bot" in alert.summary
    assert "rotate" in alert.summary
    assert alert.items[0].finding == "access-key-exposed"


def test_a_second_delivery_changes_nothing_and_says_already_inactive(deployed: Harness) -> None:
    key = leaked_user(deployed)
    deployed.run(health_event(key))
    deployed.counter.reset()
    deployed.sink.alerts.clear()

    again = deployed.run(health_event(key, "AWS_RISK_IAM_QUARANTINE", form="resources"))

    assert again.action == "leaked-key-already-inactive"
    assert writes(deployed) == []
    assert "already inactive" in again.reason
    (alert,) = deployed.sink.alerts
    assert "already inactive" in alert.title


def test_a_forged_event_for_the_break_glass_users_real_key_leaves_it_active(deployed: Harness) -> None:
    # Anyone with lambda:InvokeFunction can hand the enforcer a well-formed event: no quarantine, no action.
    key = leaked_user(deployed, "breakglass-admin", quarantined=False, tags={"iam-guard:exempt": "true"})

    result = deployed.run(health_event(key))

    assert result.action == "leaked-key-unverified"
    assert key_status(deployed, "breakglass-admin", key) == "Active"
    assert writes(deployed) == []
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.LEAKED_KEY_UNVERIFIED
    assert alert.severity is Severity.CRITICAL
    assert f"iam-guard respond --access-key-id {key} --apply" in alert.summary
    assert "breakglass-admin" in alert.summary


def test_an_exempt_users_corroborated_key_is_deactivated_but_not_enrolled(deployed: Harness) -> None:
    key = leaked_user(deployed, "breakglass-admin", tags={"iam-guard:exempt": "true"})

    result = deployed.run(health_event(key))

    assert result.action == "leaked-key-deactivated"
    assert key_status(deployed, "breakglass-admin", key) == "Inactive"
    assert GROUP not in deployed.groups_of("breakglass-admin")


def test_leaked_key_action_alert_leaves_the_key_active(deployed: Harness) -> None:
    key = leaked_user(deployed)

    result = deployed.run(health_event(key), settings=make_settings(leaked_key_action="alert"))

    assert result.action == "leaked-key-alerted"
    assert key_status(deployed, "build-bot", key) == "Active"
    assert writes(deployed) == []
    assert "still active" in deployed.sink.alerts[0].summary


def test_a_dry_run_would_deactivate_and_says_the_key_is_still_active(deployed: Harness) -> None:
    key = leaked_user(deployed)

    result = deployed.run(health_event(key), settings=make_settings(dry_run=True))

    assert result.action == "leaked-key-deactivated"
    assert result.changes[0].change == "would-deactivate"
    assert key_status(deployed, "build-bot", key) == "Active"
    assert writes(deployed) == []
    assert "still active" in deployed.sink.alerts[0].summary


def test_a_deleted_key_is_one_alert_saying_so(deployed: Harness) -> None:
    key = leaked_user(deployed)
    deployed.client.delete_access_key(UserName="build-bot", AccessKeyId=key)

    result = deployed.run(health_event(key))

    assert result.action == "leaked-key-alerted"
    assert writes(deployed) == []
    (alert,) = deployed.sink.alerts
    assert "no such key in this account" in alert.title


def test_another_accounts_key_is_one_alert_naming_that_account(deployed: Harness) -> None:
    key = leaked_user(deployed)
    client = default_sts_client()
    stubber = Stubber(client)
    stubber.add_response("get_access_key_info", {"Account": "210987654321"}, {"AccessKeyId": key})

    with stubber:
        result = deployed.run(health_event(key), sts=KeyOwnerGateway(client, retrier=fast_retrier()))

    assert result.action == "leaked-key-alerted"
    assert deployed.counter.calls == {}, "not one IAM call: the key is not this account's"
    assert key_status(deployed, "build-bot", key) == "Active"
    (alert,) = deployed.sink.alerts
    assert "210987654321" in alert.summary


@pytest.mark.parametrize("entities", [[], [{"entityValue": "not-a-key"}]])
def test_an_event_naming_no_key_is_a_critical_alert_to_check_the_health_dashboard(
    deployed: Harness, entities: list[dict[str, str]]
) -> None:
    event = health_event("x", form="none")
    event["detail"]["affectedEntities"] = entities

    result = deployed.run(event)

    assert result.action == "leaked-key-alerted"
    assert deployed.counter.total == 0
    (alert,) = deployed.sink.alerts
    assert alert.severity is Severity.CRITICAL
    assert "key not named; check the Health dashboard" in alert.summary


def test_a_malformed_entity_is_one_line(deployed: Harness) -> None:
    from core.model.errors import InvalidEventError

    event = health_event("x", form="none")
    event["detail"]["affectedEntities"] = [{"entityValue": 42}]

    with pytest.raises(InvalidEventError) as raised:
        deployed.run(event)

    assert "\n" not in str(raised.value)
    assert "entityValue" in str(raised.value)
    assert deployed.counter.total == 0


def test_other_health_events_are_ignored(deployed: Harness) -> None:
    event = health_event("x", form="none")
    event["detail"]["service"] = "EC2"
    event["detail"]["eventTypeCode"] = "AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED"

    assert deployed.run(event).action == "ignored"


def test_a_detached_quarantine_is_re_attached_while_an_exposed_key_exists(deployed: Harness) -> None:
    key = leaked_user(deployed)
    deployed.run(health_event(key))
    deployed.client.detach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    deployed.sink.alerts.clear()

    result = deployed.run(detach_event("build-bot"))

    assert result.action == "quarantine-restored"
    attached = deployed.client.list_attached_user_policies(UserName="build-bot")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [QUARANTINE]
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.QUARANTINE_DETACHED
    assert alert.severity is Severity.CRITICAL
    assert "user/ops-admin" in alert.title  # who detached it


def test_a_detach_after_every_exposed_key_is_deleted_is_the_intended_end(deployed: Harness) -> None:
    key = leaked_user(deployed)
    deployed.run(health_event(key))
    deployed.client.delete_access_key(UserName="build-bot", AccessKeyId=key)
    deployed.client.detach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    deployed.sink.alerts.clear()

    result = deployed.run(detach_event("build-bot"))

    assert result.action == "quarantine-detached"
    assert deployed.client.list_attached_user_policies(UserName="build-bot")["AttachedPolicies"] == []
    assert deployed.sink.alerts[0].severity is Severity.INFO


def test_detaching_another_policy_is_ignored(deployed: Harness) -> None:
    event = detach_event("build-bot", "arn:aws:iam::aws:policy/ReadOnlyAccess")

    assert deployed.run(event).action == "ignored"


def test_the_result_never_carries_a_secret(deployed: Harness) -> None:
    deployed.create_user("build-bot")
    created = deployed.client.create_access_key(UserName="build-bot")["AccessKey"]
    deployed.client.attach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)

    result = deployed.run(health_event(created["AccessKeyId"]))

    text = json.dumps(result.to_dict()) + repr(deployed.sink.alerts)
    assert created["SecretAccessKey"] not in text
    assert ACCOUNT in text


def trail_event(name: str, when: datetime, ip: str, *, read_only: bool, **record: Any) -> dict[str, Any]:
    """One LookupEvents entry as CloudTrail returns it (the record itself as a JSON string)."""
    body = {"eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": ip, **record}
    return {
        "EventId": f"id-{name}",
        "EventName": name,
        "ReadOnly": "true" if read_only else "false",
        "EventTime": when,
        "EventSource": record.get("eventSource", "ec2.amazonaws.com"),
        "CloudTrailEvent": json.dumps(body),
    }


def test_the_alert_summarises_what_the_key_did_following_its_session_keys(deployed: Harness) -> None:
    key = leaked_user(deployed)
    session = "ASIAEXAMPLESESSION01"
    t0 = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
    client = boto3.client("cloudtrail", region_name="us-east-1")
    stubber = Stubber(client)
    lookup = {"LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": key}], "MaxResults": 50}
    minted = {
        "credentials": {"accessKeyId": session, "sessionToken": "x", "expiration": "2025-01-15T21:00:00Z"}
    }
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                trail_event("ListBuckets", t0, "203.0.113.9", read_only=True, eventSource="s3.amazonaws.com"),
                trail_event(
                    "GetSessionToken",
                    t0 - timedelta(minutes=5),
                    "198.51.100.66",
                    read_only=True,
                    eventSource="sts.amazonaws.com",
                    responseElements=minted,
                ),
            ]
        },
        lookup,
    )
    by_session = {**lookup, "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": session}]}
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                trail_event("RunInstances", t0 + timedelta(minutes=1), "198.51.100.66", read_only=False)
            ]
        },
        by_session,
    )

    with stubber:
        result = deployed.run(
            health_event(key), trail=lambda region: CloudTrailGateway(region, client, retrier=fast_retrier())
        )
        stubber.assert_no_pending_responses()

    assert result.action == "leaked-key-deactivated"
    summary = deployed.sink.alerts[0].summary
    assert "3 call(s)" in summary
    assert "writes: ec2:RunInstances" in summary
    assert "outside the allowed networks: 198.51.100.66" in summary  # 203.0.113.0/24 is allowed
    assert "inside: 203.0.113.9" in summary
    assert f"session keys followed: {session}" in summary
    assert "CloudTrail lags 5-15 minutes" in summary
    assert "sessionToken" not in summary  # the minted session's secret parts are never echoed


def test_a_cloudtrail_that_cannot_be_read_does_not_stop_the_response(deployed: Harness) -> None:
    key = leaked_user(deployed)
    client = boto3.client("cloudtrail", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error("lookup_events", "AccessDeniedException", "not authorized")

    with stubber:
        result = deployed.run(
            health_event(key), trail=lambda region: CloudTrailGateway(region, client, retrier=fast_retrier())
        )

    assert result.action == "leaked-key-deactivated"
    assert key_status(deployed, "build-bot", key) == "Inactive"
    assert (
        "not read: us-east-1 (LookupEvents failed: AccessDeniedException" in deployed.sink.alerts[0].summary
    )


def test_the_summary_reads_us_east_1_and_the_configured_regions_else_the_last_used_one() -> None:
    from core.enforce.key_summary import summary_regions

    assert summary_regions("eu-west-1", ()) == ("us-east-1", "eu-west-1")
    assert summary_regions("", ()) == ("us-east-1",)
    assert summary_regions("eu-west-1", ("ap-northeast-1", "us-east-1")) == ("us-east-1", "ap-northeast-1")


@pytest.mark.parametrize(
    ("regions", "why"),
    [
        (("eu-west-1",) * 1 + ("a", "b"), "is not an AWS region name"),
        (("eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-south-1", "eu-central-1"), "at most 5"),
    ],
)
def test_summary_regions_are_validated_in_one_line(regions: tuple[str, ...], why: str) -> None:
    from core.model.errors import SettingsError

    with pytest.raises(SettingsError, match=why):
        make_settings(leaked_key_summary_regions=regions)
    with pytest.raises(SettingsError, match="should be 'deactivate' or 'alert'"):
        make_settings(leaked_key_action="delete")


def test_a_root_key_is_a_critical_alert_with_the_steps_and_nothing_else(deployed: Harness) -> None:
    # moto cannot make root keys: IAM's answer is scripted (GetAccessKeyLastUsed names the root user).
    key = "AKIAROOTEXAMPLE00001"
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_response(
        "get_access_key_last_used",
        {"UserName": "root", "AccessKeyLastUsed": {"ServiceName": "s3", "Region": "eu-west-1"}},
        {"AccessKeyId": key},
    )
    sts = default_sts_client()
    sts_stub = Stubber(sts)
    sts_stub.add_response("get_access_key_info", {"Account": ACCOUNT}, {"AccessKeyId": key})

    with stubber, sts_stub:
        result = enforce(
            parse_event(health_event(key)),
            settings=deployed.settings,
            iam=IamGateway(client, retrier=fast_retrier()),
            sink=deployed.sink,
            cache=deployed.cache,
            sts=KeyOwnerGateway(sts, retrier=fast_retrier()),
        )
        stubber.assert_no_pending_responses()  # one read; no write was even attempted

    assert result.action == "leaked-key-alerted"
    (alert,) = deployed.sink.alerts
    assert alert.severity is Severity.CRITICAL
    assert "root user key" in alert.title
    assert "delete the root access key" in alert.summary


def test_the_lambda_handler_contains_a_leak_from_a_health_event(
    lambda_env: Any,  # noqa: F811 - the fixture imported above
    lambda_metrics: EmittedMetrics,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    lambda_env.create_user(UserName="build-bot")
    key = lambda_env.create_access_key(UserName="build-bot")["AccessKey"]["AccessKeyId"]
    lambda_env.attach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    trail = boto3.client("cloudtrail", region_name="us-east-1")  # moto has no LookupEvents: scripted
    stubber = Stubber(trail)
    stubber.add_response("lookup_events", {"Events": []})
    stubber.activate()
    monkeypatch.setattr(enforcer, "cloudtrail", lambda region: CloudTrailGateway(region, trail))

    outcome = enforcer.lambda_handler(health_event(key, "AWS_RISK_IAM_QUARANTINE"), context())

    assert outcome["action"] == "leaked-key-deactivated"
    assert outcome["user"] == "build-bot"
    listed = lambda_env.list_access_keys(UserName="build-bot")["AccessKeyMetadata"]
    assert [k["Status"] for k in listed] == ["Inactive"]
    assert lambda_metrics.total("Action-leaked-key-deactivated") == 1
    stubber.assert_no_pending_responses()  # CloudTrail was asked (us-east-1; moto records no last use)
