"""template.yaml as data: load it (short-form tags as long forms), resolve intrinsic functions for one
fake account, and answer "which role does this function run with, and what does it allow"."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "iam-guard"
STACK_ID = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/5b2b7c40-1f0e-11ef-9a3b-0a1b2c3d4e5f"
# The functions and what the least-privilege tests hold each role to (see test_least_privilege.py).
FUNCTIONS = ("EnforcerFunction", "SweepFunction", "SlackNotifierFunction", "PolicyResourceFunction")
# Deployed only with OrgMode (the organization hub); tested in tests/organizations/test_hub_template.py.
HUB_FUNCTIONS = (
    "OrgEnforcerFunction",
    "OrgListAccountsFunction",
    "OrgSweepAccountFunction",
    "OrgDigestFunction",
)
# Parameters the resolved template uses where the default is empty (the Slack notifier needs a secret).
TEST_PARAMETERS = {
    "AllowedCIDRs": "203.0.113.0/24",
    "DryRun": "false",  # no default: every deploy says it
    "SlackSecretArn": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:iam-guard/slack-AbCdEf",
}


class _CfnLoader(yaml.SafeLoader):
    """CloudFormation's short-form tags (!Ref, !Sub, !GetAtt, ...) as their long forms."""


def _tagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix if suffix in {"Ref", "Condition"} else f"Fn::{suffix}": value}


_CfnLoader.add_multi_constructor("!", _tagged)


@cache
def load_template() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    return document


def parameter_values(overrides: dict[str, str] | None = None) -> dict[str, str]:
    template = load_template()
    values = {name: str(p.get("Default", "")) for name, p in template["Parameters"].items()}
    return {**values, **TEST_PARAMETERS, **(overrides or {})}


def physical_value(logical_id: str, attribute: str | None = None) -> str:
    """A plausible value for ``!Ref X`` / ``!GetAtt X.Attr`` of one of our resources in the fake account.

    Explicit names in the template (FunctionName, RoleName + Path, TopicName, QueueName, ...) are used as
    CloudFormation would use them; otherwise CloudFormation's ``<stack>-<LogicalId>`` stands in."""
    resource = load_template()["Resources"][logical_id]
    kind = resource["Type"]
    properties = resource.get("Properties", {})

    def explicit(key: str) -> str:
        value = properties.get(key)
        return str(resolve(value)) if value is not None else f"{STACK}-{logical_id}"

    if kind == "AWS::IAM::Role":
        path = str(resolve(properties.get("Path", "/")))
        return f"arn:aws:iam::{ACCOUNT}:role{path}{explicit('RoleName')}"
    if kind == "AWS::SNS::Topic":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{explicit('TopicName')}"
    if kind == "AWS::KMS::Key":
        return f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555"
    if kind == "AWS::SQS::Queue":
        name = explicit("QueueName")
        if attribute == "Arn":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        if attribute == "QueueName":
            return name
        return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"
    if kind == "AWS::Logs::LogGroup":
        group = resolve(properties["LogGroupName"])
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*" if attribute == "Arn" else group
    if kind == "AWS::DynamoDB::Table":
        name = explicit("TableName")
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}" if attribute == "Arn" else name
    if kind == "AWS::Serverless::Function":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{explicit('FunctionName')}"
    if kind == "AWS::CloudWatch::Alarm":
        return explicit("AlarmName")
    return f"{STACK}-{logical_id}"


def condition_holds(name: str, parameters: dict[str, str] | None = None) -> bool:
    """The template's condition ``name`` for these parameter values (Equals / Not / And / Or / Condition)."""
    params = parameter_values(parameters)

    def holds(node: Any) -> bool:
        (function, argument), *_ = node.items()
        if function == "Condition":
            return holds(load_template()["Conditions"][argument])
        if function == "Fn::Equals":
            left, right = (params[a["Ref"]] if isinstance(a, dict) else a for a in argument)
            return str(left) == str(right)
        if function == "Fn::Not":
            return not holds(argument[0])
        if function == "Fn::And":
            return all(holds(a) for a in argument)
        if function == "Fn::Or":
            return any(holds(a) for a in argument)
        raise ValueError(f"unsupported condition function {function}")

    return holds({"Condition": name})


_NO_VALUE = object()  # !Ref AWS::NoValue: the property or list item is left out


def resolve(
    value: Any, parameters: dict[str, str] | None = None, resources: dict[str, str] | None = None
) -> Any:
    """Resolve Ref / Sub / GetAtt / Join / If with the fake account and parameter values (conditions are
    evaluated; ``AWS::NoValue`` drops the property or list item). ``resources`` overrides the value of
    ``!Ref X`` / ``!GetAtt X.Attr`` for some of our resources (keys "X" or "X.Attr")."""
    params = parameter_values(parameters)
    given = resources or {}
    pseudo = {
        "AWS::AccountId": ACCOUNT,
        "AWS::Region": REGION,
        "AWS::Partition": "aws",
        "AWS::StackName": STACK,
        "AWS::StackId": STACK_ID,
        "AWS::URLSuffix": "amazonaws.com",
    }

    def ref(name: str) -> str:
        if name in pseudo:
            return pseudo[name]
        if name in params:
            return params[name]
        return given.get(name) or physical_value(name)

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [item for item in map(walk, node) if item is not _NO_VALUE]
        if not isinstance(node, dict):
            return node
        if node == {"Ref": "AWS::NoValue"}:
            return _NO_VALUE
        if set(node) == {"Ref"}:
            return ref(node["Ref"])
        if set(node) == {"Fn::GetAtt"}:
            logical, attribute = node["Fn::GetAtt"]
            given_value = given.get(f"{logical}.{attribute}") or given.get(logical)
            return given_value or physical_value(logical, attribute)
        if set(node) == {"Fn::Sub"}:
            text = node["Fn::Sub"]

            def substitute(match: re.Match[str]) -> str:
                name = match.group(1)
                if "." in name and name.split(".", 1)[0] in load_template()["Resources"]:
                    logical, attribute = name.split(".", 1)
                    return physical_value(logical, attribute)
                return ref(name)

            return re.sub(r"\$\{([^}!]+)\}", substitute, text)
        if set(node) == {"Fn::Join"}:
            separator, parts = node["Fn::Join"]
            return str(separator).join(str(walk(part)) for part in parts)
        if set(node) == {"Fn::Select"}:
            index, items = node["Fn::Select"]
            return walk(items)[int(index)]
        if set(node) == {"Fn::Split"}:
            separator, text = node["Fn::Split"]
            return str(walk(text)).split(separator)
        if set(node) == {"Fn::If"}:
            condition, when_true, when_false = node["Fn::If"]
            return walk(when_true if condition_holds(condition, parameters) else when_false)
        walked = {key: walk(item) for key, item in node.items()}
        return {key: item for key, item in walked.items() if item is not _NO_VALUE}

    return walk(value)


def role_of(function: str) -> str:
    """The logical ID of the role a function runs with (``Role: !GetAtt XRole.Arn``)."""
    role = load_template()["Resources"][function]["Properties"]["Role"]
    logical, attribute = role["Fn::GetAtt"]
    assert attribute == "Arn"
    return str(logical)


# Optional features whose statements a role carries only when they are on: least privilege is checked
# against the most a role may ever do, so role_policies turns them on unless told otherwise.
SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:iam-guard/"
FEATURES_ON = {
    "SecurityHub": "true",
    "GuardDutyFindings": "true",
    "OwnerEmailSender": "iam-guard@example.com",
    "SlackBotTokenSecretArn": f"{SECRET}slack-bot",
    "TeamsWebhookSecretArn": f"{SECRET}teams",
    "WebhookSecretArn": f"{SECRET}webhook",
}


def role_policies(
    function: str, parameters: dict[str, str] | None = None, resources: dict[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """The role's inline policies, name -> resolved policy document (optional features on by default)."""
    role = load_template()["Resources"][role_of(function)]["Properties"]
    chosen = {**FEATURES_ON, **(parameters or {})}
    return {
        p["PolicyName"]: resolve(p["PolicyDocument"], chosen, resources) for p in role.get("Policies", [])
    }


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def actions_of(document: dict[str, Any]) -> set[str]:
    return {a for s in statements(document) if s["Effect"] == "Allow" for a in as_list(s["Action"])}
