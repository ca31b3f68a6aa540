"""``iam-guard enforce --event FILE --org-role NAME``: a member's event is enforced in that member only."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import load_event
from tests.organizations.conftest import GROUP, MANAGEMENT, Org, pinned_client

from cli.main import main


def member_event(account_id: str, user: str, tmp_path: Path) -> Path:
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = account_id
    event["detail"]["recipientAccountId"] = account_id
    event["detail"]["requestParameters"]["userName"] = user
    event["detail"]["responseElements"]["user"]["userName"] = user
    event["detail"]["responseElements"]["user"]["arn"] = f"arn:aws:iam::{account_id}:user/{user}"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    return path


def state(client: Any) -> dict[str, Any]:
    """What IAM Guard could have changed in an account: group members, its policies, attachments."""
    groups = {g["GroupName"] for g in client.list_groups()["Groups"]}
    return {
        "members": {g: sorted(u["UserName"] for u in client.get_group(GroupName=g)["Users"]) for g in groups},
        "attached": {
            g: sorted(
                p["PolicyArn"] for p in client.list_attached_group_policies(GroupName=g)["AttachedPolicies"]
            )
            for g in groups
        },
        "policies": sorted(p["PolicyName"] for p in client.list_policies(Scope="Local")["Policies"]),
    }


def test_a_members_create_user_enrols_the_user_in_that_member_only(
    small_org: Org,
    sts_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    member = small_org.members[4]
    pinned_client("iam", member).create_user(UserName="newbie")
    others = [a for a in small_org.members if a != member]
    before = {a: state(pinned_client("iam", a)) for a in others}
    before[MANAGEMENT] = state(boto3.client("iam", region_name="us-east-1"))
    event = member_event(member, "newbie", tmp_path)

    code = main(
        [
            "enforce",
            "--event",
            str(event),
            "--org-role",
            "IAMGuardEnforceRole",
            "--allowed-cidr",
            "203.0.113.0/24",
        ]
    )
    out, err = capsys.readouterr()

    assert code == 0, err
    result = json.loads(out)
    assert result["account_id"] == member
    assert result["action"] == "enrolled"
    assert result["user"] == "newbie"
    after = state(pinned_client("iam", member))
    assert "newbie" in after["members"][GROUP]
    assert after["policies"] == ["IAMGuardSecureIAMPolicy"]  # the guardrail, created by the hub in the member
    assert after["attached"][GROUP] == [f"arn:aws:iam::{member}:policy/iam-guard/IAMGuardSecureIAMPolicy"]
    # Nothing changed anywhere else, management account included.
    assert {a: state(pinned_client("iam", a)) for a in others} == {a: before[a] for a in others}
    assert state(boto3.client("iam", region_name="us-east-1")) == before[MANAGEMENT]
    assert [(p["RoleArn"], p["RoleSessionName"]) for p in sts_calls["assume"]] == [
        (f"arn:aws:iam::{member}:role/IAMGuardEnforceRole", "iam-guard-enforce")
    ]


def test_events_of_the_members_own_enforce_role_are_ignored(
    small_org: Org,
    sts_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    member = small_org.members[1]
    path = member_event(member, "alice", tmp_path)
    event = json.loads(path.read_text())
    issuer = f"arn:aws:iam::{member}:role/IAMGuardEnforceRole"
    event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = issuer
    path.write_text(json.dumps(event))

    code = main(["enforce", "--event", str(path), "--org-role", "IAMGuardEnforceRole", "--no-ip-restriction"])
    result = json.loads(capsys.readouterr().out)

    assert code == 0
    assert result["action"] == "ignored"
    assert result["reason"] == "caused by IAM Guard itself (one of its own roles)"


def test_a_denied_enforce_role_is_one_line_and_exit_1(
    small_org: Org,
    sts_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    member = small_org.members[2]
    sts_calls["deny"].add(f"arn:aws:iam::{member}:role/IAMGuardEnforceRole")

    code = main(
        [
            "enforce",
            "--event",
            str(member_event(member, "alice", tmp_path)),
            "--org-role",
            "IAMGuardEnforceRole",
            "--no-ip-restriction",
        ]
    )
    out, err = capsys.readouterr()

    assert code == 1
    assert out == ""
    assert err.strip() == (
        "iam-guard enforce: AssumeRole failed: AccessDenied: not authorized to perform sts:AssumeRole"
    )
