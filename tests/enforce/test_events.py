"""Classification of every sample event, and every ignore rule. Pure: no AWS."""

from __future__ import annotations

import pytest
from tests.enforce.conftest import make_settings, sample

from core.enforce.commands import (
    EnrolUser,
    ExemptionChanged,
    HealGuardrail,
    Ignore,
    RestoreMembership,
    RootAccessKeyCreated,
)
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.model.errors import InvalidEventError

SETTINGS = make_settings()
ENFORCER_ROLE = "arn:aws:iam::123456789012:role/iam-guard/iam-guard/iam-guard_enforcer"


def classified(name: str, **detail_changes: object) -> object:
    return command_for(parse_event(sample(name, **detail_changes)), SETTINGS, frozenset({ENFORCER_ROLE}))


@pytest.mark.parametrize(
    ("name", "user", "tags"),
    [
        ("create-user", "dev-bob", {}),
        ("create-user-tagged", "dev-carol", {"team": "payments", "cost-center": "cc-1042"}),
        ("create-user-exempt", "breakglass-admin", {"iam-guard:exempt": "true", "purpose": "break-glass"}),
        ("create-access-key", "dev-bob", {}),
        ("create-access-key-self", "dev-dave", {}),
        ("create-login-profile", "dev-bob", {}),
    ],
)
def test_enrolment_events_name_the_user_and_carry_create_user_tags(
    name: str, user: str, tags: dict[str, str]
) -> None:
    command = classified(name)
    assert isinstance(command, EnrolUser)
    assert command.user_name == user
    assert command.event_tags == tags


def test_self_service_key_without_response_falls_back_to_the_caller() -> None:
    command = classified("create-access-key-self", responseElements=None)
    assert isinstance(command, EnrolUser)
    assert command.user_name == "dev-dave"


def test_root_creating_its_own_key_is_a_root_key_command() -> None:
    command = classified("create-access-key-root")
    assert isinstance(command, RootAccessKeyCreated)
    assert command.access_key_id == "AKIAEXAMPLEROOTKEY01"


def test_root_creating_a_key_for_a_user_enrols_that_user() -> None:
    command = classified("create-access-key-root", requestParameters={"userName": "dev-erin"})
    assert isinstance(command, EnrolUser)
    assert command.user_name == "dev-erin"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("detach-group-policy", "group/IAMGuardSecuredUsers"),
        ("delete-group", "group/IAMGuardSecuredUsers"),
        ("create-policy-version", "policy/IAMGuardSecureIAMPolicy"),
        ("set-default-policy-version", "policy/IAMGuardSecureIAMPolicy"),
        ("delete-policy-version", "policy/IAMGuardSecureIAMPolicy"),
        ("delete-policy", "policy/IAMGuardSecureIAMPolicy"),
    ],
)
def test_tamper_events_on_our_resources_heal_the_guardrail(name: str, expected: str) -> None:
    command = classified(name)
    assert isinstance(command, HealGuardrail)
    assert command.resource == expected


def test_remove_user_from_our_group_restores_membership() -> None:
    command = classified("remove-user-from-group")
    assert isinstance(command, RestoreMembership)
    assert command.user_name == "dev-bob"


@pytest.mark.parametrize(("name", "added"), [("tag-user-exempt", True), ("untag-user-exempt", False)])
def test_exemption_tag_changes(name: str, added: bool) -> None:
    command = classified(name)
    assert isinstance(command, ExemptionChanged)
    assert command.tag_added is added


@pytest.mark.parametrize(
    ("name", "changes", "reason_part"),
    [
        ("failed-call", {}, "the call failed (AccessDenied)"),
        ("own-role", {}, "caused by IAM Guard itself"),
        ("create-user", {"eventName": "ListUsers"}, "ListUsers is not an event the enforcer handles"),
        ("create-user", {"eventSource": "sts.amazonaws.com"}, "is not iam.amazonaws.com"),
        (
            "remove-user-from-group",
            {"requestParameters": {"groupName": "Developers", "userName": "dev-bob"}},
            "does not touch the guardrail",
        ),
        (
            "detach-group-policy",
            {
                "requestParameters": {
                    "groupName": "IAMGuardSecuredUsers",
                    "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess",
                }
            },
            "does not touch the guardrail",
        ),
        (
            "create-policy-version",
            {"requestParameters": {"policyArn": "arn:aws:iam::123456789012:policy/SomeoneElses"}},
            "does not touch the guardrail",
        ),
        (
            "set-default-policy-version",
            {
                "requestParameters": {
                    "policyArn": "arn:aws:iam::999999999999:policy/iam-guard/IAMGuardSecureIAMPolicy"
                }
            },
            "does not touch the guardrail",
        ),
        (
            "tag-user-exempt",
            {"requestParameters": {"userName": "dev-bob", "tags": [{"key": "team", "value": "x"}]}},
            "does not change the exemption tag",
        ),
    ],
)
def test_ignore_rules(name: str, changes: dict[str, object], reason_part: str) -> None:
    command = classified(name, **changes)
    assert isinstance(command, Ignore)
    assert reason_part in command.reason


def test_own_role_is_only_ignored_when_configured() -> None:
    command = command_for(parse_event(sample("own-role")), SETTINGS)
    assert isinstance(command, HealGuardrail)


def test_other_sources_and_detail_types_are_ignored_not_invalid() -> None:
    event = sample("create-user")
    event["source"] = "aws.ec2"
    event["detail"] = {"state": "running"}
    command = command_for(parse_event(event), SETTINGS)
    assert isinstance(command, Ignore)
    assert "not a CloudTrail API call" in command.reason
    scheduled = sample("create-user")
    scheduled["detail-type"] = "Scheduled Event"
    assert isinstance(command_for(parse_event(scheduled), SETTINGS), Ignore)


def test_custom_group_and_tag_key_are_what_counts() -> None:
    settings = make_settings(group_name="Secured", exempt_tag_key="sec:exempt")
    removed = command_for(parse_event(sample("remove-user-from-group")), settings)
    assert isinstance(removed, Ignore)  # IAMGuardSecuredUsers is not our group under these settings
    tagged = command_for(parse_event(sample("tag-user-exempt")), settings)
    assert isinstance(tagged, Ignore)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a JSON object, got list"),
        ({"source": "aws.iam"}, "not an EventBridge event: version"),
        ({**sample("create-user"), "detail": {"eventSource": "iam.amazonaws.com"}}, "detail.eventName"),
    ],
)
def test_malformed_events_are_one_line_invalid_input(raw: object, message: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event(raw)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_enrolment_event_without_any_user_name_is_invalid() -> None:
    with pytest.raises(InvalidEventError, match="names no user"):
        classified("create-user", requestParameters={}, responseElements=None)
