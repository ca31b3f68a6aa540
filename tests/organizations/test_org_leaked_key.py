"""Organizations mode: a member's AWS Health leaked-key event, forwarded to the hub, is answered in that
member only, through its enforce role; a forged event naming another member's key changes nothing.

moto emulates IAM, STS and Organizations, not AWS Health: the events are the samples' shape.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.enforce.test_leaked_key import QUARANTINE, health_event
from tests.organizations.conftest import Org, pinned_client

from cli.main import main


@pytest.fixture(autouse=True)
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def leaked_in(account: str) -> str:
    iam = pinned_client("iam", account)
    iam.create_user(UserName="build-bot")
    key: str = iam.create_access_key(UserName="build-bot")["AccessKey"]["AccessKeyId"]
    iam.attach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    return key


def status(account: str, key: str) -> str:
    listed = pinned_client("iam", account).list_access_keys(UserName="build-bot")["AccessKeyMetadata"]
    return str(next(k["Status"] for k in listed if k["AccessKeyId"] == key))


def enforce_in_org(event: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    code = main(["enforce", "--event", str(path), "--org-role", "IAMGuardEnforceRole", "--no-ip-restriction"])
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def test_a_members_leaked_key_is_deactivated_in_that_member_through_its_enforce_role(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    member = small_org.members[3]
    key = leaked_in(member)
    event = health_event(key, "AWS_RISK_IAM_QUARANTINE")
    event["account"] = member

    result = enforce_in_org(event, tmp_path, capsys)

    assert result["account_id"] == member
    assert result["action"] == "leaked-key-deactivated"
    assert status(member, key) == "Inactive"
    assert [p["RoleArn"] for p in sts_calls["assume"]] == [f"arn:aws:iam::{member}:role/IAMGuardEnforceRole"]


def test_a_forged_event_naming_another_members_key_changes_nothing(
    small_org: Org, sts_calls: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    owner, forger = small_org.members[3], small_org.members[4]
    key = leaked_in(owner)
    event = health_event(key)
    event["account"] = forger  # "this key is mine": STS says whose it really is

    result = enforce_in_org(event, tmp_path, capsys)

    assert result["action"] == "leaked-key-alerted"
    assert owner in result["alerts"][0]["summary"]
    assert status(owner, key) == "Active"
