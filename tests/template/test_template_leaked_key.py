"""template.yaml's leaked-key rules are the patterns core.enforce.risk builds, and the enforcer's new
writes are fenced: the tag key, AWS's quarantine policy."""

from __future__ import annotations

from typing import Any

import pytest
from tests.template.template_model import load_template, resolve, role_policies, statements

from core.enforce import risk
from core.enforce.routes import ROUTES


def events() -> dict[str, Any]:
    found: dict[str, Any] = load_template()["Resources"]["EnforcerFunction"]["Properties"]["Events"]
    return found


def test_the_health_rule_is_the_pattern_core_builds_and_every_route_is_delivered() -> None:
    pattern = resolve(events()["HealthRisk"]["Properties"]["Pattern"])

    assert pattern == risk.health_rule_pattern()
    routed = {code for source, _, code in ROUTES if source == risk.HEALTH_SOURCE}
    assert routed == set(pattern["detail"]["eventTypeCode"])


def test_the_quarantine_rule_is_the_pattern_core_builds() -> None:
    assert resolve(events()["QuarantineDetached"]["Properties"]["Pattern"]) == risk.quarantine_rule_pattern()


def test_the_enforcer_may_tag_only_the_exposed_keys_tag_and_attach_only_the_quarantine() -> None:
    job = statements(role_policies("EnforcerFunction")["job"])
    (tag,) = [s for s in job if "iam:TagUser" in str(s["Action"])]
    (attach,) = [s for s in job if "iam:AttachUserPolicy" in str(s["Action"])]

    assert tag["Action"] == "iam:TagUser"
    assert tag["Condition"] == {"ForAllValues:StringEquals": {"aws:TagKeys": [risk.EXPOSED_KEYS_TAG]}}
    assert attach["Action"] == "iam:AttachUserPolicy"
    assert attach["Condition"] == {"ArnLike": {"iam:PolicyARN": risk.QUARANTINE_POLICY_PREFIX + "*"}}


def _record(action: str, resource: str, context: dict[str, Any]) -> dict[str, str]:
    import json

    return {
        "function": "EnforcerFunction",
        "action": action,
        "resource": resource,
        "group": "",
        "policy": "",
        "topic": "",
        "secret": "",
        "context": json.dumps(context),
        "test": "tests/x.py::test_y",
    }


@pytest.mark.engine
def test_on_the_engine_the_fences_hold_and_the_intended_calls_pass() -> None:
    from tests.policy import engine as iam_engine
    from tests.template.call_recorder import check

    iam_engine.require_engine()
    user = "arn:aws:iam::123456789012:user/build-bot"
    quarantine = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
    allowed = [
        _record("iam:TagUser", user, {"aws:TagKeys": [risk.EXPOSED_KEYS_TAG]}),
        _record("iam:AttachUserPolicy", user, {"iam:PolicyARN": quarantine}),
        _record("iam:UpdateAccessKey", user, {}),
        _record("sts:GetAccessKeyInfo", "*", {}),
    ]
    fenced = [
        _record("iam:TagUser", user, {"aws:TagKeys": ["iam-guard:exempt"]}),
        _record("iam:TagUser", user, {"aws:TagKeys": [risk.EXPOSED_KEYS_TAG, "iam-guard:exempt"]}),
        _record(
            "iam:AttachUserPolicy", user, {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"}
        ),
        _record("iam:DeleteAccessKey", user, {}),  # never deleted: evidence
    ]

    assert check(allowed, []) == 0
    report: list[str] = []
    assert check(fenced, report) == len(fenced), report


def test_the_spokes_health_forwarding_rule_is_the_same_pattern_and_the_spoke_protects_it() -> None:
    from tests.organizations.spoke_model import load_spoke

    from core.org.spoke import FORWARD_HEALTH_RULE, SPOKE_RULES

    spoke = load_spoke()["Resources"]
    rule = spoke["ForwardHealthRule"]["Properties"]
    changes = spoke["SpokeChangesRule"]["Properties"]["EventPattern"]["detail"]["$or"]

    assert rule["Name"] == FORWARD_HEALTH_RULE
    assert rule["EventPattern"] == risk.health_rule_pattern()
    assert FORWARD_HEALTH_RULE in SPOKE_RULES  # the SCP and the member guardrail name it
    assert all(FORWARD_HEALTH_RULE in str(branch) for branch in changes[1:])  # its changes reach the hub


def test_the_spokes_guardduty_rule_is_the_single_account_pattern_when_on_and_the_spoke_protects_it() -> None:
    import json

    from tests.organizations.spoke_model import load_spoke
    from tests.organizations.spoke_model import resolve as resolve_spoke

    from core.enforce.guardduty import guardduty_rule_json, guardduty_rule_pattern
    from core.org.spoke import FORWARD_GUARDDUTY_RULE, SPOKE_RULES

    spoke = load_spoke()
    rule = spoke["Resources"]["ForwardGuardDutyRule"]
    changes = spoke["Resources"]["SpokeChangesRule"]["Properties"]["EventPattern"]["detail"]["$or"]
    pattern = rule["Properties"]["EventPattern"]
    on = {"GuardDutyFindings": "true", "GuardDutyMinSeverity": "4"}

    assert rule["Condition"] == "GuardDutyOn"
    assert spoke["Conditions"]["GuardDutyOn"] == {"Fn::Equals": [{"Ref": "GuardDutyFindings"}, "true"]}
    assert spoke["Parameters"]["GuardDutyFindings"]["Default"] == "false"
    assert rule["Properties"]["Name"] == FORWARD_GUARDDUTY_RULE
    assert pattern == {"Fn::Sub": guardduty_rule_json()}
    assert json.loads(resolve_spoke(pattern, on)) == guardduty_rule_pattern(4.0)  # the severity: a number
    assert resolve_spoke(rule["Properties"]["Targets"]) == resolve_spoke(
        spoke["Resources"]["ForwardHealthRule"]["Properties"]["Targets"]
    )  # the hub's bus, through the forwarding role
    assert FORWARD_GUARDDUTY_RULE in SPOKE_RULES  # the SCP and the member guardrail name it
    assert all(FORWARD_GUARDDUTY_RULE in str(branch) for branch in changes[1:])  # its changes reach the hub


def test_the_hub_passes_its_guardduty_settings_to_the_spoke() -> None:
    stackset = load_template()["Resources"]["OrgSpokeStackSet"]["Properties"]
    given = {p["ParameterKey"]: p["ParameterValue"] for p in stackset["Parameters"]}

    assert given["GuardDutyFindings"] == {"Ref": "GuardDutyFindings"}
    assert given["GuardDutyMinSeverity"] == {"Ref": "GuardDutyMinSeverity"}


def test_the_spokes_guardduty_parameters_are_the_hubs() -> None:
    from tests.organizations.spoke_model import load_spoke

    hub, spoke = load_template()["Parameters"], load_spoke()["Parameters"]
    for name in ("GuardDutyFindings", "GuardDutyMinSeverity"):
        same = ("Type", "Default", "AllowedValues", "MinValue", "MaxValue")
        assert {k: spoke[name].get(k) for k in same} == {k: hub[name].get(k) for k in same}, name


@pytest.mark.engine
def test_on_the_engine_the_member_enforce_role_may_read_the_leak_and_guardduty_only_when_on() -> None:
    from tests.organizations.spoke_model import role_job
    from tests.policy import engine as iam_engine

    reads = ["cloudtrail:LookupEvents", "health:DescribeEventDetails", "health:DescribeAffectedEntities"]
    beyond = ["guardduty:ArchiveFindings", "guardduty:DeleteDetector", "cloudtrail:StopLogging"]
    for switch, expected in (("true", iam_engine.ALLOWED), ("false", iam_engine.IMPLICIT_DENY)):
        job = role_job("EnforceRole", {"GuardDutyFindings": switch})
        requests = [*reads, "guardduty:GetFindings", *beyond]
        decisions = iam_engine.evaluate(
            {"job": job}, [iam_engine.Request(("job",), action, "*") for action in requests]
        )

        assert decisions[:3] == [iam_engine.ALLOWED] * 3, switch
        assert decisions[3] == expected, switch
        assert decisions[4:] == [iam_engine.IMPLICIT_DENY] * 3, switch  # the reads, nothing else
