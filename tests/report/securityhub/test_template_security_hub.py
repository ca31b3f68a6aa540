"""template.yaml: the SecurityHub parameter reaches the functions, and only with it on does the sweep role
hold Security Hub's two actions, scoped to the account's own default product and hub."""

from __future__ import annotations

from typing import Any

from tests.template.template_model import (
    FUNCTIONS,
    actions_of,
    load_template,
    resolve,
    role_of,
    role_policies,
)

from core.aws import securityhub
from core.model.settings import settings_from_env

ACCOUNT = "123456789012"


def conditional_statements() -> list[dict[str, Any]]:
    role = load_template()["Resources"][role_of("SweepFunction")]["Properties"]
    (job,) = [p for p in role["Policies"] if p["PolicyName"] == "job"]
    statements = job["PolicyDocument"]["Statement"]
    return [s for s in statements if "Fn::If" in s and s["Fn::If"][0] == "ImportToSecurityHub"]


def test_the_parameter_is_off_by_default_and_reaches_every_function_as_the_setting() -> None:
    template = load_template()
    parameter = template["Parameters"]["SecurityHub"]
    variables = template["Globals"]["Function"]["Environment"]["Variables"]

    assert parameter["Default"] == "false"
    assert parameter["AllowedValues"] == ["true", "false"]
    assert variables["IAM_GUARD_SECURITY_HUB"] == {"Ref": "SecurityHub"}
    open_network = {"IAM_GUARD_IP_RESTRICTION": "false"}
    assert settings_from_env({**open_network, "IAM_GUARD_SECURITY_HUB": "true"}).security_hub is True
    default = settings_from_env({**open_network, "IAM_GUARD_SECURITY_HUB": parameter["Default"]})
    assert default.security_hub is False


def test_the_sweep_role_gets_security_hub_only_when_the_parameter_is_on() -> None:
    template = load_template()
    statements = conditional_statements()

    assert template["Conditions"]["ImportToSecurityHub"] == {"Fn::Equals": [{"Ref": "SecurityHub"}, "true"]}
    assert statements
    granted: set[str] = set()
    for statement in statements:
        condition, when_on, when_off = statement["Fn::If"]
        assert condition == "ImportToSecurityHub"
        assert when_off == {"Ref": "AWS::NoValue"}  # off: the statement does not exist
        granted |= set(actions_of({"Statement": [when_on]}))
    assert granted == set(securityhub.REQUIRED_PERMISSIONS)


def test_the_import_is_scoped_to_the_accounts_default_product_and_its_hub() -> None:
    resources = {}
    for statement in conditional_statements():
        _condition, when_on, _off = statement["Fn::If"]
        actions = when_on["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            resources[action] = resolve(when_on["Resource"])

    hub = f"arn:aws:securityhub:us-east-1:{ACCOUNT}:hub/default"
    assert resources == {
        "securityhub:BatchImportFindings": securityhub.product_arn(ACCOUNT, "us-east-1"),
        "securityhub:GetFindings": hub,
        # a hidden finding reasserted: its Workflow back to NEW, its history read (who hid it)
        "securityhub:BatchUpdateFindings": hub,
        "securityhub:GetFindingHistory": hub,
    }


def test_no_other_role_can_touch_security_hub() -> None:
    for function in FUNCTIONS:
        if function == "SweepFunction":
            continue
        for document in role_policies(function).values():
            assert not any(a.startswith("securityhub:") for a in actions_of(document)), function
