"""The Custom::Guardrail resource, driven with the events/ samples through the real handler, on moto IAM,
replying to a local HTTP receiver that stands in for CloudFormation's pre-signed ResponseURL. CloudFormation
itself is a stand-in (``demo.cloudformation``) that shows the stack mid-operation, as moto cannot."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws
from tests.conftest import load_event

from core.aws.cfn_response import Replier, fit_body, put_json
from core.aws.cloudformation import CloudFormationGateway
from core.aws.iam import IamGateway
from core.guardrail.custom_resource import NOTHING_CREATED, parse_request, plan_request
from core.model.errors import DeliveryError
from core.model.settings import build_settings
from core.policy.compare import policies_equal
from core.policy.document import render_policy
from demo.cloudformation import CloudFormationStandIn
from demo.lambda_context import FakeLambdaContext
from demo.slack_receiver import ReceivedPost, Reply, SlackReceiver

ACCOUNT = "123456789012"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGuardSecureIAMPolicy"
STACK_ID = load_event("policy-resource-create.json")["StackId"]


pytestmark = pytest.mark.usefixtures("lambda_metrics")
FUNCTION = "iam-guard-PolicyResourceFunction"


def handler() -> Any:
    from handlers import policy_resource

    return policy_resource


@pytest.fixture(autouse=True)
def stack(monkeypatch: pytest.MonkeyPatch) -> CloudFormationStandIn:
    """This function's own stack, as CloudFormation shows it (settled until an operation begins)."""
    standing = CloudFormationStandIn(STACK_ID)
    monkeypatch.setenv("IAM_GUARD_STACK_ID", STACK_ID)
    monkeypatch.setattr(handler(), "cloudformation", lambda: CloudFormationGateway(standing))
    return standing


@pytest.fixture
def iam_client() -> Iterator[Any]:
    from handlers import common

    with mock_aws():
        common.reset_caches()
        yield boto3.client("iam", region_name="us-east-1")
    common.reset_caches()


def invoke_for_reply(
    name: str, receiver: SlackReceiver, *, stack_status: str | None = None, **changes: Any
) -> ReceivedPost:
    """CloudFormation's request: the stack runs the operation while the function handles it."""
    event = {**load_event(f"policy-resource-{name}.json"), "ResponseURL": receiver.response_url, **changes}
    standing = handler().cloudformation().client
    standing.begin(event["RequestType"], event["ResourceProperties"], stack_status=stack_status)
    handler().lambda_handler(event, FakeLambdaContext(FUNCTION))
    standing.finish()
    replies = receiver.cloudformation_replies()
    receiver.clear()
    assert len(replies) == 1, "exactly one reply per request"
    return replies[0]


def invoke(
    name: str, receiver: SlackReceiver, *, stack_status: str | None = None, **changes: Any
) -> dict[str, Any]:
    body: dict[str, Any] = invoke_for_reply(name, receiver, stack_status=stack_status, **changes).json()
    return body


def deployed_with_a_member(iam_client: Any, receiver: SlackReceiver, user: str) -> None:
    """The stack created, and ``user`` in its group."""
    invoke("create", receiver)
    iam_client.create_user(UserName=user)
    iam_client.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName=user)


def assert_the_guardrail_renders(iam_client: Any, **settings: Any) -> None:
    """The policy's default version is the guardrail rendered for these settings (of stack iam-guard)."""
    expected = render_policy(build_settings(stack_name="iam-guard", **settings))
    assert policies_equal(default_document(iam_client, POLICY_ARN), expected)


def default_document(iam_client: Any, arn: str) -> dict[str, Any]:
    version = iam_client.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document: dict[str, Any] = iam_client.get_policy_version(PolicyArn=arn, VersionId=version)[
        "PolicyVersion"
    ]["Document"]
    return document


def attached(iam_client: Any, group: str) -> list[str]:
    return [
        p["PolicyArn"] for p in iam_client.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    ]


def group_names(iam_client: Any) -> set[str]:
    return {g["GroupName"] for g in iam_client.list_groups()["Groups"]}


def test_create_makes_the_group_with_the_rendered_policy_attached(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    received = invoke_for_reply("create", receiver)
    reply = received.json()

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert received.content_type == ""  # what the pre-signed URL was signed for
    assert reply["Data"]["PolicyArn"] == POLICY_ARN
    assert reply["Data"]["GroupName"] == "IAMGuardSecuredUsers"
    assert reply["PhysicalResourceId"] == "iam-guard-Guardrail"
    assert attached(iam_client, "IAMGuardSecuredUsers") == [POLICY_ARN]
    assert_the_guardrail_renders(
        iam_client, allowed_cidrs=("203.0.113.0/24", "2001:db8::/32"), mfa_mode="strict"
    )


def test_update_of_the_cidrs_replaces_the_policy_text(iam_client: Any, receiver: SlackReceiver) -> None:
    invoke("create", receiver)
    update = load_event("policy-resource-update.json")
    props = {**update["ResourceProperties"], "IAM_GUARD_GROUP_NAME": "IAMGuardSecuredUsers"}

    reply = invoke("update", receiver, ResourceProperties=props)

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert reply["PhysicalResourceId"] == "iam-guard-Guardrail"  # never "replaced": no stray Delete
    assert_the_guardrail_renders(
        iam_client, allowed_cidrs=("203.0.113.0/24", "198.51.100.0/24"), mfa_mode="console"
    )


def test_renaming_the_group_moves_members_and_removes_the_old_group(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    deployed_with_a_member(iam_client, receiver, "alice")

    reply = invoke("update", receiver)  # the sample renames the group to IAMGuardSecuredUsers2

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert reply["Data"]["GroupName"] == "IAMGuardSecuredUsers2"
    assert "IAMGuardSecuredUsers" not in group_names(iam_client)
    members = iam_client.get_group(GroupName="IAMGuardSecuredUsers2")["Users"]
    assert [u["UserName"] for u in members] == ["alice"]
    assert attached(iam_client, "IAMGuardSecuredUsers2") == [POLICY_ARN]


def test_renaming_the_policy_detaches_and_deletes_the_old_one(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    invoke("create", receiver)
    create = load_event("policy-resource-create.json")
    props = {**create["ResourceProperties"], "IAM_GUARD_POLICY_NAME": "Renamed"}

    reply = invoke("update", receiver, ResourceProperties=props)

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert attached(iam_client, "IAMGuardSecuredUsers") == [
        f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/Renamed"
    ]
    policies = iam_client.list_policies(Scope="Local")["Policies"]
    assert [p["PolicyName"] for p in policies] == ["Renamed"]


def test_delete_removes_group_and_policy_and_tolerates_their_absence(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    deployed_with_a_member(iam_client, receiver, "alice")

    first = invoke("delete", receiver)
    again = invoke("delete", receiver)  # CloudFormation may repeat a Delete

    assert (first["Status"], again["Status"]) == ("SUCCESS", "SUCCESS")
    assert group_names(iam_client) == set()
    assert iam_client.list_policies(Scope="Local")["Policies"] == []
    assert iam_client.get_user(UserName="alice")["User"]["UserName"] == "alice"  # users stay


def test_invalid_settings_fail_the_create_with_one_line_and_touch_nothing(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    iam_client.create_group(GroupName="IAMGuardSecuredUsers")  # someone else's group of the same name
    create = load_event("policy-resource-create.json")
    props = {**create["ResourceProperties"], "IAM_GUARD_ALLOWED_CIDRS": "0.0.0.0/0"}

    reply = invoke("create", receiver, ResourceProperties=props)
    rollback = invoke(
        "delete", receiver, ResourceProperties=props, PhysicalResourceId=reply["PhysicalResourceId"]
    )

    assert reply["Status"] == "FAILED"
    assert reply["Reason"].startswith("invalid setting allowed_cidrs:")
    assert "\n" not in reply["Reason"]
    assert reply["PhysicalResourceId"] == NOTHING_CREATED
    assert rollback["Status"] == "SUCCESS"
    assert group_names(iam_client) == {"IAMGuardSecuredUsers"}  # the rollback removed nothing


def test_an_aws_failure_replies_failed_with_the_api_call_and_code(
    receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_policy",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: iam:GetPolicy",
        http_status_code=403,
    )
    monkeypatch.setattr(handler(), "iam", lambda: IamGateway(client))

    with stubber:
        reply = invoke("create", receiver)

    assert reply["Status"] == "FAILED"
    assert (
        reply["Reason"] == "GetPolicy failed: AccessDenied: User is not authorized to perform: iam:GetPolicy"
    )
    assert reply["PhysicalResourceId"] == "iam-guard-Guardrail"  # IAM was reached: a rollback cleans up


def test_a_malformed_request_is_refused_without_reply(iam_client: Any, receiver: SlackReceiver) -> None:
    event = {
        **load_event("policy-resource-create.json"),
        "ResponseURL": receiver.response_url,
        "RequestType": "Replace",
    }

    result = handler().lambda_handler(event, FakeLambdaContext(FUNCTION))

    assert result["Status"] == "REFUSED"
    assert result["Reason"].startswith("not a CloudFormation custom-resource request: RequestType")
    assert (
        receiver.cloudformation_replies() == []
    )  # CloudFormation never sends such a request: nobody to answer
    assert group_names(iam_client) == set()


def test_a_request_without_response_url_is_refused_without_reply(receiver: SlackReceiver) -> None:
    event = load_event("policy-resource-create.json")
    del event["ResponseURL"]

    result = handler().lambda_handler(event, FakeLambdaContext(FUNCTION))

    assert result["Status"] == "REFUSED"
    assert receiver.cloudformation_replies() == []


class _SlowIamClient:
    """An IAM endpoint that answers after the function's time is up."""

    def __init__(self, delay: float) -> None:
        self.delay = delay

    def get_policy(self, **_: Any) -> Any:
        time.sleep(self.delay)
        raise AssertionError("the watchdog should have replied first")


def test_the_watchdog_replies_failed_before_the_function_times_out(
    receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler(), "iam", lambda: IamGateway(_SlowIamClient(delay=1.0)))
    event = {**load_event("policy-resource-create.json"), "ResponseURL": receiver.response_url}
    handler().cloudformation().client.begin_from_request(event)
    context = FakeLambdaContext(FUNCTION, remaining_ms=int((handler().WATCHDOG_MARGIN_SECONDS + 0.2) * 1000))

    with pytest.raises(AssertionError):  # the slow call ends in a bug report; the stack was answered
        handler().lambda_handler(event, context)

    [reply] = [r.json() for r in receiver.cloudformation_replies()]
    assert reply["Status"] == "FAILED"
    assert reply["Reason"].startswith("timed out")


def test_the_reply_is_retried_and_then_reported(receiver: SlackReceiver) -> None:
    receiver.script(Reply(500), Reply(500))
    put_json(receiver.response_url, {"Status": "SUCCESS"}, sleep=lambda _: None)
    assert [r.json() for r in receiver.cloudformation_replies()] == [{"Status": "SUCCESS"}] * 3
    receiver.clear()

    receiver.script(Reply(500), Reply(500), Reply(500))
    with pytest.raises(DeliveryError, match="after 3 attempts: HTTPError 500"):
        put_json(receiver.response_url, {"Status": "SUCCESS"}, sleep=lambda _: None)
    assert len(receiver.cloudformation_replies()) == 3


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/x",
        "https://example.com/x",
        "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.evil.example/x",
        "https://evil.example/cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
    ],
)
def test_the_reply_goes_only_to_cloudformations_response_bucket(url: str) -> None:
    with pytest.raises(DeliveryError, match="not CloudFormation's response bucket"):
        put_json(url, {}, opener=lambda *_a, **_k: pytest.fail(f"a request was sent to {url}"))


def test_only_the_first_reply_is_sent() -> None:
    sent: list[dict[str, Any]] = []
    replier = Replier("https://example.invalid/", send=lambda _url, body: sent.append(body))

    assert replier.reply({"Status": "FAILED"}) is True
    assert replier.reply({"Status": "SUCCESS"}) is False
    assert sent == [{"Status": "FAILED"}]


def test_an_oversized_reply_is_shortened_under_4_kb() -> None:
    body = fit_body({"Status": "FAILED", "Reason": "x" * 5000, "Data": {"k": "v" * 5000}})

    assert len(body["Reason"]) == 1000
    assert "Data" not in body


@pytest.mark.parametrize("name", ["create", "update", "delete"])
def test_the_sample_events_are_valid_requests(name: str) -> None:
    request = parse_request(load_event(f"policy-resource-{name}.json"))
    plan = plan_request(request)

    assert request.account_id == ACCOUNT
    assert (plan.ensure is None) == (name == "delete")


def test_a_rolled_back_update_restores_the_earlier_version_and_delete_clears_all_versions(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    create = load_event("policy-resource-create.json")
    invoke("create", receiver)
    wider = {**create["ResourceProperties"], "IAM_GUARD_ALLOWED_CIDRS": "198.51.100.0/24"}
    invoke("update", receiver, ResourceProperties=wider, OldResourceProperties=create["ResourceProperties"])

    # CloudFormation rolls an update back by sending the old properties as the new ones; its own event
    # carries them, whatever the stack's parameters say meanwhile.
    rollback = invoke(
        "update",
        receiver,
        stack_status="UPDATE_ROLLBACK_IN_PROGRESS",
        ResourceProperties=create["ResourceProperties"],
        OldResourceProperties=wider,
    )

    assert rollback["Status"] == "SUCCESS", rollback["Reason"]
    versions = iam_client.list_policy_versions(PolicyArn=POLICY_ARN)["Versions"]
    assert [
        (v["VersionId"], v["IsDefaultVersion"]) for v in sorted(versions, key=lambda v: v["VersionId"])
    ] == [
        ("v1", True),
        ("v2", False),
    ]
    assert invoke("delete", receiver)["Status"] == "SUCCESS"
    assert iam_client.list_policies(Scope="Local")["Policies"] == []


# --- forged requests: whoever may invoke the function must not be able to use it ------------------------


def iam_state(iam_client: Any) -> dict[str, Any]:
    """Everything a forged request could change: groups with members and policies, policies with versions."""
    groups = {}
    for group in iam_client.list_groups()["Groups"]:
        name = group["GroupName"]
        members = sorted(u["UserName"] for u in iam_client.get_group(GroupName=name)["Users"])
        groups[name] = (group["Path"], members, sorted(attached(iam_client, name)))
    policies = {}
    for policy in iam_client.list_policies(Scope="Local")["Policies"]:
        versions = iam_client.list_policy_versions(PolicyArn=policy["Arn"])["Versions"]
        policies[policy["Arn"]] = sorted((v["VersionId"], v["IsDefaultVersion"]) for v in versions)
    return {"groups": groups, "policies": policies}


@pytest.fixture
def deployed(iam_client: Any, receiver: SlackReceiver) -> dict[str, Any]:
    """A deployed stack: the guardrail, a Developers group with a member, an Admins group."""
    assert invoke("create", receiver)["Status"] == "SUCCESS"
    iam_client.create_user(UserName="mallory")
    iam_client.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName="mallory")
    iam_client.create_group(GroupName="Developers")
    iam_client.create_group(GroupName="Admins")
    iam_client.add_user_to_group(GroupName="Developers", UserName="mallory")
    return iam_state(iam_client)


def forged(name: str, receiver: SlackReceiver, **changes: Any) -> dict[str, Any]:
    """A hand-made request, sent while the stack is settled (no CloudFormation operation running)."""
    event = {**load_event(f"policy-resource-{name}.json"), "ResponseURL": receiver.response_url, **changes}
    return dict(handler().lambda_handler(event, FakeLambdaContext(FUNCTION)))


def create_properties(**changes: str) -> dict[str, Any]:
    return {**load_event("policy-resource-create.json")["ResourceProperties"], **changes}


@pytest.mark.parametrize(
    ("name", "changes"),
    [
        # Rename Developers into Admins: every member of Developers would become an admin.
        (
            "update",
            {
                "OldResourceProperties": create_properties(IAM_GUARD_GROUP_NAME="Developers"),
                "ResourceProperties": create_properties(IAM_GUARD_GROUP_NAME="Admins"),
            },
        ),
        # Empty and delete the secured group, delete the guardrail policy.
        ("delete", {}),
        # Weaken the live guardrail.
        (
            "update",
            {
                "ResourceProperties": create_properties(
                    IAM_GUARD_IP_RESTRICTION="false", IAM_GUARD_MFA_MODE="console"
                )
            },
        ),
        ("create", {"ResourceProperties": create_properties(IAM_GUARD_GROUP_NAME="Admins")}),
    ],
    ids=["rename-developers-into-admins", "delete", "weaken", "create-elsewhere"],
)
def test_a_forged_request_changes_nothing_and_gets_no_reply(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], name: str, changes: dict[str, Any]
) -> None:
    result = forged(name, receiver, **changes)

    assert result["Status"] == "REFUSED"
    assert "no stack operation sends one now" in result["Reason"]
    assert iam_state(iam_client) == deployed
    assert receiver.cloudformation_replies() == []  # the attacker's ResponseURL is never called


def test_a_forged_request_timed_during_a_real_update_must_carry_the_stacks_parameters(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], stack: CloudFormationStandIn
) -> None:
    """CloudFormation is updating the resource right now; the attacker races it with their own settings."""
    real = create_properties()
    stack.begin("Update", real)
    weakened = create_properties(IAM_GUARD_IP_RESTRICTION="false", IAM_GUARD_MFA_MODE="console")

    result = forged("update", receiver, ResourceProperties=weakened)

    assert result["Status"] == "REFUSED"
    assert "IAM_GUARD_IP_RESTRICTION" in result["Reason"]
    assert "IAM_GUARD_MFA_MODE" in result["Reason"]
    assert iam_state(iam_client) == deployed
    assert receiver.cloudformation_replies() == []


def test_a_request_for_another_stack_or_resource_is_refused(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], stack: CloudFormationStandIn
) -> None:
    stack.begin("Update", create_properties())
    other = STACK_ID.replace("stack/iam-guard/", "stack/someone-else/")

    for changes, reason in (
        ({"StackId": other}, "not this function's stack"),
        ({"LogicalResourceId": "SomethingElse"}, "not 'Guardrail'"),
    ):
        result = forged("update", receiver, ResourceProperties=create_properties(), **changes)
        assert result["Status"] == "REFUSED"
        assert reason in result["Reason"]
    assert iam_state(iam_client) == deployed
    assert receiver.cloudformation_replies() == []


def test_a_refused_request_is_logged_and_alerted(
    iam_client: Any,
    receiver: SlackReceiver,
    deployed: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from core.model.alerts import AlertKind, RecordingSink

    sink = RecordingSink()
    monkeypatch.setattr(handler(), "alert_sink", lambda: sink)

    forged("delete", receiver)

    (alert,) = sink.alerts
    assert alert.kind is AlertKind.INFRASTRUCTURE_TAMPERED
    assert "Delete" in dict(alert.details)["request"]
    assert receiver.response_url not in str(alert)  # the (pre-signed) URL is never repeated
    assert any("refused" in r.getMessage() for r in caplog.records)


def test_the_stack_cannot_be_read_so_nothing_is_done(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IAM_GUARD_STACK_ID", STACK_ID.replace("iam-guard/", "gone/"))

    result = forged("delete", receiver, StackId=STACK_ID.replace("iam-guard/", "gone/"))

    assert result["Status"] == "REFUSED"
    assert "could not read the stack" in result["Reason"]
    assert iam_state(iam_client) == deployed


# --- the upgrade from version 0.1 ---------------------------------------------------------------------------


@pytest.mark.usefixtures("moto_moves_group_paths")
def test_upgrading_from_0_1_moves_group_and_policy_onto_the_path(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    """0.1 made the group and the policy on the path "/": the first 0.2 update moves both onto /iam-guard/."""
    legacy_policy = f"arn:aws:iam::{ACCOUNT}:policy/IAMGuardSecureIAMPolicy"
    iam_client.create_group(GroupName="IAMGuardSecuredUsers")
    iam_client.create_policy(
        PolicyName="IAMGuardSecureIAMPolicy",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        ),
    )
    iam_client.attach_group_policy(GroupName="IAMGuardSecuredUsers", PolicyArn=legacy_policy)
    iam_client.create_user(UserName="alice")
    iam_client.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName="alice")
    create = load_event("policy-resource-create.json")["ResourceProperties"]

    reply = invoke("update", receiver, ResourceProperties=create, OldResourceProperties=create)

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    group = iam_client.get_group(GroupName="IAMGuardSecuredUsers")
    assert group["Group"]["Path"] == "/iam-guard/"
    assert [u["UserName"] for u in group["Users"]] == ["alice"]
    assert attached(iam_client, "IAMGuardSecuredUsers") == [POLICY_ARN]
    assert [p["Arn"] for p in iam_client.list_policies(Scope="Local")["Policies"]] == [POLICY_ARN]
    assert_the_guardrail_renders(
        iam_client, allowed_cidrs=("203.0.113.0/24", "2001:db8::/32"), mfa_mode="strict"
    )


def test_a_request_with_nested_properties_is_refused_in_one_line(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    nested: Any = []
    for _ in range(100_000):
        nested = [nested]
    event = {
        **load_event("policy-resource-create.json"),
        "ResponseURL": receiver.response_url,
        "ResourceProperties": {**create_properties(), "IAM_GUARD_ALLOWED_CIDRS": nested},
    }

    result = handler().lambda_handler(event, FakeLambdaContext(FUNCTION))

    assert result["Status"] == "REFUSED"
    assert result["Reason"] == (
        "not a CloudFormation custom-resource request: "
        "ResourceProperties.IAM_GUARD_ALLOWED_CIDRS is not a string"
    )
    assert receiver.cloudformation_replies() == []
    assert group_names(iam_client) == set()


def test_verification_reads_only_its_own_stack_in_cloudformations_real_shapes(
    iam_client: Any, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same check on a boto3 client whose answers botocore validates against CloudFormation's model
    (and whose calls the least-privilege recorder evaluates against the function's role)."""
    from datetime import UTC, datetime

    client = boto3.client("cloudformation", region_name="us-east-1")
    properties = load_event("policy-resource-create.json")["ResourceProperties"]
    stand_in = CloudFormationStandIn(STACK_ID)
    stand_in.begin("Create", properties)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with Stubber(client) as stub:
        stub.add_response("describe_stacks", stand_in.describe_stacks(STACK_ID), {"StackName": STACK_ID})
        stub.add_response(
            "describe_stack_resource",
            {
                "StackResourceDetail": {
                    **stand_in.describe_stack_resource(STACK_ID, "Guardrail")["StackResourceDetail"],
                    "LastUpdatedTimestamp": now,
                }
            },
            {"StackName": STACK_ID, "LogicalResourceId": "Guardrail"},
        )
        stub.add_response(
            "describe_stack_events", stand_in.describe_stack_events(STACK_ID), {"StackName": STACK_ID}
        )
        monkeypatch.setattr(handler(), "cloudformation", lambda: CloudFormationGateway(client))
        event = {**load_event("policy-resource-create.json"), "ResponseURL": receiver.response_url}

        handler().lambda_handler(event, FakeLambdaContext(FUNCTION))

        stub.assert_no_pending_responses()
    [reply] = [r.json() for r in receiver.cloudformation_replies()]
    assert reply["Status"] == "SUCCESS", reply["Reason"]


# --- the race with a real stack operation: old properties, names in another case, cleanup Deletes -----------


def test_a_case_only_group_name_change_is_no_rename_and_removes_nothing() -> None:
    """IAM names are case-insensitive: 'removing' the old group would remove the live one."""
    request = parse_request(
        {
            **load_event("policy-resource-update.json"),
            "ResourceProperties": create_properties(),
            "OldResourceProperties": create_properties(IAM_GUARD_GROUP_NAME="iamguardsecuredusers"),
        }
    )

    plan = plan_request(request)

    assert (plan.move_members_from, plan.remove_group, plan.remove_policy, plan.detach_policy) == (
        None,
        None,
        None,
        None,
    )


def test_a_forged_update_naming_the_live_group_in_lower_case_as_old_leaves_it(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], stack: CloudFormationStandIn
) -> None:
    stack.begin("Update", create_properties())  # a genuine update is running

    forged(
        "update",
        receiver,
        ResourceProperties=create_properties(),
        OldResourceProperties=create_properties(IAM_GUARD_GROUP_NAME="iamguardsecuredusers"),
    )

    assert iam_state(iam_client) == deployed


def test_a_forged_rename_during_a_real_update_must_carry_the_resources_previous_properties(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], stack: CloudFormationStandIn
) -> None:
    """The new settings are the stack's; the old ones name Developers, so that its members would join the
    secured group and Developers would be deleted."""
    stack.begin("Update", create_properties())

    result = forged(
        "update",
        receiver,
        ResourceProperties=create_properties(),
        OldResourceProperties=create_properties(IAM_GUARD_GROUP_NAME="Developers"),
    )

    assert result["Status"] == "REFUSED"
    assert "not the resource's properties before this operation (IAM_GUARD_GROUP_NAME)" in result["Reason"]
    assert iam_state(iam_client) == deployed
    assert receiver.cloudformation_replies() == []


def test_a_genuine_rename_is_checked_against_events_pages_back(
    iam_client: Any, receiver: SlackReceiver, stack: CloudFormationStandIn
) -> None:
    deployed_with_a_member(iam_client, receiver, "alice")
    stack.other_events(250)  # the create's events are now on the third page

    reply = invoke("update", receiver)

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert [u["UserName"] for u in iam_client.get_group(GroupName="IAMGuardSecuredUsers2")["Users"]] == [
        "alice"
    ]
    assert "IAMGuardSecuredUsers" not in group_names(iam_client)


def test_a_rename_whose_old_properties_are_beyond_the_history_read_is_refused(
    iam_client: Any, receiver: SlackReceiver, stack: CloudFormationStandIn
) -> None:
    from core.guardrail.custom_resource import HISTORY_PAGES

    deployed_with_a_member(iam_client, receiver, "alice")
    stack.other_events(HISTORY_PAGES * 100)
    event = {**load_event("policy-resource-update.json"), "ResponseURL": receiver.response_url}
    stack.begin("Update", event["ResourceProperties"])

    result = handler().lambda_handler(event, FakeLambdaContext(FUNCTION))

    assert result["Status"] == "REFUSED"
    assert "hold no earlier properties" in result["Reason"]
    assert [u["UserName"] for u in iam_client.get_group(GroupName="IAMGuardSecuredUsers")["Users"]] == [
        "alice"
    ]


def test_a_rolled_back_rename_restores_the_group_and_its_members(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    deployed_with_a_member(iam_client, receiver, "alice")
    update = load_event("policy-resource-update.json")
    assert invoke("update", receiver)["Status"] == "SUCCESS"

    rollback = invoke(
        "update",
        receiver,
        stack_status="UPDATE_ROLLBACK_IN_PROGRESS",
        ResourceProperties=update["OldResourceProperties"],
        OldResourceProperties=update["ResourceProperties"],
    )

    assert rollback["Status"] == "SUCCESS", rollback["Reason"]
    assert [u["UserName"] for u in iam_client.get_group(GroupName="IAMGuardSecuredUsers")["Users"]] == [
        "alice"
    ]
    assert "IAMGuardSecuredUsers2" not in group_names(iam_client)


def test_a_genuine_case_only_group_name_change_keeps_the_group_and_its_members(
    iam_client: Any, receiver: SlackReceiver
) -> None:
    deployed_with_a_member(iam_client, receiver, "alice")

    reply = invoke(
        "update",
        receiver,
        ResourceProperties=create_properties(IAM_GUARD_GROUP_NAME="IAMGUARDSecuredUsers"),
        OldResourceProperties=create_properties(),
    )

    assert reply["Status"] == "SUCCESS", reply["Reason"]
    assert [u["UserName"] for u in iam_client.get_group(GroupName="IAMGuardSecuredUsers")["Users"]] == [
        "alice"
    ]
    assert attached(iam_client, "IAMGuardSecuredUsers") == [POLICY_ARN]


@pytest.mark.parametrize("resource_status", ["UPDATE_COMPLETE", "DELETE_IN_PROGRESS"])
def test_a_forged_delete_during_an_updates_cleanup_is_refused(
    iam_client: Any,
    receiver: SlackReceiver,
    deployed: dict[str, Any],
    stack: CloudFormationStandIn,
    resource_status: str,
) -> None:
    """UPDATE_COMPLETE_CLEANUP_IN_PROGRESS follows every successful update, and CloudFormation does send
    Deletes then - for replaced resources only, and this one's physical ID never changes."""
    stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    stack.resource_status = resource_status

    result = forged("delete", receiver)

    assert result["Status"] == "REFUSED"
    assert "the Guardrail the stack still uses" in result["Reason"]
    assert iam_state(iam_client) == deployed
    assert receiver.cloudformation_replies() == []


def test_a_forged_delete_during_the_stacks_real_deletion_cannot_name_another_group(
    iam_client: Any, receiver: SlackReceiver, deployed: dict[str, Any], stack: CloudFormationStandIn
) -> None:
    stack.status, stack.resource_status = "DELETE_IN_PROGRESS", "DELETE_IN_PROGRESS"
    stack.event_properties = None  # CloudFormation's Delete event need not carry the properties

    result = forged("delete", receiver, ResourceProperties=create_properties(IAM_GUARD_GROUP_NAME="Admins"))

    assert result["Status"] == "REFUSED"
    assert "IAM_GUARD_GROUP_NAME" in result["Reason"]
    assert iam_state(iam_client) == deployed
