"""The sweep checks the guardrail itself, from the account listing it already reads, and the enforcer's own
switches (its rule, its function, its stack), on moto (IAM, EventBridge, Lambda) and CloudFormation's
stand-in (moto's stacks are never mid-operation)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from tests.sweep.conftest import ACCOUNT, GROUP, Account, make_settings

from core.aws.cloudformation import CloudFormationGateway
from core.aws.infrastructure import InfrastructureGateway
from core.model.alerts import AlertKind, Severity
from core.model.naming import IAM_PATH, policy_arn
from core.policy.compare import policies_equal
from core.policy.document import render_policy
from core.sweep.run import GuardrailMode, run_sweep
from demo.cloudformation import CloudFormationStandIn, deployed_enforcer

POLICY = policy_arn(ACCOUNT, "IAMGuardSecureIAMPolicy")
ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def sweep(account: Account, mode: GuardrailMode, **settings: Any) -> Any:
    account.counter.reset()
    return run_sweep(
        account.gateway, account.sink, make_settings(**settings), account_id=ACCOUNT, guardrail=mode
    )


def drift_of(result: Any) -> Any:
    found = [f for f in result.findings if f.finding == "guardrail-drift"]
    return found[0] if found else None


def default_document(account: Account) -> dict[str, Any]:
    version = account.client.get_policy(PolicyArn=POLICY)["Policy"]["DefaultVersionId"]
    document: dict[str, Any] = account.client.get_policy_version(PolicyArn=POLICY, VersionId=version)[
        "PolicyVersion"
    ]["Document"]
    return document


def attached(account: Account) -> list[str]:
    return [
        p["PolicyArn"]
        for p in account.client.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
    ]


def test_an_intact_guardrail_is_verified_at_no_extra_call(account: Account) -> None:
    result = sweep(account, "heal")

    assert result.guardrail == "verified"
    assert drift_of(result) is None
    assert account.counter.calls["iam:GetAccountAuthorizationDetails"] == 1
    assert not any(
        c.startswith(("iam:GetPolicy", "iam:ListAttached", "iam:GetGroup")) for c in account.counter.calls
    )


def test_a_detached_policy_is_reattached_and_reported(account: Account) -> None:
    account.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)

    result = sweep(account, "heal")

    assert result.guardrail == "healed"
    assert attached(account) == [POLICY]
    finding = drift_of(result)
    assert (finding.severity, finding.status) == (Severity.CRITICAL, "healed")
    assert "policy-attached" in finding.detail


def test_an_allow_all_default_version_is_switched_back(account: Account) -> None:
    account.client.create_policy_version(
        PolicyArn=POLICY, PolicyDocument=json.dumps(ALLOW_ALL), SetAsDefault=True
    )

    result = sweep(account, "heal")

    assert result.guardrail == "healed"
    assert policies_equal(default_document(account), render_policy(make_settings()))
    assert "policy-version-restored" in drift_of(result).detail


def test_a_deleted_group_is_made_again_on_the_path_and_its_users_enrolled(account: Account) -> None:
    account.user("alice")
    account.client.remove_user_from_group(GroupName=GROUP, UserName="alice")
    account.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)
    account.client.delete_group(GroupName=GROUP)

    result = sweep(account, "heal")

    assert result.guardrail == "healed"
    group = account.client.get_group(GroupName=GROUP)
    assert group["Group"]["Path"] == IAM_PATH
    assert [u["UserName"] for u in group["Users"]] == ["alice"]
    assert attached(account) == [POLICY]


def test_report_mode_and_dry_run_only_say_what_differs(account: Account) -> None:
    account.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)

    reported = sweep(account, "report")
    would = sweep(account, "heal", dry_run=True)

    assert (reported.guardrail, drift_of(reported).status) == ("drift", "violation")
    assert (would.guardrail, drift_of(would).status) == ("would-heal", "would-heal")
    assert attached(account) == []
    assert not any(c.endswith(("AttachGroupPolicy", "CreateGroup")) for c in account.counter.calls)


def test_without_policy_settings_only_presence_and_attachment_are_checked(account: Account) -> None:
    account.client.create_policy_version(
        PolicyArn=POLICY, PolicyDocument=json.dumps(ALLOW_ALL), SetAsDefault=True
    )
    intact = sweep(account, "presence")
    account.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)
    detached = sweep(account, "presence")

    assert (intact.guardrail, drift_of(intact)) == ("not-checked", None)  # the document is not compared
    assert detached.guardrail == "drift"
    assert "not attached" in drift_of(detached).detail
    assert attached(account) == []


def test_a_group_renamed_out_of_reach_is_named_in_the_finding(account: Account) -> None:
    account.client.update_group(GroupName=GROUP, NewGroupName="legacy-users", NewPath="/")

    result = sweep(account, "heal")

    assert result.guardrail == "healed"
    assert "also attached to /legacy-users" in drift_of(result).detail


def test_the_digest_says_the_guardrail_status(account: Account) -> None:
    account.client.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)

    sweep(account, "heal")

    digest = [a for a in account.sink.alerts if a.kind is AlertKind.SWEEP_DIGEST][-1]
    assert dict(digest.details)["guardrail"] == "healed"
    assert any(i.finding == "guardrail-drift" for i in digest.items)


# --- the enforcer's own switches ---------------------------------------------------------------------------

STACK = "iam-guard"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{STACK}/5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"


@pytest.fixture
def infrastructure(account: Account) -> InfrastructureGateway:
    session = boto3.session.Session(region_name="us-east-1")
    deployed_enforcer(session, STACK)
    return InfrastructureGateway(
        events_client=session.client("events"), lambda_client=session.client("lambda")
    )


def health(account: Account, infrastructure: InfrastructureGateway, stand_in: CloudFormationStandIn) -> Any:
    return run_sweep(
        account.gateway,
        account.sink,
        make_settings(stack_name=STACK),
        account_id=ACCOUNT,
        infrastructure=infrastructure,
        cloudformation=CloudFormationGateway(stand_in),
    )


def settled_stack(finished: timedelta = timedelta(minutes=1)) -> CloudFormationStandIn:
    """The stack, its last operation finished ``finished`` from now (the enforcer was made just before)."""
    stand_in = CloudFormationStandIn(STACK_ID)
    original = stand_in.describe_stack_events

    def events(StackName: str) -> dict[str, Any]:
        answer = original(StackName)
        for event in answer["StackEvents"]:
            event["Timestamp"] = datetime.now(UTC) + finished
        return answer

    stand_in.describe_stack_events = events  # type: ignore[method-assign]
    return stand_in


def test_a_healthy_enforcer_is_reported_ok(account: Account, infrastructure: InfrastructureGateway) -> None:
    result = health(account, infrastructure, settled_stack())

    assert (result.enforcer.status, result.enforcer.problems) == ("ok", ())
    assert not any(a.kind is AlertKind.INFRASTRUCTURE_TAMPERED for a in account.sink.alerts)


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        (lambda c: c["events"].disable_rule(Name="iam-guard_enforcer-events"), "rule is DISABLED"),
        (
            lambda c: c["events"].remove_targets(Rule="iam-guard_enforcer-events", Ids=["enforcer"]),
            "no longer targets the enforcer",
        ),
        (
            lambda c: c["lambda"].put_function_concurrency(
                FunctionName="iam-guard_enforcer", ReservedConcurrentExecutions=0
            ),
            "reserved concurrency is 0",
        ),
    ],
    ids=["rule-disabled", "target-removed", "concurrency-zero"],
)
def test_an_enforcer_switched_off_raises_a_critical_alert(
    account: Account, infrastructure: InfrastructureGateway, tamper: Any, problem: str
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    tamper({"events": session.client("events"), "lambda": session.client("lambda")})

    result = health(account, infrastructure, settled_stack())

    assert result.enforcer.status == "problems"
    assert any(problem in p for p in result.enforcer.problems), result.enforcer.problems
    (alert,) = [a for a in account.sink.alerts if a.kind is AlertKind.INFRASTRUCTURE_TAMPERED]
    assert alert.severity is Severity.CRITICAL


def test_a_function_changed_after_the_last_deployment_was_edited_by_hand(
    account: Account, infrastructure: InfrastructureGateway
) -> None:
    result = health(account, infrastructure, settled_stack(-timedelta(hours=1)))  # deployed an hour ago

    assert result.enforcer.status == "problems"
    assert "edited by hand" in result.enforcer.problems[0]


def test_while_the_stack_is_updating_a_changed_function_is_no_problem(
    account: Account, infrastructure: InfrastructureGateway
) -> None:
    stand_in = settled_stack(-timedelta(hours=1))
    stand_in.begin("Update", {})

    assert health(account, infrastructure, stand_in).enforcer.status == "ok"


# Issue 21, "Also found": a deleted rule or function is named as such (and both when both are gone), and a
# target that only shares the function ARN's prefix - another function, a version or an alias - is not the
# enforcer as deployed.
def delete_rule(c: Any) -> None:
    c["events"].remove_targets(Rule="iam-guard_enforcer-events", Ids=["enforcer"])
    c["events"].delete_rule(Name="iam-guard_enforcer-events")


def delete_function(c: Any) -> None:
    c["lambda"].delete_function(FunctionName="iam-guard_enforcer")


@pytest.mark.parametrize(
    ("delete", "problems"),
    [
        (delete_rule, ["its EventBridge rule is missing: no IAM event reaches it"]),
        (delete_function, ["the function is missing: deleted, no IAM event is handled"]),
        (
            lambda c: (delete_rule(c), delete_function(c)),
            [
                "its EventBridge rule is missing: no IAM event reaches it",
                "the function is missing: deleted, no IAM event is handled",
            ],
        ),
    ],
    ids=["rule-deleted", "function-deleted", "both-deleted"],
)
def test_a_deleted_enforcer_rule_or_function_is_named_in_a_critical_alert(
    account: Account, infrastructure: InfrastructureGateway, delete: Any, problems: list[str]
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    delete({"events": session.client("events"), "lambda": session.client("lambda")})

    result = health(account, infrastructure, settled_stack())

    assert (result.enforcer.status, list(result.enforcer.problems)) == ("problems", problems)
    (alert,) = [a for a in account.sink.alerts if a.kind is AlertKind.INFRASTRUCTURE_TAMPERED]
    assert alert.severity is Severity.CRITICAL
    assert all(p in alert.summary for p in problems)


@pytest.mark.parametrize("suffix", ["-evil", ":evil", ":1"], ids=["other-function", "alias", "version"])
def test_a_rule_target_that_only_shares_the_functions_prefix_is_not_the_enforcer(
    account: Account, infrastructure: InfrastructureGateway, suffix: str
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    events, functions = session.client("events"), session.client("lambda")
    enforcer = functions.get_function_configuration(FunctionName="iam-guard_enforcer")
    if suffix == "-evil":
        target = functions.create_function(
            FunctionName="iam-guard_enforcer-evil",
            Runtime="python3.13",
            Role=enforcer["Role"],
            Handler="index.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )["FunctionArn"]
    else:
        target = enforcer["FunctionArn"] + suffix  # a version or alias: code nobody compared
    events.put_targets(Rule="iam-guard_enforcer-events", Targets=[{"Id": "enforcer", "Arn": target}])

    result = health(account, infrastructure, settled_stack())

    assert result.enforcer.status == "problems"
    assert result.enforcer.problems == (
        f"its EventBridge rule no longer targets the enforcer function (it targets {target})",
    )


def test_a_target_naming_latest_explicitly_is_the_enforcer(
    account: Account, infrastructure: InfrastructureGateway
) -> None:
    session = boto3.session.Session(region_name="us-east-1")
    events, functions = session.client("events"), session.client("lambda")
    arn = functions.get_function_configuration(FunctionName="iam-guard_enforcer")["FunctionArn"]
    events.put_targets(
        Rule="iam-guard_enforcer-events", Targets=[{"Id": "enforcer", "Arn": f"{arn}:$LATEST"}]
    )

    assert health(account, infrastructure, settled_stack()).enforcer.status == "ok"
