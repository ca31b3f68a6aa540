"""Who counts as IAM Guard's own StackSet when the hub classifies a spoke change (issue 21, item 4).

Only the service-managed StackSet's execution roles (``stacksets-exec-*``, names the IAMGuardProtect SCP
lets nobody create) make a spoke change ``infrastructure-changed``; a role a member administrator named
``AWSCloudFormationStackSetExecutionRole`` (the self-managed StackSets role, which IAM Guard never uses)
is tampering like any other caller.
"""

from __future__ import annotations

import copy
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
