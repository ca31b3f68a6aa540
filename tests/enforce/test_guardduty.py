"""GuardDuty findings on an IAM user's key (core.enforce.guardduty, core.enforce.leak), driven through
``enforce`` and the Lambda handler with findings in AWS's documented EventBridge shape
(events/enforcer-guardduty-malicious-ip-caller.json) against moto IAM and STS.

moto's GuardDuty has no ``GetFindings``: GuardDuty's answers are served in its API's own format by
botocore's Stubber (which validates them against GuardDuty's service model).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tests.conftest import load_event
from tests.enforce.conftest import ACCOUNT, Harness, fast_retrier, make_settings
from tests.enforce.test_handler import context, lambda_env  # noqa: F401 - the handler's fixture
from tests.enforce.test_leaked_key import (
    health_event,
    key_status,
    leaked_user,
    writes,
)
from tests.template.template_model import condition_holds, load_template, resolve, role_policies

from core.aws.cloudtrail import CloudTrailGateway
from core.aws.guardduty import FindingsGateway
from core.enforce import actions as enforcement
from core.enforce.guardduty import FINDING_TYPES, guardduty_rule_json, guardduty_rule_pattern
from core.enforce.risk import EXPOSED_KEYS_TAG, REVOKE_SESSIONS_POLICY
from core.model.alerts import AlertKind, Severity
from handlers import common, enforcer

REGION = "eu-west-1"  # the sample finding's region (GuardDuty findings are regional)
DETECTOR = "123456789012abcdef0123456789abcd"
FINDING_ID = "16afba5c5c43e07c9e3e5e2e544e95df"
SESSION_KEY = "ASIAEXAMPLESESSION01"
ON = {"guardduty_findings": True}


def finding_event(key: str, user: str = "build-bot", **detail: Any) -> dict[str, Any]:
    event = copy.deepcopy(load_event("enforcer-guardduty-malicious-ip-caller.json"))
    event["detail"]["resource"]["accessKeyDetails"].update(accessKeyId=key, userName=user)
    event["detail"].update(detail)
    return event


def guardduty_finding(key: str, user: str = "build-bot", **changes: Any) -> dict[str, Any]:
    """The finding as GuardDuty's GetFindings returns it (its API's PascalCase shape)."""
    finding: dict[str, Any] = {
        "AccountId": ACCOUNT,
        "Arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{DETECTOR}/finding/{FINDING_ID}",
        "CreatedAt": "2025-01-15T10:04:30.000Z",
        "Id": FINDING_ID,
        "Partition": "aws",
        "Region": REGION,
        "Resource": {
            "ResourceType": "AccessKey",
            "AccessKeyDetails": {
                "AccessKeyId": key,
                "PrincipalId": "AIDAEXAMPLEPRINCIPAL",
                "UserName": user,
                "UserType": "IAMUser",
            },
        },
        "SchemaVersion": "2.0",
        "Service": {"ServiceName": "guardduty", "DetectorId": DETECTOR, "Archived": False, "Count": 3},
        "Severity": 8.0,
        "Title": "API ListBuckets was invoked from an IP address on a custom threat list.",
        "Type": "UnauthorizedAccess:IAMUser/MaliciousIPCaller",
        "UpdatedAt": "2025-01-15T10:04:30.000Z",
    }
    finding.update(changes)
    return finding


class GuardDuty:
    """GuardDuty in the finding's region, answering GetFindings from a script (and recording the asks)."""

    def __init__(self, *answers: dict[str, Any] | None, error: str = "") -> None:
        self.client = boto3.client("guardduty", region_name=REGION)
        self.stubber = Stubber(self.client)
        self.regions: list[str] = []
        expected = {"DetectorId": DETECTOR, "FindingIds": [FINDING_ID]}
        if error:
            self.stubber.add_client_error("get_findings", error, "The request is rejected.", 400, expected)
        for answer in answers:
            self.stubber.add_response("get_findings", {"Findings": [answer] if answer else []}, expected)
        self.stubber.activate()

    def __call__(self, region: str) -> FindingsGateway:
        self.regions.append(region)
        return FindingsGateway(region, self.client, retrier=fast_retrier())


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS's quarantine policy in moto (slow to load: only where a Health event needs it)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


def run(h: Harness, event: dict[str, Any], guardduty: GuardDuty | None, **settings: Any) -> Any:
    return h.run(event, settings=make_settings(**{**ON, **settings}), findings=guardduty)


# --- the response --------------------------------------------------------------------------------


def test_a_finding_guardduty_confirms_is_contained_like_a_health_leak(deployed: Harness) -> None:
    key = leaked_user(deployed, quarantined=False)  # no quarantine: GuardDuty's answer corroborates
    guardduty = GuardDuty(guardduty_finding(key))

    result = run(deployed, finding_event(key), guardduty)

    assert result.action == "leaked-key-deactivated"
    assert guardduty.regions == [REGION]  # asked in the finding's region
    guardduty.stubber.assert_no_pending_responses()
    assert key_status(deployed, "build-bot", key) == "Inactive"
    deployed.client.get_user_policy(UserName="build-bot", PolicyName=REVOKE_SESSIONS_POLICY)
    tags = {t["Key"]: t["Value"] for t in deployed.client.list_user_tags(UserName="build-bot")["Tags"]}
    assert tags[EXPOSED_KEYS_TAG] == key
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.LEAKED_KEY_RESPONSE
    assert alert.severity is Severity.CRITICAL
    assert "GuardDuty" in alert.summary
    assert ("evidence", f"GuardDuty finding {FINDING_ID} in {REGION}") in alert.details
    assert ("finding_id", FINDING_ID) in alert.details


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (None, "GuardDuty has no such finding"),
        ("other-key", "another access key"),
        ({"AccountId": "210987654321"}, "another account"),
        ({"Severity": 5.0}, "below the minimum severity"),
        ({"Type": "Recon:IAMUser/UserPermissions"}, "not a handled finding type"),
        ({"Service": {"Archived": True, "DetectorId": DETECTOR}}, "archived"),
    ],
)
def test_a_forged_finding_changes_nothing(deployed: Harness, answer: Any, why: str) -> None:
    # Anyone with lambda:InvokeFunction can hand the enforcer a well-formed finding for a real key.
    key = leaked_user(deployed, "breakglass-admin", quarantined=False, tags={"iam-guard:exempt": "true"})
    if answer == "other-key":
        served = guardduty_finding("AKIAEXAMPLEOTHERKEY1", "breakglass-admin")
    else:
        served = None if answer is None else guardduty_finding(key, "breakglass-admin", **answer)

    result = run(deployed, finding_event(key, "breakglass-admin"), GuardDuty(served))

    assert result.action == "leaked-key-unverified"
    assert key_status(deployed, "breakglass-admin", key) == "Active"
    assert writes(deployed) == []
    (alert,) = deployed.sink.alerts
    assert alert.kind is AlertKind.LEAKED_KEY_UNVERIFIED
    assert why in alert.summary
    assert f"iam-guard respond --access-key-id {key} --apply" in alert.summary


def test_guardduty_refusing_the_ask_is_not_corroboration(deployed: Harness) -> None:
    key = leaked_user(deployed, quarantined=False)

    result = run(deployed, finding_event(key), GuardDuty(error="BadRequestException"))

    assert result.action == "leaked-key-unverified"
    assert key_status(deployed, "build-bot", key) == "Active"
    assert "BadRequestException" in deployed.sink.alerts[0].summary


def test_a_session_key_revokes_the_users_sessions_and_deactivates_nothing(deployed: Harness) -> None:
    key = leaked_user(deployed, quarantined=False)  # the user's long-term key: not named, stays Active
    guardduty = GuardDuty(guardduty_finding(SESSION_KEY))

    result = run(deployed, finding_event(SESSION_KEY), guardduty)

    assert result.action == "leaked-key-sessions-revoked"
    assert result.user == "build-bot"
    assert key_status(deployed, "build-bot", key) == "Active"
    assert writes(deployed) == ["iam:PutUserPolicy"]
    policy = deployed.client.get_user_policy(UserName="build-bot", PolicyName=REVOKE_SESSIONS_POLICY)
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": "2025-01-15T10:00:00Z"}}
    (alert,) = deployed.sink.alerts
    assert "sessions issued before now revoked" in alert.title
    assert "GetSessionToken" in alert.summary


def test_a_session_key_takes_its_user_from_guardduty_not_from_the_event(deployed: Harness) -> None:
    leaked_user(deployed, quarantined=False)
    deployed.create_user("victim")
    deployed.counter.reset()
    # The event claims the session is the victim's; GuardDuty's own finding says build-bot's.
    guardduty = GuardDuty(guardduty_finding(SESSION_KEY, "build-bot"))

    result = run(deployed, finding_event(SESSION_KEY, "victim"), guardduty)

    assert result.user == "build-bot"
    assert deployed.client.list_user_policies(UserName="victim")["PolicyNames"] == []


def test_a_forged_session_key_finding_revokes_nothing(deployed: Harness) -> None:
    leaked_user(deployed, quarantined=False)

    result = run(deployed, finding_event(SESSION_KEY), GuardDuty(None))

    assert result.action == "leaked-key-unverified"
    assert writes(deployed) == []


def test_a_health_event_then_its_guardduty_finding_deactivates_once(
    managed_policies: None,
    deployed: Harness,
) -> None:
    key = leaked_user(deployed)  # quarantined: the Health event is corroborated
    deployed.run(health_event(key))
    deployed.counter.reset()
    deployed.sink.alerts.clear()

    again = run(deployed, finding_event(key), GuardDuty(guardduty_finding(key)))

    assert again.action == "leaked-key-already-inactive"
    assert writes(deployed) == []
    assert "already inactive" in deployed.sink.alerts[0].title


@pytest.mark.parametrize(
    ("settings", "detail", "why"),
    [
        ({"guardduty_findings": False}, {}, "GuardDutyFindings=false"),
        ({}, {"severity": 6.9}, "below 7.0"),
        ({"guardduty_min_severity": 8.5}, {}, "below 8.5"),
        ({}, {"type": "Recon:IAMUser/UserPermissions"}, "is not handled"),
        ({}, {"type": "UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS"}, "not handled"),
    ],
)
def test_findings_the_rule_would_not_deliver_are_ignored_without_asking_anyone(
    deployed: Harness, settings: dict[str, Any], detail: dict[str, Any], why: str
) -> None:
    key = leaked_user(deployed, quarantined=False)
    guardduty = GuardDuty()

    result = run(deployed, finding_event(key, **detail), guardduty, **settings)

    assert result.action == "ignored"
    assert why in result.reason
    assert guardduty.regions == []
    assert deployed.counter.calls == {}


def test_a_root_or_role_credential_finding_is_ignored(deployed: Harness) -> None:
    event = finding_event("AKIAEXAMPLELEAKED001")
    event["detail"]["resource"]["accessKeyDetails"]["userType"] = "Root"

    result = run(deployed, event, GuardDuty())

    assert result.action == "ignored"
    assert "Root" in result.reason


def test_a_finding_whose_severity_is_not_a_number_is_one_line(deployed: Harness) -> None:
    from core.model.errors import InvalidEventError

    with pytest.raises(InvalidEventError, match=r"detail\.severity: should be a number"):
        run(deployed, finding_event("AKIAEXAMPLELEAKED001", severity="8"), GuardDuty())


def test_the_lambda_handler_contains_a_leak_from_a_guardduty_finding(
    lambda_env: Any,  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("IAM_GUARD_GUARDDUTY_FINDINGS", "true")
    common.reset_caches()
    lambda_env.create_user(UserName="build-bot")
    key = lambda_env.create_access_key(UserName="build-bot")["AccessKey"]["AccessKeyId"]
    guardduty = GuardDuty(guardduty_finding(key))
    monkeypatch.setattr(enforcer, "guardduty", guardduty)
    trail = boto3.client("cloudtrail", region_name="us-east-1")  # moto has no LookupEvents: scripted
    trail_stub = Stubber(trail)
    trail_stub.add_response("lookup_events", {"Events": []})
    trail_stub.activate()
    monkeypatch.setattr(enforcer, "cloudtrail", lambda region: CloudTrailGateway(region, trail))

    outcome = enforcer.lambda_handler(finding_event(key), context())

    assert outcome["action"] == "leaked-key-deactivated", outcome
    listed = lambda_env.list_access_keys(UserName="build-bot")["AccessKeyMetadata"]
    assert [k["Status"] for k in listed] == ["Inactive"]
    assert guardduty.regions == [REGION]


# --- the template ----------------------------------------------------------------------------------


def test_the_rule_is_the_codes_pattern_and_exists_only_when_guardduty_findings_is_on() -> None:
    template = load_template()
    rule = template["Resources"]["GuardDutyFindingRule"]
    parameters = template["Parameters"]

    assert parameters["GuardDutyFindings"]["Default"] == "false"
    assert parameters["GuardDutyMinSeverity"]["Default"] == 7
    assert rule["Condition"] == "GuardDutyOn"
    assert template["Resources"]["GuardDutyFindingPermission"]["Condition"] == "GuardDutyOn"
    assert condition_holds("GuardDutyOn", {"GuardDutyFindings": "true"})
    assert not condition_holds("GuardDutyOn", {"GuardDutyFindings": "false"})
    assert rule["Properties"]["EventPattern"] == {"Fn::Sub": guardduty_rule_json()}
    deployed = json.loads(resolve(rule["Properties"]["EventPattern"], {"GuardDutyMinSeverity": "6.5"}))
    assert deployed == guardduty_rule_pattern(6.5)
    assert [t["prefix"] if isinstance(t, dict) else t for t in deployed["detail"]["type"]] == [
        name for name, _prefix in FINDING_TYPES
    ]


def test_the_enforcer_role_reads_findings_only_when_guardduty_findings_is_on() -> None:
    def granted(on: str) -> set[str]:
        job = role_policies("EnforcerFunction", {"GuardDutyFindings": on})["job"]
        return {
            a
            for s in job["Statement"]
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        }

    assert (
        granted("true") - granted("false")
        == set(enforcement.GUARDDUTY_PERMISSIONS)
        == {"guardduty:GetFindings"}
    )
    assert not any(a.startswith("guardduty:") for a in granted("false"))
    job = role_policies("EnforcerFunction", {"GuardDutyFindings": "true"})["job"]
    (statement,) = [s for s in job["Statement"] if s["Action"] == "guardduty:GetFindings"]
    assert statement["Resource"] == "*"  # GetFindings has no resource-level permission
