"""template.yaml's Organizations hub against the code: everything under OrgMode and named per
core.model.naming,
roles holding exactly what the hub's code declares, the committed workflow definition equal to core's."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest
from tests.organizations.spoke_model import load_spoke
from tests.organizations.spoke_model import resolve as resolve_spoke
from tests.template.template_model import ROOT, as_list, load_template, resolve, statements

from core.aws import assume as access
from core.aws import organizations as accounts
from core.aws.cloudformation import STACKSET_PERMISSIONS
from core.aws.iam import permissions_of
from core.aws.sts import KeyOwnerGateway
from core.model import naming
from core.org import root_access, spoke, summary, workflow
from core.org.fanout import DEFAULT_MAX_CONCURRENCY, DEFAULT_MAX_FAILED_PERCENT, FanOutSettings
from core.report import sns as notify

ORG = "o-a1b2c3d4e5"
ORG_PARAMETERS = {"OrganizationId": ORG}
ALERTS = notify.REQUIRED_PERMISSIONS | notify.ENCRYPTED_TOPIC_KEY_PERMISSIONS
# Each hub function -> (its role, the permissions its code declares for its job).
HUB_FUNCTIONS: dict[str, tuple[str, frozenset[str]]] = {
    # and whose a leaked key is (core.enforce.leak asks STS with the hub's credentials)
    "OrgEnforcerFunction": (
        "OrgEnforcerRole",
        access.ASSUME_PERMISSIONS
        | ALERTS
        | permissions_of(KeyOwnerGateway.access_key_account)
        | STACKSET_PERMISSIONS,  # did the spoke StackSet's operation make a spoke change?
    ),
    # and the organisation's centralized root access (core.org.root_access: iam:ListOrganizationsFeatures)
    "OrgListAccountsFunction": ("OrgListAccountsRole", accounts.LIST_PERMISSIONS | root_access.PERMISSIONS),
    "OrgSweepAccountFunction": ("OrgSweepAccountRole", access.ASSUME_PERMISSIONS),
    "OrgDigestFunction": ("OrgDigestRole", summary.READ_PERMISSIONS | ALERTS),
}
SUFFIX = {
    "OrgEnforcerFunction": naming.ORG_ENFORCER_FUNCTION,
    "OrgListAccountsFunction": naming.ORG_LIST_FUNCTION,
    "OrgSweepAccountFunction": naming.ORG_SWEEP_ACCOUNT_FUNCTION,
    "OrgDigestFunction": naming.ORG_DIGEST_FUNCTION,
}


def resources() -> dict[str, Any]:
    found: dict[str, Any] = load_template()["Resources"]
    return found


def hub() -> dict[str, Any]:
    return {k: v for k, v in resources().items() if k.startswith("Org")}


def job(role: str) -> dict[str, Any]:
    policies = {p["PolicyName"]: p["PolicyDocument"] for p in resources()[role]["Properties"]["Policies"]}
    document: dict[str, Any] = resolve(policies["job"], ORG_PARAMETERS)
    return document


def granted(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in as_list(s["Action"])}


def test_every_hub_resource_exists_only_in_org_mode_and_comes_last() -> None:
    names = list(resources())
    first = names.index(next(iter(hub())))

    assert names[first:] == list(hub())  # one section, at the end of Resources
    for logical, resource in hub().items():
        assert resource["Condition"] in {"OrgMode", "OrgSpokeStackSet", "OrgTracingOn"}, logical
    assert load_template()["Conditions"]["OrgMode"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "OrganizationId"}, ""]}]
    }
    pattern = load_template()["Parameters"]["OrganizationId"]["AllowedPattern"]
    assert pattern == "^$|^o-[a-z0-9]{10,32}$"
    assert re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, ORG)
    assert not re.fullmatch(pattern, "o-short")


def test_hub_resources_are_named_after_the_stack_with_core_naming_suffixes() -> None:
    named = {
        "OrgEventBus": ("Name", naming.ORG_EVENT_BUS),
        "OrgEventRule": ("Name", naming.ORG_EVENT_RULE),
        "OrgEventQueue": ("QueueName", naming.ORG_EVENT_QUEUE),
        "OrgEventDeadLetterQueue": ("QueueName", naming.ORG_EVENT_DLQ),
        "OrgSweepStateMachine": ("Name", naming.ORG_STATE_MACHINE),
        "OrgSweepWorkflowRole": ("RoleName", naming.ORG_STATE_MACHINE_ROLE),
        "OrgSweepSchedule": ("Name", naming.ORG_SCHEDULE),
        "OrgSweepSchedulerRole": ("RoleName", naming.ORG_SCHEDULER_ROLE),
        **{f: ("FunctionName", SUFFIX[f]) for f in HUB_FUNCTIONS},
        **{role: ("RoleName", SUFFIX[f]) for f, (role, _) in HUB_FUNCTIONS.items()},
    }
    assert set(SUFFIX.values()) == set(naming.ORG_FUNCTIONS)
    for logical, (key, suffix) in named.items():
        assert resources()[logical]["Properties"][key] == {"Fn::Sub": f"${{AWS::StackName}}_{suffix}"}, (
            logical
        )
    for logical, resource in hub().items():
        if resource["Type"] == "AWS::IAM::Role":
            assert resource["Properties"]["Path"] == {"Fn::Sub": "/iam-guard/${AWS::StackName}/"}, logical


@pytest.mark.parametrize("function", HUB_FUNCTIONS)
def test_hub_roles_grant_exactly_what_their_code_declares(function: str) -> None:
    role, declared = HUB_FUNCTIONS[function]

    assert resources()[function]["Properties"]["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    assert granted(job(role)) == declared


def test_hub_roles_may_assume_only_the_spoke_roles_and_only_inside_the_organisation() -> None:
    expected = {
        "OrgEnforcerRole": ["arn:aws:iam::*:role/IAMGuardEnforceRole"],
        "OrgSweepAccountRole": [
            "arn:aws:iam::*:role/IAMGuardAuditRole",
            "arn:aws:iam::*:role/IAMGuardEnforceRole",
        ],
    }
    for role, targets in expected.items():
        (statement,) = [s for s in statements(job(role)) if "sts:AssumeRole" in as_list(s["Action"])]
        assert as_list(statement["Resource"]) == targets
        assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG}}
        assert set(as_list(statement["Action"])) == {"sts:AssumeRole", "sts:SetSourceIdentity"}


@pytest.mark.parametrize("function", HUB_FUNCTIONS)
def test_hub_handlers_exist_and_are_built_with_the_makefile(function: str) -> None:
    resource = resources()[function]
    module, name = resource["Properties"]["Handler"].rsplit(".", 1)

    assert callable(getattr(importlib.import_module(module), name))
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    assert re.search(rf"^FUNCTIONS :=.*\b{function}\b", (ROOT / "src" / "Makefile").read_text(), re.MULTILINE)


def test_the_bus_accepts_events_from_the_organisation_only_in_one_statement() -> None:
    policy = resolve(resources()["OrgEventBusPolicy"]["Properties"], ORG_PARAMETERS)

    assert policy["Statement"]["Principal"] == "*"
    assert policy["Statement"]["Action"] == "events:PutEvents"
    assert policy["Statement"]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORG}}


def spoke_pattern(logical: str) -> dict[str, Any]:
    pattern = resolve_spoke(load_spoke()["Resources"][logical]["Properties"]["EventPattern"])
    return json.loads(pattern) if isinstance(pattern, str) else pattern  # !Sub JSON (the severity)


def test_the_hub_rule_takes_what_the_spoke_rules_forward_into_a_queue_with_a_dead_letter_queue() -> None:
    rule = resources()["OrgEventRule"]["Properties"]
    spoke_sources = set()
    for logical in ("ForwardRule", "SpokeChangesRule", "ForwardHealthRule", "ForwardGuardDutyRule"):
        spoke_sources |= set(spoke_pattern(logical)["source"])
    (target,) = rule["Targets"]
    queue = resources()["OrgEventQueue"]["Properties"]
    taken = resolve(rule["EventPattern"], {**ORG_PARAMETERS, "GuardDutyFindings": "true"})

    assert {s for branch in taken["$or"] for s in branch["source"]} == spoke_sources
    assert rule["EventBusName"] == {"Ref": "OrgEventBus"}
    assert target["Arn"] == {"Fn::GetAtt": ["OrgEventQueue", "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["OrgEventDeadLetterQueue", "Arn"]}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["OrgEventDeadLetterQueue", "Arn"]}


@pytest.mark.parametrize("guardduty", ["true", "false"])
def test_the_hub_rule_takes_only_events_a_member_cannot_forge_with_put_events(guardduty: str) -> None:
    # Any principal of the organisation may PutEvents on the hub bus (the bus policy), but EventBridge
    # refuses an "aws." source in PutEvents and sets "account" itself: only AWS-sourced CloudTrail events
    # reach the org enforcer, each naming the account it really came from.
    # The same holds for AWS Health's leaked-key events (source aws.health) and, with
    # GuardDutyFindings=true only, GuardDuty's findings on an IAM user's key (source aws.guardduty).
    raw = resources()["OrgEventRule"]["Properties"]["EventPattern"]
    pattern = resolve(raw, {**ORG_PARAMETERS, "GuardDutyFindings": guardduty})
    cloudtrail, health, *findings = pattern["$or"]

    assert set(pattern) == {"$or"}
    for branch in pattern["$or"]:
        assert branch["source"]
        assert all(source.startswith("aws.") for source in branch["source"])
    assert set(cloudtrail) == {"source", "detail-type"}
    assert cloudtrail["detail-type"] == ["AWS API Call via CloudTrail"]
    assert health == {
        "source": ["aws.health"],
        "detail-type": ["AWS Health Event"],
        "detail": {"service": ["RISK"]},
    }
    expected = {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"resource": {"accessKeyDetails": {"userType": ["IAMUser"]}}},
    }
    assert findings == ([expected] if guardduty == "true" else [])


def test_the_org_enforcer_consumes_the_queue_with_bounded_concurrency_and_partial_batch_failures() -> None:
    source = resources()["OrgEnforcerFunction"]["Properties"]["Events"]["MemberEvents"]

    assert source["Type"] == "SQS"
    assert source["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["Properties"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": "OrgEnforcerMaxConcurrency"}
    }


def test_the_committed_workflow_is_what_core_generates_from_the_clis_fan_out_defaults() -> None:
    committed = (ROOT / "org" / "sweep-state-machine.asl.json").read_text()
    machine = resources()["OrgSweepStateMachine"]["Properties"]
    mapped = workflow.sweep_state_machine()["States"]["SweepAccounts"]

    assert committed == workflow.definition_json(FanOutSettings())
    assert mapped["MaxConcurrency"] == DEFAULT_MAX_CONCURRENCY
    assert mapped["ToleratedFailurePercentage"] == DEFAULT_MAX_FAILED_PERCENT
    assert machine["DefinitionUri"] == "org/sweep-state-machine.asl.json"
    assert set(machine["DefinitionSubstitutions"]) == set(workflow.SUBSTITUTIONS)
    assert set(re.findall(r"\$\{(\w+)\}", committed)) == set(workflow.SUBSTITUTIONS)


def test_the_spoke_stackset_is_service_managed_auto_deployed_us_east_1_and_run_as_delegated_admin() -> None:
    stackset = resources()["OrgSpokeStackSet"]["Properties"]
    spoke_parameters = {name for name, p in load_spoke()["Parameters"].items() if "Default" not in p}

    assert stackset["PermissionModel"] == "SERVICE_MANAGED"
    assert stackset["CallAs"] == "DELEGATED_ADMIN"
    assert stackset["AutoDeployment"]["Enabled"] is True
    assert stackset["TemplateURL"] == "org/spoke.yaml"  # sam deploy uploads it
    (group,) = stackset["StackInstancesGroup"]
    assert group["Regions"] == ["us-east-1"]
    assert group["DeploymentTargets"] == {"OrganizationalUnitIds": {"Ref": "OrgSpokeTargets"}}
    given = {p["ParameterKey"] for p in stackset["Parameters"]}
    assert spoke_parameters <= given
    assert given <= set(load_spoke()["Parameters"])
    assert spoke.STACKSET_EXECUTION_ROLES  # exempted by the SCP (core.policy.scp)
