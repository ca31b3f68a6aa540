"""org/spoke.yaml as data, resolved for one member account with given parameters (test helper)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import yaml
from tests.template.template_model import ROOT, _CfnLoader

SPOKE = ROOT / "org" / "spoke.yaml"
MEMBER = "210987654321"
HUB = "111122223333"
ORG_ID = "o-a1b2c3d4e5"
HUB_STACK = "iam-guard"
HUB_SWEEP_ROLE = f"arn:aws:iam::{HUB}:role/iam-guard/{HUB_STACK}/{HUB_STACK}_org-sweep-account"
HUB_ENFORCER_ROLE = f"arn:aws:iam::{HUB}:role/iam-guard/{HUB_STACK}/{HUB_STACK}_org-enforcer"
HUB_BUS = f"arn:aws:events:us-east-1:{HUB}:event-bus/{HUB_STACK}_org-events"
PARAMETERS = {
    "OrganizationId": ORG_ID,
    "HubSweepRoleArn": HUB_SWEEP_ROLE,
    "HubEnforcerRoleArn": HUB_ENFORCER_ROLE,
    "HubEventBusArn": HUB_BUS,
}


@cache
def load_spoke() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(SPOKE.read_text(), Loader=_CfnLoader)
    return document


def _conditions(params: dict[str, str]) -> dict[str, bool]:
    has_operator = params.get("OperatorRoleArn", "") != ""
    return {
        "HasOperator": has_operator,
        "OperatorWrites": has_operator and params["OperatorMayWrite"] == "true",
        "GuardDutyOn": params["GuardDutyFindings"] == "true",
    }


NO_VALUE = object()


def resolve(value: Any, overrides: dict[str, str] | None = None, account: str = MEMBER) -> Any:
    template = load_spoke()
    params = {n: str(p.get("Default", "")) for n, p in template["Parameters"].items()}
    params.update(PARAMETERS)
    params.update(overrides or {})
    conditions = _conditions(params)
    pseudo = {"AWS::AccountId": account, "AWS::Region": "us-east-1", "AWS::Partition": "aws"}

    def ref(name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in params:
            return params[name]
        resource = template["Resources"][name]
        return resource["Properties"].get("RoleName") or resource["Properties"].get("Name")

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in (walk(i) for i in node) if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if set(node) == {"Ref"}:
            return ref(node["Ref"])
        if set(node) == {"Fn::GetAtt"}:
            logical, attribute = node["Fn::GetAtt"]
            assert attribute == "Arn"
            return f"arn:aws:iam::{account}:role/{ref(logical)}"
        if set(node) == {"Fn::Sub"}:
            return re.sub(r"\$\{([^}]+)\}", lambda m: str(ref(m.group(1))), node["Fn::Sub"])
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return str(separator).join(str(walk(p)) for p in parts)
        if set(node) == {"Fn::Select"}:
            index, items = node["Fn::Select"]
            return walk(items)[int(index)]
        if set(node) == {"Fn::Split"}:
            separator, text = node["Fn::Split"]
            return str(walk(text)).split(separator)
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return walk(when_true if conditions[condition] else when_false)
        return {k: walk(v) for k, v in node.items()}

    return walk(value)


def role(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = load_spoke()["Resources"][logical_id]["Properties"]
    return properties


def role_job(
    logical_id: str, overrides: dict[str, str] | None = None, account: str = MEMBER
) -> dict[str, Any]:
    (policy,) = role(logical_id)["Policies"]
    document: dict[str, Any] = resolve(policy["PolicyDocument"], overrides, account)
    return document


def trust(logical_id: str, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    document: dict[str, Any] = resolve(role(logical_id)["AssumeRolePolicyDocument"], overrides)
    return document
