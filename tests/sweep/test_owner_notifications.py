"""Owners and staged warnings through the sweep, on moto's IAM, with the sweep's clock moved on.

A user with a 7-day grace and an access key: with ``Remediate`` (and no dry run) its owner is warned at
7, 3 and 1 days before the deadline and once more when IAM Guard deactivates the key; without a planned
action, one notice and never a warning. Owners only hear of their own user, and the administrators'
digest still lists every finding, whatever the owner tags say. A service-specific credential with
``RemediateServiceCredentials`` is warned the same way before its deactivation.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.sweep.conftest import Account, make_settings

from core.model.alerts import AlertKind
from core.model.findings import (
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_WITHOUT_MFA,
    OWNER_INVALID,
    SERVICE_CREDENTIAL_ACTIVE,
)
from core.model.settings import Settings
from core.sweep.notifications import Notification
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

OWNER = "iam-guard:owner"


def sweep(account: Account, settings: Settings, now: datetime) -> SweepResult:
    return run_sweep(
        account.gateway, account.sink, settings, now=now, sleep=lambda _: None, notify_owners=True
    )


def created(account: Account, user: str) -> datetime:
    moment: datetime = account.client.get_user(UserName=user)["User"]["CreateDate"]
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def of(result: SweepResult, user: str) -> list[Notification]:
    return [n for n in result.notifications or () if n.user == user]


def test_owners_come_from_the_tag_then_the_default_owner(account: Account) -> None:
    account.user("by-mail", password=True, tags={OWNER: "ana@example.com"})
    account.user("by-slack", password=True, tags={OWNER: "U012AB3CD"})
    account.user("by-both", password=True, tags={OWNER: "bo@example.com W0123ABCDEF"})
    account.user("untagged", password=True)
    account.user("mistagged", password=True, tags={OWNER: "bo@example.com, U012AB3CD"})
    settings = make_settings(grace_days=0, default_owner="sec@example.com")

    result = sweep(account, settings, datetime.now(UTC))

    reached = {(n.user, n.channel, n.owner, n.owner_source) for n in result.notifications or ()}
    assert reached == {
        ("by-mail", "email", "ana@example.com", "tag"),
        ("by-slack", "slack", "U012AB3CD", "tag"),
        ("by-both", "email", "bo@example.com", "tag"),
        ("by-both", "slack", "W0123ABCDEF", "tag"),
        ("untagged", "email", "sec@example.com", "default"),
        ("mistagged", "email", "sec@example.com", "default"),
    }
    invalid = [f for f in result.findings if f.finding == OWNER_INVALID]
    assert [(f.user, f.severity.label, f.status) for f in invalid] == [("mistagged", "low", "violation")]
    assert "'bo@example.com, U012AB3CD'" in invalid[0].detail
    assert "is not an e-mail address" in invalid[0].detail


def test_without_a_default_owner_untagged_users_reach_only_the_administrators(account: Account) -> None:
    account.user("untagged", password=True)
    account.user("mistagged", password=True, tags={OWNER: "nobody"})

    result = sweep(account, make_settings(grace_days=0), datetime.now(UTC))

    assert result.notifications == ()
    assert {f.user for f in result.findings if f.finding == CONSOLE_WITHOUT_MFA} == {"untagged", "mistagged"}
    assert "notices reach only the administrators" in next(
        f.detail for f in result.findings if f.finding == OWNER_INVALID
    )


def test_a_seven_day_grace_user_is_warned_at_7_3_and_1_days_and_when_the_key_is_deactivated(
    account: Account,
) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com"})
    start = created(account, "robot")
    settings = make_settings(grace_days=7, remediate=True)
    stages: list[tuple[float, str, int | None]] = []
    for day in (0, 1, 2, 4, 5, 6, 6.5, 7.01, 8):
        result = sweep(account, settings, start + timedelta(days=day, minutes=1))
        for n in of(result, "robot"):
            stages.append((day, n.stage_key, n.days_before))

    assert stages == [
        (0, "warning-7", 7),
        (1, "warning-7", 7),  # the same stage again: the state table keeps it from being sent twice
        (2, "warning-7", 7),
        (4, "warning-3", 3),
        (5, "warning-3", 3),
        (6, "warning-1", 1),
        (6.5, "warning-1", 1),
        (7.01, "action", None),
    ]
    assert account.key_statuses("robot") == ["Inactive"]
    seen = list(dict.fromkeys(stage for _, stage, _ in stages))
    assert seen == ["warning-7", "warning-3", "warning-1", "action"]  # each stage, once the repeats go


def test_a_warning_says_what_when_which_credential_and_the_one_thing_to_do(account: Account) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com"})
    start = created(account, "robot")
    result = sweep(account, make_settings(grace_days=7, remediate=True), start + timedelta(days=4))

    (warning,) = of(result, "robot")
    deadline = start + timedelta(days=7)
    assert warning.as_dict() == {
        "owner": "ci-team@example.com",
        "channel": "email",
        "user": "robot",
        "finding": ACCESS_KEY_WITHOUT_MFA,
        "stage": "warning",
        "days_before": 3,
        "due": deadline.isoformat(timespec="seconds"),
    }
    assert "will deactivate (not delete) its active access key of IAM user robot" in warning.body
    assert deadline.strftime("%Y-%m-%d %H:%M UTC") in warning.body
    assert "#/users/details/robot?section=security_credentials" in warning.body  # set up MFA: the link
    assert "ask the AWS administrators who run IAM Guard for an exemption" in warning.body


def test_a_shorter_grace_starts_at_the_nearest_stage(account: Account) -> None:
    account.user("robot", keys=1, tags={OWNER: "U012AB3CD"})
    start = created(account, "robot")
    result = sweep(account, make_settings(grace_days=2, remediate=True), start + timedelta(minutes=1))
    assert [n.stage_key for n in of(result, "robot")] == ["warning-3"]  # not 7 and 3 at once


def test_no_planned_action_means_one_notice_and_never_a_warning(account: Account) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com"})
    start = created(account, "robot")
    settings = make_settings(grace_days=7)  # Remediate off: nothing happens at the deadline
    stages = set()
    for day in (0, 4, 6, 8):
        stages |= {n.stage_key for n in of(sweep(account, settings, start + timedelta(days=day)), "robot")}
    assert stages == {"notice"}
    assert account.key_statuses("robot") == ["Active"]


def test_a_dry_run_says_would_and_warns_of_nothing(account: Account) -> None:
    account.user("robot", keys=1, tags={OWNER: "ci-team@example.com"})
    start = created(account, "robot")
    result = sweep(
        account, make_settings(grace_days=7, remediate=True, dry_run=True), start + timedelta(days=6)
    )
    (notice,) = of(result, "robot")
    assert notice.stage == "notice"
    assert notice.days_before is None
    assert "IAM Guard would deactivate (not delete) its active access key" in notice.body
    assert "dry run" in notice.body


def test_owners_hear_only_of_their_own_user_and_the_digest_keeps_everything(account: Account) -> None:
    # An owner tag pointing elsewhere takes nothing from the administrators.
    account.user("alice", password=True, tags={OWNER: "alice@example.com"})
    account.user("mallory", password=True, tags={OWNER: "attacker@example.net"})

    result = sweep(account, make_settings(grace_days=0), datetime.now(UTC))

    to = {(n.owner, n.user) for n in result.notifications or ()}
    assert to == {("alice@example.com", "alice"), ("attacker@example.net", "mallory")}
    (digest,) = [a for a in account.sink.alerts if a.kind == AlertKind.SWEEP_DIGEST]
    listed: set[Any] = {(item.subject, item.finding) for item in digest.items}
    assert {("alice", CONSOLE_WITHOUT_MFA), ("mallory", CONSOLE_WITHOUT_MFA)} <= listed


def test_without_notify_owners_nothing_is_computed(account: Account) -> None:
    account.user("alice", password=True, tags={OWNER: "alice@example.com"})
    assert account.sweep(make_settings(grace_days=0)).notifications is None


def service_notes(result: SweepResult, user: str) -> list[Notification]:
    return [n for n in of(result, user) if n.finding == SERVICE_CREDENTIAL_ACTIVE]


def test_a_service_credential_deactivation_is_warned_at_7_3_and_1_days_and_when_it_happens(
    account: Account,
) -> None:
    account.user("builder", virtual_mfa=True, tags={OWNER: "ci-team@example.com"})
    credential = account.service_credential("builder", "bedrock.amazonaws.com")
    start = created(account, "builder")
    settings = make_settings(grace_days=7, remediate_service_credentials=True)
    stages: list[tuple[float, str]] = []
    bodies: dict[str, str] = {}
    for day in (0, 2, 4, 6, 7.01, 8):
        result = sweep(account, settings, start + timedelta(days=day, minutes=1))
        for n in service_notes(result, "builder"):
            stages.append((day, n.stage_key))
            bodies[n.stage_key] = n.body

    assert stages == [
        (0, "warning-7"),
        (2, "warning-7"),
        (4, "warning-3"),
        (6, "warning-1"),
        (7.01, "action"),
    ]
    listed = account.client.list_service_specific_credentials(UserName="builder")[
        "ServiceSpecificCredentials"
    ]
    assert [c["Status"] for c in listed] == ["Inactive"]  # deactivated at the deadline, never deleted
    warning = bodies["warning-3"]
    deadline = start + timedelta(days=7)
    assert (
        "will deactivate (not delete) its active service-specific credentials of IAM user builder" in warning
    )
    assert deadline.strftime("%Y-%m-%d %H:%M UTC") in warning
    assert credential in warning  # which credential: the finding's detail names it
    assert "#/users/details/builder?section=security_credentials" in warning
    action = bodies["action"]
    assert "IAM Guard deactivated the active service-specific credentials of IAM user builder" in action
    assert "aws iam update-service-specific-credential --status Active --user-name builder" in action
    assert "update-access-key" not in action


def test_without_remediate_service_credentials_a_service_credential_gets_one_notice(account: Account) -> None:
    account.user("builder", virtual_mfa=True, tags={OWNER: "ci-team@example.com"})
    account.service_credential("builder", "codecommit.amazonaws.com")
    start = created(account, "builder")
    settings = make_settings(grace_days=7, remediate=True)  # the keys' switch: not the credentials'
    stages = set()
    for day in (0, 4, 6, 8):
        stages |= {
            n.stage_key
            for n in service_notes(sweep(account, settings, start + timedelta(days=day)), "builder")
        }

    assert stages == {"notice"}
    listed = account.client.list_service_specific_credentials(UserName="builder")[
        "ServiceSpecificCredentials"
    ]
    assert [c["Status"] for c in listed] == ["Active"]


def test_a_dry_run_says_it_would_deactivate_the_service_credentials(account: Account) -> None:
    account.user("builder", virtual_mfa=True, tags={OWNER: "U012AB3CD"})
    account.service_credential("builder", "bedrock.amazonaws.com")
    start = created(account, "builder")
    settings = make_settings(grace_days=7, remediate_service_credentials=True, dry_run=True)

    (notice,) = service_notes(sweep(account, settings, start + timedelta(days=6)), "builder")

    assert (notice.stage, notice.days_before) == ("notice", None)
    assert "IAM Guard would deactivate (not delete) its active service-specific credentials" in notice.body
    assert "dry run" in notice.body
