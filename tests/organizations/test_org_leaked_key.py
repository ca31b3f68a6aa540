"""Organizations mode: a member's leaked-key event (AWS Health, or a GuardDuty finding with
GuardDutyFindings=true), forwarded to the hub, is answered in that member only, through its enforce role:
GuardDuty's GetFindings, the Health API and CloudTrail's LookupEvents are asked with the member's session;
a forged event (another member's key, a finding the member's GuardDuty does not return) changes nothing.

moto emulates IAM, STS and Organizations, not AWS Health, GuardDuty's GetFindings or CloudTrail's
LookupEvents: the events are the samples' shape, and those three services' answers are served by botocore's
Stubber in their APIs' formats.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber
from tests.enforce.test_guardduty import DETECTOR, FINDING_ID, REGION, finding_event, guardduty_finding
from tests.enforce.test_health_api import ARN, CODE, details, entities
from tests.enforce.test_leaked_key import QUARANTINE, health_event, trail_event
from tests.organizations.conftest import MANAGEMENT, Org, pinned_client

from cli.main import main
from core.aws import assume as access
from core.aws.assume import AccountAccess, RoleAssumer
from core.enforce.actions import GuardrailCache
from core.model.alerts import AlertKind, RecordingSink
from core.model.naming import ENFORCE_ROLE
from core.model.settings import build_settings
from core.org.enforce import enforce_member_event
from demo.lambda_context import FakeLambdaContext
from handlers import common, org_enforcer


@pytest.fixture
def aws_managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS's quarantine policy in moto (slow to load in every account: only where a test attaches it)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


class Answered:
    status_code = 200  # what botocore reads of the HTTP response a before-call handler stands in for


@pytest.fixture
def cli_trail(sts_calls: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The CLI's session: CloudTrail's LookupEvents (which moto lacks) answered with no events, and the
    access key of every client that asked recorded (the hub's own credentials are the environment's)."""
    asked: list[str] = []
    watched = access.new_session

    def answer(request_signer: Any, **_: Any) -> tuple[Answered, dict[str, Any]]:
        asked.append(request_signer._credentials.access_key)
        return Answered(), {"Events": []}

    def session() -> Any:
        made = watched()
        made.events.register("before-call.cloudtrail.LookupEvents", answer)
        return made

    monkeypatch.setattr(access, "new_session", session)
    return asked


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


@pytest.mark.usefixtures("aws_managed_policies")
def test_a_members_leaked_key_is_deactivated_in_that_member_through_its_enforce_role(
    small_org: Org,
    sts_calls: dict[str, Any],
    cli_trail: list[str],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
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
    # The summary read the member's CloudTrail with the member's session (an assumed role's key).
    assert cli_trail
    assert all(key.startswith("ASIA") for key in cli_trail)


@pytest.mark.usefixtures("aws_managed_policies")
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


# --- GuardDuty findings, the Health API and the summary, in the member --------------------------------
# moto has no GuardDuty GetFindings, no CloudTrail LookupEvents and no AWS Health: their answers are served
# in each API's own format by botocore's Stubber, on the clients the member's enforce session makes (the
# AssumeRole into the member is moto's, as is every IAM call).

TRAIL_AT = datetime(2025, 1, 15, 9, 0, tzinfo=UTC)
Serve = Callable[[Stubber, str, str], None]  # (stubber, account, region) -> the answers scripted


class ServedMembers:
    """The org enforcer's ``RoleAssumer`` (real ``AssumeRole`` on moto), with the answers of the services
    moto lacks served on the member clients it makes. Records every such client: (account, service,
    region, the role its credentials are a session of)."""

    def __init__(self, serve: dict[str, Serve]) -> None:
        self.assumer = RoleAssumer(access.new_session())
        self.serve = serve
        self.made: list[tuple[str, str, str | None, str]] = []
        self.stubbers: list[Stubber] = []
        self.sessions: dict[str, str] = {}  # access key ID -> assumed-role ARN, as STS answered

        def assumed(parsed: dict[str, Any], **_: Any) -> None:
            if "Credentials" in parsed:
                self.sessions[parsed["Credentials"]["AccessKeyId"]] = parsed["AssumedRoleUser"]["Arn"]

        self.assumer.session.events.register("after-call.sts.AssumeRole", assumed)

    def access(self, account_id: str, role_name: str, purpose: str) -> AccountAccess:
        real = self.assumer.access(account_id, role_name, purpose)

        def make(service: str, region: str | None) -> Any:
            client = real.make_client(service, region)
            key = client._request_signer._credentials.access_key
            self.made.append((account_id, service, region, self.sessions.get(key, "not an assumed role")))
            if service in self.serve:
                stubber = Stubber(client)
                self.serve[service](stubber, account_id, client.meta.region_name)
                stubber.activate()
                self.stubbers.append(stubber)
            return client

        return AccountAccess(real.account_id, real.role_arn, make)

    def forget(self, account_id: str, role_name: str, purpose: str) -> None:
        self.assumer.forget(account_id, role_name, purpose)

    @property
    def assume_calls(self) -> Any:
        return self.assumer.assume_calls

    def asked(self, service: str) -> list[tuple[str, str | None, str]]:
        return [(account, region, role) for account, s, region, role in self.made if s == service]

    def all_answered(self) -> None:
        for stubber in self.stubbers:
            stubber.assert_no_pending_responses()


def enforce_served(event: dict[str, Any], members: ServedMembers, **settings: Any) -> Any:
    sink = RecordingSink()
    result = enforce_member_event(
        event,
        assumer=members,
        role_name=ENFORCE_ROLE,
        settings=build_settings(ip_restriction=False, allowed_cidrs=("203.0.113.0/24",), **settings),
        sink=sink,
        cache=GuardrailCache(),
    )
    return result, sink.alerts


def enforce_session(account: str) -> str:
    return f"arn:aws:sts::{account}:assumed-role/{ENFORCE_ROLE}/iam-guard-enforce"


def bot_key(account: str, *, quarantined: bool) -> str:
    iam = pinned_client("iam", account)
    iam.create_user(UserName="build-bot")
    key: str = iam.create_access_key(UserName="build-bot")["AccessKey"]["AccessKeyId"]
    if quarantined:
        iam.attach_user_policy(UserName="build-bot", PolicyArn=QUARANTINE)
    return key


def untouched(account: str, key: str) -> bool:
    """The key Active and no sessions deny on its user: nothing the response writes."""
    iam = pinned_client("iam", account)
    return (
        status(account, key) == "Active" and iam.list_user_policies(UserName="build-bot")["PolicyNames"] == []
    )


def member_finding_event(account: str, key: str) -> dict[str, Any]:
    event = finding_event(key, accountId=account)
    event["account"] = account
    return event


def member_finding(account: str, key: str, **changes: Any) -> dict[str, Any]:
    arn = f"arn:aws:guardduty:{REGION}:{account}:detector/{DETECTOR}/finding/{FINDING_ID}"
    return guardduty_finding(key, **{"AccountId": account, "Arn": arn, **changes})


def get_findings(answer: Callable[[str], dict[str, Any] | None]) -> Serve:
    """GuardDuty answering one GetFindings for the claimed detector and finding (``answer(account)``)."""

    def serve(stubber: Stubber, account: str, _region: str) -> None:
        found = answer(account)
        expected = {"DetectorId": DETECTOR, "FindingIds": [FINDING_ID]}
        stubber.add_response("get_findings", {"Findings": [found] if found else []}, expected)

    return serve


def no_trail(stubber: Stubber, _account: str, _region: str) -> None:
    stubber.add_response("lookup_events", {"Events": []})


def test_a_members_guardduty_finding_confirmed_through_its_role_deactivates_that_key_only(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    member, other = small_org.members[2], small_org.members[4]
    key, others_key = bot_key(member, quarantined=False), bot_key(other, quarantined=False)
    members = ServedMembers(
        {"guardduty": get_findings(lambda account: member_finding(account, key)), "cloudtrail": no_trail}
    )

    result, alerts = enforce_served(member_finding_event(member, key), members, guardduty_findings=True)

    assert result.action == "leaked-key-deactivated"
    assert status(member, key) == "Inactive"
    assert untouched(other, others_key)
    # GuardDuty was asked once, in the finding's region, with the member's enforce role session.
    assert members.asked("guardduty") == [(member, REGION, enforce_session(member))]
    members.all_answered()
    assert [p["RoleArn"] for p in sts_calls["assume"]] == [f"arn:aws:iam::{member}:role/{ENFORCE_ROLE}"]
    (alert,) = alerts
    assert alert.kind is AlertKind.LEAKED_KEY_RESPONSE
    assert ("evidence", f"GuardDuty finding {FINDING_ID} in {REGION}") in alert.details


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda account, key: None, "GuardDuty has no such finding"),
        (lambda account, key: member_finding(account, key, AccountId=MANAGEMENT), "another account"),
        (lambda account, key: member_finding(account, "AKIAOTHERKEY00000001"), "another access key"),
    ],
    ids=["not-returned", "other-account", "other-key"],
)
def test_a_finding_the_members_guardduty_does_not_return_changes_nothing_anywhere(
    small_org: Org,
    sts_calls: dict[str, Any],
    answer: Callable[[str, str], dict[str, Any] | None],
    why: str,
) -> None:
    member = small_org.members[2]
    keys = {account: bot_key(account, quarantined=False) for account in small_org.members}
    key = keys[member]
    members = ServedMembers({"guardduty": get_findings(lambda account: answer(account, key))})

    result, alerts = enforce_served(member_finding_event(member, key), members, guardduty_findings=True)

    assert result.action == "leaked-key-unverified"
    assert all(untouched(account, k) for account, k in keys.items())
    assert members.asked("guardduty") == [(member, REGION, enforce_session(member))]
    members.all_answered()
    assert members.asked("cloudtrail") == []  # nothing to summarise: nothing was done
    (alert,) = alerts
    assert alert.kind is AlertKind.LEAKED_KEY_UNVERIFIED
    assert why in alert.summary


def test_a_finding_naming_another_members_key_is_not_asked_about_and_changes_nothing(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    owner, claimant = small_org.members[3], small_org.members[4]
    key, claimants_key = bot_key(owner, quarantined=False), bot_key(claimant, quarantined=False)
    members = ServedMembers({"guardduty": get_findings(lambda account: member_finding(account, key))})

    result, alerts = enforce_served(member_finding_event(claimant, key), members, guardduty_findings=True)

    assert result.action == "leaked-key-alerted"  # STS: the key is the owner's, not the claimant's
    assert owner in alerts[0].summary
    assert untouched(owner, key)
    assert untouched(claimant, claimants_key)
    assert members.asked("guardduty") == []


def test_with_guardduty_findings_off_a_members_finding_is_ignored_without_asking_guardduty(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    member = small_org.members[2]
    key = bot_key(member, quarantined=False)
    members = ServedMembers({"guardduty": get_findings(lambda account: member_finding(account, key))})

    result, alerts = enforce_served(member_finding_event(member, key), members)

    assert result.action == "ignored"
    assert untouched(member, key)
    assert members.asked("guardduty") == []
    assert alerts == []


def lookup(stubber: Stubber, account: str, region: str) -> None:
    """CloudTrail's event history in the member: what the leaked key did there (us-east-1 only)."""
    if region != "us-east-1":
        stubber.add_response("lookup_events", {"Events": []})
        return
    stubber.add_response(
        "lookup_events",
        {
            "Events": [
                trail_event("RunInstances", TRAIL_AT, "198.51.100.66", read_only=False),
                trail_event(
                    "ListBuckets",
                    TRAIL_AT - timedelta(minutes=2),
                    "203.0.113.9",
                    read_only=True,
                    eventSource="s3.amazonaws.com",
                ),
            ]
        },
    )


@pytest.mark.usefixtures("aws_managed_policies")
def test_the_summary_names_the_calls_the_members_cloudtrail_recorded(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    member = small_org.members[5]
    key = bot_key(member, quarantined=True)
    event = health_event(key, "AWS_RISK_IAM_QUARANTINE")
    event["account"] = member
    members = ServedMembers({"cloudtrail": lookup})

    result, alerts = enforce_served(event, members)

    assert result.action == "leaked-key-deactivated"
    assert status(member, key) == "Inactive"
    assert members.asked("cloudtrail") == [(member, "us-east-1", enforce_session(member))]
    members.all_answered()
    summary = alerts[0].summary
    assert "2 call(s)" in summary
    assert "writes: ec2:RunInstances" in summary
    assert "outside the allowed networks: 198.51.100.66" in summary
    assert "inside: 203.0.113.9" in summary


def health_api(*steps: tuple[str, Any]) -> Serve:
    def serve(stubber: Stubber, _account: str, _region: str) -> None:
        for operation, answer in steps:
            if isinstance(answer, str):
                stubber.add_client_error(operation, answer, "The AWS account is not subscribed.", 400)
            else:
                stubber.add_response(operation, answer)

    return serve


def test_the_members_health_api_corroborates_a_leak_without_the_quarantine_policy(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    member, other = small_org.members[1], small_org.members[2]
    key, others_key = bot_key(member, quarantined=False), bot_key(other, quarantined=False)
    event = health_event(key, CODE)
    event["account"] = member
    answers = health_api(("describe_event_details", details()), ("describe_affected_entities", entities(key)))
    members = ServedMembers({"health": answers, "cloudtrail": no_trail})

    result, alerts = enforce_served(event, members)

    assert result.action == "leaked-key-deactivated"
    assert status(member, key) == "Inactive"
    assert untouched(other, others_key)
    assert members.asked("health") == [(member, "us-east-1", enforce_session(member))]
    members.all_answered()
    assert ("evidence", f"AWS Health's API returns event {ARN} naming the key") in alerts[0].details


def test_subscription_required_in_the_member_is_asked_once_and_changes_nothing(
    small_org: Org, sts_calls: dict[str, Any]
) -> None:
    member = small_org.members[1]
    key = bot_key(member, quarantined=False)
    event = health_event(key, CODE)
    event["account"] = member
    # One error scripted: a retry, or a second call, would meet an unscripted request and fail differently.
    members = ServedMembers(
        {"health": health_api(("describe_event_details", "SubscriptionRequiredException"))}
    )

    result, alerts = enforce_served(event, members)

    assert result.action == "leaked-key-unverified"
    assert untouched(member, key)
    members.all_answered()
    assert "Health API needs a Business support plan" in alerts[0].summary


def test_the_org_enforcer_lambda_takes_a_members_finding_from_the_queue_and_confirms_it_in_the_member(
    small_org: Org, sts_calls: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    member, other = small_org.members[0], small_org.members[1]
    key, others_key = bot_key(member, quarantined=False), bot_key(other, quarantined=False)
    monkeypatch.setenv("IAM_GUARD_IP_RESTRICTION", "false")
    monkeypatch.setenv("IAM_GUARD_GUARDDUTY_FINDINGS", "true")  # the hub's GuardDutyFindings=true
    common.reset_caches()
    org_enforcer.guardrail_cache.cache_clear()
    members = ServedMembers(
        {"guardduty": get_findings(lambda account: member_finding(account, key)), "cloudtrail": no_trail}
    )
    recorder = RecordingSink()
    monkeypatch.setattr(org_enforcer, "assumer", lambda: members)
    monkeypatch.setattr(org_enforcer, "alert_sink", lambda: recorder)
    record = {"messageId": "m0", "receiptHandle": "r", "eventSource": "aws:sqs"}
    batch = {"Records": [{**record, "body": json.dumps(member_finding_event(member, key))}]}

    try:
        response = org_enforcer.lambda_handler(batch, FakeLambdaContext("org-enforcer"))
    finally:
        common.reset_caches()

    assert response == {"batchItemFailures": []}
    assert status(member, key) == "Inactive"
    assert untouched(other, others_key)
    assert members.asked("guardduty") == [(member, REGION, enforce_session(member))]
    assert [a.kind for a in recorder.alerts] == [AlertKind.LEAKED_KEY_RESPONSE]
