"""Who counts as IAM Guard's own StackSet when the hub classifies a spoke change (issue 21, item 4).

Only the service-managed StackSet's execution roles (``stacksets-exec-*``, names the IAMGuardProtect SCP
lets nobody create) make a spoke change ``infrastructure-changed``; a role a member administrator named
``AWSCloudFormationStackSetExecutionRole`` (the self-managed StackSets role, which IAM Guard never uses)
is tampering like any other caller.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from tests.conftest import load_event

from core.org.spoke import spoke_change

MEMBER = "210987654321"


def role_change_by(role: str) -> dict[str, Any]:
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = MEMBER
    event["detail"].update(
        {
            "eventName": "PutRolePolicy",
            "requestParameters": {"roleName": "IAMGuardEnforceRole", "policyName": "x"},
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{MEMBER}:assumed-role/{role}/session",
                "accountId": MEMBER,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{MEMBER}:role/{role}"}
                },
            },
        }
    )
    return event


@pytest.mark.parametrize(
    ("role", "by_stackset"),
    [
        ("stacksets-exec-0123456789abcdef0123456789abcdef", True),
        ("AWSCloudFormationStackSetExecutionRole", False),
        ("Admin", False),
    ],
)
def test_only_the_service_managed_execution_role_is_the_stackset(role: str, by_stackset: bool) -> None:
    change = spoke_change(role_change_by(role))

    assert change is not None
    assert change.resource == "role/IAMGuardEnforceRole"
    assert change.by_stackset is by_stackset


@pytest.mark.parametrize("event_name", ["TagRole", "UntagRole"])
def test_tagging_a_spoke_role_is_a_spoke_change_forwarded_to_the_hub(event_name: str) -> None:
    """The hub watches TagRole / UntagRole on its own roles; the spoke's roles the same."""
    from tests.organizations.test_spoke import resources

    event = role_change_by("Admin")
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"] = {"roleName": "iamguardauditrole", "tagKeys": ["x"]}

    change = spoke_change(event)
    (iam,) = [
        p
        for p in resources()["SpokeChangesRule"]["Properties"]["EventPattern"]["detail"]["$or"]
        if "roleName" in p.get("requestParameters", {})
    ]

    assert change is not None
    assert not change.by_stackset
    assert change.resource == "role/IAMGuardAuditRole"
    assert event_name in iam["eventName"]


# --- the hub's StackSet must have been working in that account then (issue 21, item 4's last part) ---
#
# moto has no CallAs on ListStackSetOperations / ListStackSetOperationResults (docs/organizations.md):
# a botocore Stubber on a real CloudFormation client answers in AWS's response format, and checks each
# request (the StackSet's name, CallAs DELEGATED_ADMIN).

STACK = "iam-guard"  # tests/template/template_model.py's stack: the call recorder checks the role with it
STACKSET = f"{STACK}-spoke"
EXEC_ROLE = "stacksets-exec-0123456789abcdef0123456789abcdef"
CALL_TIME = datetime(2026, 12, 7, 10, 0, 0, tzinfo=UTC)
NOW = CALL_TIME + timedelta(minutes=4)  # CloudTrail delivered the event four minutes later


class NoAssumer:
    """A spoke change needs no credentials in the member: any use fails the test."""

    def access(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a spoke change must not assume a role in the member")

    def forget(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("unexpected")


def timed(event: dict[str, Any]) -> dict[str, Any]:
    event["detail"]["eventTime"] = CALL_TIME.strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def operation(
    operation_id: str, status: str, started: datetime, ended: datetime | None = None
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "OperationId": operation_id,
        "Action": "UPDATE",
        "Status": status,
        "CreationTimestamp": started,
    }
    if ended is not None:
        found["EndTimestamp"] = ended
    return found


def result(account: str, status: str) -> dict[str, Any]:
    return {
        "Account": account,
        "Region": "us-east-1",
        "Status": status,
        "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "No Account Gate function"},
        "OrganizationalUnitId": "ou-ab12-cd34ef56",
    }


class HubCloudFormation:
    """The hub's CloudFormation as AWS answers it, one queued answer per call."""

    def __init__(self) -> None:
        import boto3
        from botocore.stub import Stubber

        from core.aws.cloudformation import CloudFormationGateway
        from core.aws.gateway import Retrier

        self.client = boto3.client("cloudformation", region_name="us-east-1")
        self.stubber = Stubber(self.client)
        self.gateway = CloudFormationGateway(self.client, retrier=Retrier(sleep=lambda _: None))

    def operations(self, *found: dict[str, Any]) -> None:
        self.stubber.add_response(
            "list_stack_set_operations",
            {"Summaries": list(found)},
            {"StackSetName": STACKSET, "CallAs": "DELEGATED_ADMIN", "MaxResults": 100},
        )

    def results(self, operation_id: str, *found: dict[str, Any]) -> None:
        self.stubber.add_response(
            "list_stack_set_operation_results",
            {"Summaries": list(found)},
            {
                "StackSetName": STACKSET,
                "OperationId": operation_id,
                "CallAs": "DELEGATED_ADMIN",
                "MaxResults": 100,
            },
        )

    def handle(self, event: dict[str, Any]) -> Any:
        from core.enforce.actions import GuardrailCache
        from core.model.alerts import RecordingSink
        from core.model.settings import build_settings
        from core.org.enforce import enforce_member_event

        sink = RecordingSink()
        with self.stubber:
            outcome = enforce_member_event(
                event,
                assumer=NoAssumer(),  # type: ignore[arg-type]
                role_name="IAMGuardEnforceRole",
                settings=build_settings(ip_restriction=False, stack_name=STACK),
                sink=sink,
                cache=GuardrailCache(),
                now=lambda: NOW,
                stacksets=self.gateway,
            )
        self.stubber.assert_no_pending_responses()
        return outcome


def test_a_change_by_the_execution_role_during_the_stacksets_running_operation_is_the_rollout() -> None:
    from core.model.alerts import AlertKind, Severity

    cfn = HubCloudFormation()
    cfn.operations(
        operation("op-old", "SUCCEEDED", CALL_TIME - timedelta(days=3), CALL_TIME - timedelta(days=3)),
        operation("op-now", "RUNNING", CALL_TIME - timedelta(minutes=2)),
    )
    cfn.results("op-now", result("111111111111", "SUCCEEDED"), result(MEMBER, "RUNNING"))

    outcome = cfn.handle(timed(role_change_by(EXEC_ROLE)))

    assert outcome.action == "infrastructure-changed"
    (alert,) = outcome.alerts
    assert (alert.kind, alert.severity) == (AlertKind.INFRASTRUCTURE_CHANGED, Severity.INFO)


def test_an_operation_that_ended_after_the_call_still_counts_the_event_arrives_late() -> None:
    cfn = HubCloudFormation()
    cfn.operations(
        operation("op-1", "SUCCEEDED", CALL_TIME - timedelta(minutes=3), CALL_TIME + timedelta(minutes=1))
    )
    cfn.results("op-1", result(MEMBER, "SUCCEEDED"))

    assert cfn.handle(timed(role_change_by(EXEC_ROLE))).action == "infrastructure-changed"


@pytest.mark.parametrize(
    ("operations", "results", "why"),
    [
        pytest.param([], None, "had no operation in account", id="no-operation"),
        pytest.param(
            [operation("op-1", "SUCCEEDED", CALL_TIME - timedelta(hours=2), CALL_TIME - timedelta(hours=1))],
            None,
            "had no operation in account",
            id="an-operation-that-ended-before-the-call",
        ),
        pytest.param(
            [operation("op-1", "RUNNING", CALL_TIME - timedelta(minutes=5))],
            [result("111111111111", "RUNNING")],
            "had no operation in account",
            id="running-in-other-accounts-only",
        ),
        pytest.param(
            [operation("op-1", "RUNNING", CALL_TIME - timedelta(minutes=5))],
            [result(MEMBER, "PENDING")],
            "had no operation in account",
            id="this-account-not-reached-yet",
        ),
        pytest.param(
            [operation("op-1", "QUEUED", CALL_TIME - timedelta(minutes=5))],
            None,
            "had no operation in account",
            id="queued-not-running",
        ),
    ],
)
def test_a_role_named_like_the_execution_role_outside_an_operation_is_tampering(
    operations: list[dict[str, Any]], results: list[dict[str, Any]] | None, why: str
) -> None:
    """A member administrator without the IAMGuardProtect SCP can create a role named stacksets-exec-x."""
    from core.model.alerts import AlertKind, Severity

    cfn = HubCloudFormation()
    cfn.operations(*operations)
    if results is not None:
        cfn.results("op-1", *results)

    outcome = cfn.handle(timed(role_change_by("stacksets-exec-x")))

    assert outcome.action == "infrastructure-tampered"
    (alert,) = outcome.alerts
    assert (alert.kind, alert.severity) == (AlertKind.INFRASTRUCTURE_TAMPERED, Severity.HIGH)
    assert "named like a StackSet execution role" in alert.summary
    assert why in alert.summary
    assert MEMBER in alert.summary


def test_when_the_stacksets_operations_cannot_be_read_the_change_is_tampering() -> None:
    cfn = HubCloudFormation()
    cfn.stubber.add_client_error(
        "list_stack_set_operations",
        service_error_code="AccessDenied",
        service_message="User is not authorized to perform: cloudformation:ListStackSetOperations",
        http_status_code=403,
    )

    outcome = cfn.handle(timed(role_change_by(EXEC_ROLE)))

    assert outcome.action == "infrastructure-tampered"
    assert "could not be read" in outcome.alerts[0].summary
    assert "AccessDenied" in outcome.alerts[0].summary


def test_any_other_caller_is_tampering_without_asking_cloudformation() -> None:
    cfn = HubCloudFormation()  # nothing queued: any call would fail

    outcome = cfn.handle(timed(role_change_by("Admin")))

    assert outcome.action == "infrastructure-tampered"
    assert "named like a StackSet execution role" not in outcome.alerts[0].summary
