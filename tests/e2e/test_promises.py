"""One scenario per promise, end to end: the account lives in a moto server process on 127.0.0.1; each
function runs its real handler with its template.yaml environment and a Lambda context; people act
with their own API calls; Slack is a local receiver."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.e2e.conftest import ACCOUNT, ALLOWED_CIDR, Stack, wait_for
from tests.harness.mfa import enable_virtual_mfa

from core.model.alerts import Alert, AlertKind
from core.model.settings import settings_from_env
from core.policy.compare import policies_equal
from core.policy.document import render_policy
from core.report.envelope import alert_from_envelope
from demo.cloudtrail import cloudtrail_event, load_sample

pytestmark = pytest.mark.e2e

GROUP = "IAMGuardSecuredUsers"
POLICY_ARN = f"arn:aws:iam::{ACCOUNT}:policy/iam-guard/IAMGuardSecureIAMPolicy"
ADMIN = "admin-ana"
PASSWORD = "Correct-Horse-9-Battery"


def deploy(stack: Stack) -> None:
    reply = stack.deploy()
    assert reply["Status"] == "SUCCESS", reply


def event(sample: str, actor: str, request: dict[str, Any] | None, response: Any = None) -> dict[str, Any]:
    return cloudtrail_event(load_sample(sample), actor=actor, request=request, response=response)


def create_user(stack: Stack, iam: Any, name: str, tags: list[dict[str, str]] | None = None) -> Any:
    request: dict[str, Any] = {"UserName": name, **({"Tags": tags} if tags else {})}
    response = iam.create_user(**request)
    return stack.invoke("EnforcerFunction", event("enforcer-create-user.json", ADMIN, request, response))


def groups_of(iam: Any, name: str) -> set[str]:
    return {g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]}


def live_policy(iam: Any) -> dict[str, Any]:
    version = iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"]
    document: dict[str, Any] = iam.get_policy_version(PolicyArn=POLICY_ARN, VersionId=version)[
        "PolicyVersion"
    ]["Document"]
    return document


def intended_policy(stack: Stack) -> dict[str, Any]:
    return render_policy(settings_from_env(stack.environment("EnforcerFunction")))


def published_alerts(stack: Stack) -> list[Alert]:
    alerts = [alert_from_envelope(p.message) for p in stack.subscription.publications]
    return [a for a in alerts if a is not None]


# --- enrol on create ---------------------------------------------------------------------------------


def test_deploying_creates_the_group_with_the_guardrail_attached(stack: Stack, iam: Any) -> None:
    reply = stack.deploy()

    assert reply["Status"] == "SUCCESS", reply
    assert reply["Data"]["PolicyArn"] == POLICY_ARN
    attached = iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]
    assert policies_equal(live_policy(iam), intended_policy(stack))


def test_a_created_user_is_put_in_the_group_that_carries_the_guardrail(stack: Stack, iam: Any) -> None:
    deploy(stack)

    create_user(stack, iam, "alice")

    assert groups_of(iam, "alice") == {GROUP}
    attached = iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]
    assert ALLOWED_CIDR in json.dumps(live_policy(iam))  # the AllowedCIDRs parameter reached the policy
    assert policies_equal(live_policy(iam), intended_policy(stack))


def test_the_enforcer_sets_up_a_missing_guardrail_itself(stack: Stack, iam: Any) -> None:
    create_user(stack, iam, "alice")  # no deploy: the custom resource never ran, or was undone

    assert groups_of(iam, "alice") == {GROUP}
    assert policies_equal(live_policy(iam), intended_policy(stack))


def test_exempt_users_are_never_enrolled(stack: Stack, iam: Any) -> None:
    deploy(stack)

    create_user(stack, iam, "contractor", tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
    create_user(stack, iam, "breakglass")  # listed in the ExemptUsers parameter

    assert groups_of(iam, "contractor") == set()
    assert groups_of(iam, "breakglass") == set()


def test_a_user_creating_their_own_key_is_enrolled(stack: Stack, iam: Any) -> None:
    deploy(stack)
    iam.create_user(UserName="bob")  # created before IAM Guard was deployed
    response = iam.create_access_key(UserName="bob")

    stack.invoke("EnforcerFunction", event("enforcer-create-access-key-self.json", "bob", None, response))

    assert groups_of(iam, "bob") == {GROUP}


# --- heal tamper -------------------------------------------------------------------------------------


def test_a_user_removed_from_the_group_is_put_back(stack: Stack, iam: Any) -> None:
    deploy(stack)
    create_user(stack, iam, "alice")
    request = {"GroupName": GROUP, "UserName": "alice"}
    iam.remove_user_from_group(**request)

    stack.invoke("EnforcerFunction", event("enforcer-remove-user-from-group.json", "mallory", request))

    assert groups_of(iam, "alice") == {GROUP}


def test_an_edited_policy_is_restored(stack: Stack, iam: Any) -> None:
    deploy(stack)
    wide_open = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    request = {"PolicyArn": POLICY_ARN, "PolicyDocument": json.dumps(wide_open), "SetAsDefault": True}
    response = iam.create_policy_version(**request)
    assert policies_equal(live_policy(iam), wide_open)  # the tamper took effect

    stack.invoke(
        "EnforcerFunction", event("enforcer-create-policy-version.json", "mallory", request, response)
    )

    assert policies_equal(live_policy(iam), intended_policy(stack))


def test_a_detached_policy_is_attached_again(stack: Stack, iam: Any) -> None:
    deploy(stack)
    request = {"GroupName": GROUP, "PolicyArn": POLICY_ARN}
    iam.detach_group_policy(**request)

    stack.invoke("EnforcerFunction", event("enforcer-detach-group-policy.json", "mallory", request))

    attached = iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [POLICY_ARN]


# --- the sweep flags exactly -------------------------------------------------------------------------


def test_the_sweep_flags_exactly_the_users_at_fault(stack: Stack, iam: Any) -> None:
    deploy(stack)
    for name in ("alice", "bob", "carol", "breakglass"):
        iam.create_user(UserName=name)
    iam.create_user(UserName="contractor", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
    iam.create_user(UserName="dave")  # never seen by the enforcer (no trail), no credentials
    for name in ("alice", "bob", "carol"):
        iam.add_user_to_group(GroupName=GROUP, UserName=name)
    iam.create_login_profile(UserName="alice", Password=PASSWORD)  # console, no MFA
    iam.create_access_key(UserName="bob")  # key, no MFA
    iam.create_login_profile(UserName="carol", Password=PASSWORD)  # console with MFA: compliant
    enable_virtual_mfa(iam, "carol")
    # A Bedrock API key that never expires (moto lacks the API: demo.moto_extras); no password policy.
    iam.create_service_specific_credential(UserName="carol", ServiceName="bedrock.amazonaws.com")

    stack.invoke("SweepFunction", load_sample("sweep-schedule.json"))

    [digest] = [a for a in published_alerts(stack) if a.kind is AlertKind.SWEEP_DIGEST]
    flagged = {(i.subject, i.finding, i.status) for i in digest.items}
    assert flagged == {
        ("<root_account>", "root-without-mfa", "violation"),  # the emulator's root user has no MFA
        ("alice", "console-without-mfa", "violation"),
        ("bob", "access-key-without-mfa", "violation"),
        ("dave", "not-in-secured-group", "enrolled"),
        ("breakglass", "exempt", "exempt"),
        ("contractor", "exempt", "exempt"),
        ("carol", "service-credential-active", "violation"),
        ("carol", "service-credential-no-expiry", "violation"),
        ("<password_policy>", "password-policy-missing", "violation"),  # the emulator's account has none
    }
    assert groups_of(iam, "dave") == {GROUP}  # enrolled by the sweep
    assert groups_of(iam, "breakglass") == set()


# --- alerts delivered --------------------------------------------------------------------------------


def test_alerts_reach_email_and_slack_naming_the_users(stack: Stack, iam: Any) -> None:
    deploy(stack)
    create_user(stack, iam, "alice")
    iam.create_login_profile(UserName="alice", Password=PASSWORD)
    iam.create_user(UserName="bob")
    iam.create_access_key(UserName="bob")
    stack.invoke("SweepFunction", load_sample("sweep-schedule.json"))

    emails = stack.emails()  # read back from the SQS queue subscribed to the alert topic
    posted = stack.deliver_to_slack()  # SNS -> the Slack notifier function, once per alert

    assert len(emails) == posted == 2  # alice's enrolment, the sweep digest
    enrolment, digest = emails
    assert "alice" in enrolment["Subject"]
    assert "alice" in digest["Message"]
    assert "bob" in digest["Message"]
    received = wait_for(lambda: stack.slack.received() if len(stack.slack.received()) == 2 else None)
    assert received, "the Slack receiver did not get both alerts"
    payloads = [post.json() for post in received]
    assert all(isinstance(p.get("blocks"), list) and p["blocks"] for p in payloads)  # Block Kit
    assert "alice" in json.dumps(payloads[0]["blocks"])
    assert {"alice", "bob"} <= {
        name for name in ("alice", "bob") if name in json.dumps(payloads[1]["blocks"])
    }


def test_the_slack_webhook_url_never_appears_in_what_is_posted_or_mailed(stack: Stack, iam: Any) -> None:
    deploy(stack)
    create_user(stack, iam, "alice")

    emails = stack.emails()
    stack.deliver_to_slack()

    everything = json.dumps(emails) + "".join(p.body.decode() for p in stack.slack.received())
    assert stack.slack.url not in everything


# --- findings in Security Hub (SecurityHub=true) ------------------------------------------------------


def test_with_security_hub_on_the_sweep_puts_exactly_its_findings_there(stack: Stack, iam: Any) -> None:
    stack.parameters["SecurityHub"] = "true"
    hub = stack.people.client("securityhub")
    hub.enable_security_hub()
    deploy(stack)
    iam.create_user(UserName="alice")
    iam.add_user_to_group(GroupName=GROUP, UserName="alice")
    iam.create_login_profile(UserName="alice", Password=PASSWORD)

    result = stack.invoke("SweepFunction", load_sample("sweep-schedule.json"))

    [digest] = [a for a in published_alerts(stack) if a.kind is AlertKind.SWEEP_DIGEST]
    subject = {"<root_account>": "root"}
    expected = {f"iam-guard/{ACCOUNT}/{i.finding}/{subject.get(i.subject, i.subject)}" for i in digest.items}
    stored = {f["Id"]: f for f in hub.get_findings(MaxResults=100)["Findings"]}
    assert set(stored) == expected
    assert result["security_hub"] == {"imported": len(expected), "archived": 0, "failed": 0, "reasserted": 0}
    assert stored[f"iam-guard/{ACCOUNT}/console-without-mfa/alice"]["Compliance"]["Status"] == "FAILED"
