"""Every change to a user's owner tag is an alert (issue 25): who set it, to what, and who now hears."""

from __future__ import annotations

from typing import Any

from tests.enforce.conftest import GROUP, Harness, make_settings, sample

from core.model.alerts import AlertKind, Severity

OWNER = "iam-guard:owner"


def tag_event(user: str, tags: dict[str, str]) -> dict[str, Any]:
    return sample(
        "tag-user-exempt",
        requestParameters={"userName": user, "tags": [{"key": k, "value": v} for k, v in tags.items()]},
    )


def untag_event(user: str, keys: list[str]) -> dict[str, Any]:
    return sample("untag-user-exempt", requestParameters={"userName": user, "tagKeys": keys})


def test_setting_the_owner_tag_is_alerted_with_the_caller_and_the_new_owner(deployed: Harness) -> None:
    deployed.create_user("dev-bob", {OWNER: "mallory@example.net"}, enrolled=True)
    result = deployed.run(tag_event("dev-bob", {OWNER: "mallory@example.net"}))

    assert result.action == "owner-changed"
    (alert,) = deployed.sink.alerts
    assert (alert.kind, alert.severity) == (AlertKind.OWNER_CHANGED, Severity.MEDIUM)
    assert "alice@example.com" in alert.title  # the caller, from the event
    assert f"tagged dev-bob {OWNER}=mallory@example.net" in alert.summary
    assert "its notices go to mallory@example.net" in alert.summary
    assert "The administrators still get every alert about dev-bob" in alert.summary
    assert [(i.subject, i.finding) for i in alert.items] == [("dev-bob", "owner-tag-set")]


def test_removing_the_owner_tag_is_alerted_and_names_the_default_owner(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    settings = make_settings(default_owner="sec@example.com")
    result = deployed.run(untag_event("dev-bob", [OWNER]), settings=settings)

    assert result.action == "owner-changed"
    (alert,) = deployed.sink.alerts
    assert f"removed {OWNER} from dev-bob" in alert.summary
    assert "its notices go to sec@example.com (the default owner)" in alert.summary
    assert alert.items[0].finding == "owner-tag-removed"


def test_an_unreadable_owner_value_is_alerted_as_such(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    deployed.run(tag_event("dev-bob", {OWNER: "the-ci-team"}))
    (alert,) = deployed.sink.alerts
    assert "neither an e-mail address nor a Slack member ID" in alert.summary
    assert "only the administrators hear of it" in alert.summary


def test_the_owner_key_matches_in_any_letter_case_and_a_custom_key_too(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    assert deployed.run(tag_event("dev-bob", {"IAM-Guard:Owner": "U012AB3CD"})).action == "owner-changed"
    custom = make_settings(owner_tag_key="Team:Owner")
    assert (
        deployed.run(tag_event("dev-bob", {"team:owner": "U012AB3CD"}), settings=custom).action
        == "owner-changed"
    )
    assert deployed.run(tag_event("dev-bob", {OWNER: "U012AB3CD"}), settings=custom).action == "ignored"


def test_one_request_touching_both_keys_is_handled_for_both(deployed: Harness) -> None:
    # An exemption hidden next to an owner change still gets its own decision and alert.
    deployed.create_user("dev-bob", {"iam-guard:exempt": "true", OWNER: "U012AB3CD"}, enrolled=True)
    result = deployed.run(tag_event("dev-bob", {"iam-guard:exempt": "true", OWNER: "U012AB3CD"}))

    assert result.action == "exempt-still-enrolled"
    assert [a.kind for a in deployed.sink.alerts] == [AlertKind.EXEMPTION_GRANTED, AlertKind.OWNER_CHANGED]
    assert deployed.groups_of("dev-bob") == [GROUP]


def test_other_tags_are_ignored(deployed: Harness) -> None:
    deployed.create_user("dev-bob", enrolled=True)
    assert deployed.run(tag_event("dev-bob", {"team": "payments"})).action == "ignored"
    assert deployed.sink.alerts == []
