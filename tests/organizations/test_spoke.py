"""org/spoke.yaml against the code: code-free, fixed names, roles granting exactly what the code declares
with the single-account stack's scoping, the rules matching core's event lists."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.events.models import EventPattern
from tests.organizations.spoke_model import MEMBER, load_spoke, resolve, role, role_job
from tests.template.template_model import as_list, role_policies, statements

from core.enforce import events
from core.model.naming import AUDIT_ROLE, ENFORCE_ROLE
from core.org import spoke
from core.org.routing import is_read_action
from core.sweep import enrolled_tag


def resources() -> dict[str, Any]:
    found: dict[str, Any] = load_spoke()["Resources"]
    return found


def granted(document: dict[str, Any]) -> dict[str, list[str]]:
    """action -> resources of the Allow statements."""
    result: dict[str, list[str]] = {}
    for statement in statements(document):
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            result.setdefault(action, []).extend(as_list(statement["Resource"]))
    return result


def test_the_spoke_is_plain_cloudformation_with_only_roles_and_rules() -> None:
    template = load_spoke()

    assert "Transform" not in template
    assert {r["Type"] for r in resources().values()} == {"AWS::IAM::Role", "AWS::Events::Rule"}
    assert "ZipFile" not in str(template)
    assert "Lambda" not in str(template)


def test_names_are_the_ones_the_code_uses() -> None:
    assert role("AuditRole")["RoleName"] == AUDIT_ROLE
    assert role("EnforceRole")["RoleName"] == ENFORCE_ROLE
    assert role("ForwardRole")["RoleName"] == spoke.FORWARD_ROLE
    assert {r["Properties"]["Name"] for r in resources().values() if r["Type"] == "AWS::Events::Rule"} == set(
        spoke.SPOKE_RULES
    )


def test_the_audit_role_grants_exactly_the_sweeps_reads_and_the_findings_import() -> None:
    actions = granted(role_job("AuditRole"))

    assert set(actions) == spoke.role_permissions()[0]
    assert all(is_read_action(a) or a.startswith("securityhub:") for a in actions)
    assert actions["iam:ListAccessKeys"] == [f"arn:aws:iam::{MEMBER}:user/*"]


@pytest.mark.parametrize("guardduty", [False, True])
def test_the_enforce_role_grants_the_enforcers_calls_and_the_sweeps_writes_scoped_as_in_one_account(
    guardduty: bool,
) -> None:
    names = {"GroupName": "Secured", "PolicyName": "Guardrail"}
    switch = {"GuardDutyFindings": str(guardduty).lower()}
    actions = granted(role_job("EnforceRole", {**names, **switch}))
    single: dict[str, list[str]] = {}
    for function in ("EnforcerFunction", "SweepFunction"):
        for action, scoped in granted(role_policies(function, {**names, **switch})["job"]).items():
            single.setdefault(action, scoped)

    assert set(actions) == spoke.role_permissions(guardduty)[1]
    # The leaked-key response's reads in the member: exactly these beyond IAM, GuardDuty only when on.
    beyond_iam = {a for a in actions if not a.startswith("iam:")}
    expected = {"cloudtrail:LookupEvents", "health:DescribeAffectedEntities", "health:DescribeEventDetails"}
    assert beyond_iam == expected | ({"guardduty:GetFindings"} if guardduty else set())
    for action, scoped in actions.items():
        if action in enrolled_tag.PERMISSIONS:  # members only: the enrolled tag (test_deny_unenrolled_scp)
            continue
        # The single-account stack's scope for the same action, in this member account.
        assert scoped == [r.replace("123456789012", MEMBER) for r in single[action]], action


def test_the_forward_rule_matches_exactly_the_events_the_enforcer_handles() -> None:
    pattern = resources()["ForwardRule"]["Properties"]["EventPattern"]

    assert pattern["source"] == [events.IAM_SOURCE]
    assert pattern["detail-type"] == [events.CLOUDTRAIL_DETAIL_TYPE]
    assert pattern["detail"]["eventSource"] == [events.IAM_EVENT_SOURCE]
    assert sorted(pattern["detail"]["eventName"]) == sorted(events.HANDLED_EVENTS)
    assert pattern["detail"]["errorCode"] == [{"exists": False}]


def test_the_spoke_changes_rule_matches_the_hubs_spoke_classifier() -> None:
    pattern = resources()["SpokeChangesRule"]["Properties"]["EventPattern"]
    iam, rules, targets = pattern["detail"]["$or"]

    assert sorted(iam["eventName"]) == sorted(spoke.ROLE_CHANGE_EVENTS)
    assert [r["equals-ignore-case"] for r in iam["requestParameters"]["roleName"]] == list(spoke.SPOKE_ROLES)
    assert sorted(rules["eventName"]) == sorted(spoke.RULE_CHANGE_EVENTS)
    assert rules["requestParameters"]["name"] == list(spoke.SPOKE_RULES)
    assert targets["requestParameters"]["rule"] == list(spoke.SPOKE_RULES)


def test_both_rules_forward_to_the_hub_bus_with_a_role_that_may_only_put_events_there() -> None:
    for logical in ("ForwardRule", "SpokeChangesRule"):
        (target,) = resolve(resources()[logical]["Properties"]["Targets"])
        assert target["Arn"] == "arn:aws:events:us-east-1:111122223333:event-bus/iam-guard_org-events"
        assert target["RoleArn"] == f"arn:aws:iam::{MEMBER}:role/IAMGuardForwardRole"
    assert granted(role_job("ForwardRole")) == {
        "events:PutEvents": ["arn:aws:events:us-east-1:111122223333:event-bus/iam-guard_org-events"]
    }


def _event(issuer: str | None, name: str = "CreateUser", error: bool = False) -> dict[str, Any]:
    identity: dict[str, Any] = {"type": "IAMUser", "arn": f"arn:aws:iam::{MEMBER}:user/admin"}
    if issuer is not None:
        identity = {
            "type": "AssumedRole",
            "arn": f"arn:aws:sts::{MEMBER}:assumed-role/{issuer}/s",
            "sessionContext": {"sessionIssuer": {"type": "Role", "userName": issuer}},
        }
    detail: dict[str, Any] = {"eventSource": "iam.amazonaws.com", "eventName": name, "userIdentity": identity}
    if error:
        detail["errorCode"] = "AccessDenied"
    return {
        "id": "1",
        "source": "aws.iam",
        "detail-type": "AWS API Call via CloudTrail",
        "account": MEMBER,
        "time": "2025-01-15T09:30:12Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


@pytest.mark.parametrize(
    ("event", "forwarded"),
    [
        (_event(None), True),  # an IAM user's own call: no session issuer
        (_event("AWSReservedSSO_Admin_0a1b"), True),
        (_event("IAMGuardEnforceRole"), False),  # the hub's own writes: dropped at the source
        (_event("IAMGuardEnforceRoleX"), True),
        (_event(None, name="ListUsers"), False),
        (_event(None, error=True), False),
    ],
)
def test_the_forward_pattern_drops_only_the_enforce_roles_own_events(
    event: dict[str, Any], forwarded: bool
) -> None:
    """Evaluated by moto's EventBridge pattern matcher (an emulator's, not AWS's: moto does not answer
    TestEventPattern, so its rule matcher is asked directly)."""
    pattern = resources()["ForwardRule"]["Properties"]["EventPattern"]

    assert EventPattern.load(json.dumps(pattern)).matches_event(event) is forwarded
