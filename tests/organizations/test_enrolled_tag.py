"""The enrolled tag ``iam-guard:enrolled=true`` that the IAMGuardDenyUnenrolled SCP reads: in member
accounts the sweep (``iam-guard audit --org``) and the enforcer (``iam-guard enforce --org-role``) keep it
on exactly the secured group's members, through the spoke's IAMGuardEnforceRole (moto, real AssumeRole)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import load_event
from tests.organizations.conftest import GROUP, Org, pinned_client

from cli.main import main
from core.model.findings import UserRecord
from core.sweep.enrolled_tag import TagPlan, plan_enrolled_tags

TAG = {"Key": "iam-guard:enrolled", "Value": "true"}


def tags_of(client: Any, user: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_user_tags(UserName=user)["Tags"]}


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["audit", "--org", "--format", "json", "--grace-days", "0", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def test_the_org_sweep_tags_every_member_untags_the_others_then_writes_nothing(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    member = small_org.members[0]  # alice, bob in the group; carol outside (enrolled by this sweep)
    client = pinned_client("iam", member)
    client.create_user(UserName="ex", Tags=[{"Key": "iam-guard:exempt", "Value": "2099-01-01"}, TAG])
    client.create_user(UserName="forged", Tags=[{"Key": "iam-guard:enrolled", "Value": "yes"}])
    client.add_user_to_group(GroupName=GROUP, UserName="forged")

    code, _, err = audit(capsys, "--apply")

    assert code == 0, err
    for account_id in small_org.members:
        iam = pinned_client("iam", account_id)
        members = {u["UserName"] for u in iam.get_group(GroupName=GROUP)["Users"]}
        assert members
        assert all(tags_of(iam, u).get("iam-guard:enrolled") == "true" for u in members), account_id
    assert "carol" in {u["UserName"] for u in client.get_group(GroupName=GROUP)["Users"]}
    assert tags_of(client, "forged")["iam-guard:enrolled"] == "true"
    assert tags_of(client, "ex") == {"iam-guard:exempt": "2099-01-01"}  # outside the group: untagged

    sts_calls["assume"].clear()
    code, document, err = audit(capsys, "--apply")

    assert code == 0, err
    assert all(a["write_role_assumed"] is False for a in document["accounts"])  # the steady state
    assert not any(p["RoleArn"].endswith("/IAMGuardEnforceRole") for p in sts_calls["assume"])


def test_a_dry_run_tags_nobody(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = audit(capsys, "--dry-run")

    assert code == 0, err
    entry = next(a for a in document["accounts"] if a["account_id"] == small_org.members[1])
    assert entry["enrolled_tags"] == ["would tag alice", "would tag bob"]
    iam = pinned_client("iam", small_org.members[1])
    assert "iam-guard:enrolled" not in tags_of(iam, "alice")


def test_the_enforcer_tags_the_user_it_enrols_in_a_member(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    member = small_org.members[2]
    client = pinned_client("iam", member)
    client.create_user(UserName="newbie")
    event = copy.deepcopy(load_event("enforcer-create-user.json"))
    event["account"] = member
    event["detail"]["recipientAccountId"] = member
    event["detail"]["requestParameters"]["userName"] = "newbie"
    event["detail"]["responseElements"]["user"]["userName"] = "newbie"
    event["detail"]["responseElements"]["user"]["arn"] = f"arn:aws:iam::{member}:user/newbie"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))

    code = main(
        [
            "enforce",
            "--event",
            str(path),
            "--org-role",
            "IAMGuardEnforceRole",
            "--allowed-cidr",
            "203.0.113.0/24",
        ]
    )
    out, err = capsys.readouterr()

    assert code == 0, err
    assert json.loads(out)["action"] == "enrolled"
    assert tags_of(client, "newbie") == {"iam-guard:enrolled": "true"}


def record(name: str, groups: set[str], tags: dict[str, str]) -> UserRecord:
    from datetime import UTC, datetime

    return UserRecord(
        name, f"arn:aws:iam::1:user/{name}", datetime(2026, 1, 1, tzinfo=UTC), frozenset(groups), tags
    )


def test_the_plan_tags_members_without_the_tag_and_untags_everybody_else_who_has_it() -> None:
    users = [
        record("ok", {GROUP}, {"iam-guard:enrolled": "true"}),
        record("untagged", {GROUP}, {}),
        record("wrong-value", {GROUP}, {"IAM-Guard:Enrolled": "True"}),
        record("just-enrolled", set(), {}),
        record("left", set(), {"iam-guard:enrolled": "true"}),
        record("outside", {"Developers"}, {}),
    ]

    assert plan_enrolled_tags(users, GROUP, ["just-enrolled"]) == TagPlan(
        tag=("just-enrolled", "untagged", "wrong-value"), untag=("left",)
    )
