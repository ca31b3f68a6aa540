"""Renaming the secured group, or moving it off IAM Guard's path, is tampering: healed, never left behind.

`aws iam update-group --group-name IAMGuardSecuredUsers --new-group-name legacy-users` as CloudTrail records
it (requestParameters groupName / newGroupName / newPath), on moto IAM.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.enforce.conftest import GROUP, POLICY_ARN, Harness, make_settings, sample

from core.enforce.commands import RestoreRenamedGroup
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.model.alerts import AlertKind, Severity
from core.model.naming import IAM_PATH

ACTOR = "arn:aws:iam::123456789012:user/ops-mallory"


def update_group(
    new_name: str | None = None, new_path: str | None = None, group: str = GROUP
) -> dict[str, Any]:
    event = sample("delete-group")
    event["detail"]["eventName"] = "UpdateGroup"
    event["detail"]["userIdentity"]["arn"] = ACTOR
    parameters: dict[str, Any] = {"groupName": group}
    if new_name:
        parameters["newGroupName"] = new_name
    if new_path:
        parameters["newPath"] = new_path
    event["detail"]["requestParameters"] = parameters
    return event


def members(harness: Harness, group: str) -> list[str]:
    return sorted(u["UserName"] for u in harness.client.get_group(GroupName=group)["Users"])


def path_of(harness: Harness, group: str) -> str:
    return str(harness.client.get_group(GroupName=group)["Group"]["Path"])


@pytest.fixture
def team(deployed: Harness) -> Harness:
    for user in ("alice", "bob"):
        deployed.create_user(user, enrolled=True)
    return deployed


def test_update_group_on_the_secured_group_is_a_tamper_command() -> None:
    command = command_for(parse_event(update_group("legacy-users")), make_settings())

    assert isinstance(command, RestoreRenamedGroup)
    assert (command.new_name, command.new_path) == ("legacy-users", None)


def test_renamed_on_the_path_is_renamed_back_with_members_and_policy(team: Harness) -> None:
    team.client.update_group(GroupName=GROUP, NewGroupName="legacy-users")

    result = team.run(update_group("legacy-users"))

    assert result.action == "healed"
    assert members(team, GROUP) == ["alice", "bob"]
    assert path_of(team, GROUP) == IAM_PATH
    attached = team.client.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]
    assert "legacy-users" not in {g["GroupName"] for g in team.client.list_groups()["Groups"]}
    (alert,) = result.alerts
    assert alert.kind is AlertKind.TAMPER_HEALED
    assert alert.severity is Severity.HIGH
    assert "user/ops-mallory" in alert.title


@pytest.mark.usefixtures("moto_moves_group_paths")
def test_moved_off_the_path_under_its_own_name_is_moved_back(team: Harness) -> None:
    team.client.update_group(GroupName=GROUP, NewPath="/")

    result = team.run(update_group(new_path="/"))

    assert result.action == "healed"
    assert path_of(team, GROUP) == IAM_PATH
    assert members(team, GROUP) == ["alice", "bob"]


def test_renamed_off_the_path_the_group_is_made_again_and_every_member_joins_it(team: Harness) -> None:
    """Out of reach of IAM Guard's roles: nobody may stay with less protection than before."""
    team.client.update_group(GroupName=GROUP, NewGroupName="legacy-users", NewPath="/")
    team.client.detach_group_policy(GroupName="legacy-users", PolicyArn=POLICY_ARN)  # then stripped

    result = team.run(update_group("legacy-users", "/"))

    assert result.action == "healed"
    assert path_of(team, GROUP) == IAM_PATH
    assert members(team, GROUP) == ["alice", "bob"]
    attached = team.client.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]
    assert members(team, "legacy-users") == ["alice", "bob"]  # left for an administrator to delete
    (alert,) = result.alerts
    assert alert.severity is Severity.HIGH
    assert "Delete /legacy-users" in alert.summary
    assert "2 member(s)" in alert.summary


def test_the_configured_group_made_again_meanwhile_gets_the_renamed_groups_members(team: Harness) -> None:
    team.client.update_group(GroupName=GROUP, NewGroupName="legacy-users")
    team.client.create_group(GroupName=GROUP, Path=IAM_PATH)  # e.g. an enrolment ran in between

    result = team.run(update_group("legacy-users"))

    assert result.action == "healed"
    assert members(team, GROUP) == ["alice", "bob"]


def test_a_dry_run_renames_nothing(team: Harness) -> None:
    team.client.update_group(GroupName=GROUP, NewGroupName="legacy-users")

    result = team.run(update_group("legacy-users"), settings=make_settings(dry_run=True))

    assert result.dry_run
    assert members(team, "legacy-users") == ["alice", "bob"]
    assert GROUP not in {g["GroupName"] for g in team.client.list_groups()["Groups"]}


def test_another_group_renamed_to_the_secured_groups_name_gets_the_guardrail() -> None:
    command = command_for(
        parse_event(update_group("IAMGuardSecuredUsers", group="Developers")), make_settings()
    )

    assert type(command).__name__ == "HealGuardrail"


def test_renames_of_other_groups_are_ignored() -> None:
    command = command_for(parse_event(update_group("Developers2", group="Developers")), make_settings())

    assert type(command).__name__ == "Ignore"
