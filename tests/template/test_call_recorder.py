"""The least-privilege recorder itself: it must deny what a role does not grant, and map calls to ARNs."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.policy import engine as iam_engine
from tests.template.call_recorder import REQUIRE_ENGINE_VAR, check, resource_arn


@pytest.fixture
def engine() -> None:
    iam_engine.require_engine()


PRODUCT = "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"


def record(function: str, action: str, resource: str, group: str = "") -> dict[str, str]:
    return {
        "function": function,
        "action": action,
        "resource": resource,
        "group": group,
        "policy": "",
        "topic": "",
        "secret": "",
        "test": "tests/x.py::test_y",
    }


@pytest.mark.engine
@pytest.mark.usefixtures("engine")
def test_a_call_outside_the_role_is_denied_and_reported() -> None:
    report: list[str] = []
    records = [
        record(
            "EnforcerFunction", "iam:AddUserToGroup", "arn:aws:iam::123456789012:group/IAMGuardSecuredUsers"
        ),
        record("EnforcerFunction", "iam:AddUserToGroup", "arn:aws:iam::123456789012:group/Admins"),
        record("SweepFunction", "iam:DeleteUser", "arn:aws:iam::123456789012:user/alice"),
    ]

    denied = check(records, report)

    assert denied == 2
    assert any(
        line.startswith("DENIED EnforcerFunction: iam:AddUserToGroup on") and "group/Admins" in line
        for line in report
    )
    assert any(line.startswith("DENIED SweepFunction: iam:DeleteUser") for line in report)


@pytest.mark.engine
@pytest.mark.usefixtures("engine")
def test_the_configured_group_is_the_stacks_group() -> None:
    report: list[str] = []
    group = "arn:aws:iam::123456789012:group/Secured"

    assert check([record("EnforcerFunction", "iam:AddUserToGroup", group, group="Secured")], report) == 0
    assert check([record("EnforcerFunction", "iam:AddUserToGroup", group)], report) == 1  # default name


@pytest.mark.engine
@pytest.mark.usefixtures("engine")
def test_publishing_needs_the_topic_and_the_key() -> None:
    report: list[str] = []
    topic = "arn:aws:sns:us-east-1:123456789012:iam-guard_alerts"

    assert check([record("SweepFunction", "sns:Publish", topic)], report) == 0
    assert check([record("SlackNotifierFunction", "sns:Publish", topic)], report) == 3  # + both key actions


def test_the_sweep_imports_only_as_its_own_accounts_default_product() -> None:
    report: list[str] = []
    elsewhere = "arn:aws:securityhub:us-east-1:210987654321:product/210987654321/default"
    partner = "arn:aws:securityhub:us-east-1:123456789012:product/some-vendor/some-product"
    hub = "arn:aws:securityhub:us-east-1:123456789012:hub/default"

    assert check([record("SweepFunction", "securityhub:BatchImportFindings", PRODUCT)], report) == 0
    assert check([record("SweepFunction", "securityhub:GetFindings", hub)], report) == 0
    assert check([record("SweepFunction", "securityhub:BatchImportFindings", elsewhere)], report) == 1
    assert check([record("SweepFunction", "securityhub:BatchImportFindings", partner)], report) == 1
    assert check([record("EnforcerFunction", "securityhub:BatchImportFindings", PRODUCT)], report) == 1


@pytest.mark.parametrize(
    ("service", "operation", "params", "arn"),
    [
        # a group's path is not in the request: IAM Guard's groups live under /iam-guard/
        (
            "iam",
            "AddUserToGroup",
            {"GroupName": "G", "UserName": "u"},
            "arn:aws:iam::123456789012:group/iam-guard/G",
        ),
        ("iam", "CreateGroup", {"GroupName": "G", "Path": "/x/"}, "arn:aws:iam::123456789012:group/x/G"),
        (
            "iam",
            "CreatePolicy",
            {"PolicyName": "P", "Path": "/iam-guard/"},
            "arn:aws:iam::123456789012:policy/iam-guard/P",
        ),
        (
            "cloudformation",
            "DescribeStacks",
            {"StackName": "iam-guard"},
            "arn:aws:cloudformation:us-east-1:123456789012:stack/iam-guard/id",
        ),
        (
            "lambda",
            "GetFunctionConfiguration",
            {"FunctionName": "iam-guard_enforcer"},
            "arn:aws:lambda:us-east-1:123456789012:function:iam-guard_enforcer",
        ),
        (
            "events",
            "DescribeRule",
            {"Name": "iam-guard_enforcer-events"},
            "arn:aws:events:us-east-1:123456789012:rule/iam-guard_enforcer-events",
        ),
        ("iam", "GetUser", {"UserName": "u"}, "arn:aws:iam::123456789012:user/u"),
        ("iam", "CreatePolicy", {"PolicyName": "P"}, "arn:aws:iam::123456789012:policy/P"),
        (
            "iam",
            "GetPolicy",
            {"PolicyArn": "arn:aws:iam::123456789012:policy/P"},
            "arn:aws:iam::123456789012:policy/P",
        ),
        ("iam", "GetCredentialReport", {}, "*"),
        (
            "securityhub",
            "BatchImportFindings",
            {"Findings": [{"ProductArn": PRODUCT}, {"ProductArn": PRODUCT}]},
            PRODUCT,
        ),
        ("securityhub", "GetFindings", {}, "arn:aws:securityhub:us-east-1:123456789012:hub/default"),
        (
            "secretsmanager",
            "GetSecretValue",
            {"SecretId": "s"},
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:s",
        ),
    ],
)
def test_calls_map_to_the_resource_iam_authorizes(
    service: str, operation: str, params: dict[str, str], arn: str
) -> None:
    assert resource_arn(service, operation, params) == arn


def test_without_the_engine_a_run_by_hand_says_how_to_install_it_and_keeps_its_result(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(iam_engine, "PACKAGE", tmp_path / "missing" / "package.json")
    monkeypatch.delenv(REQUIRE_ENGINE_VAR, raising=False)
    report: list[str] = []

    denied = check([record("SweepFunction", "iam:DeleteUser", "arn:aws:iam::123456789012:user/a")], report)

    assert denied == 0
    [line] = report
    assert line.startswith("NOT CHECKED: the IAM engine (tests/engine) is not installed")
    assert "`make install`" in line
    assert "`npm ci --prefix tests/engine`" in line


def test_without_the_engine_make_test_fails(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(iam_engine, "PACKAGE", tmp_path / "missing" / "package.json")
    monkeypatch.setenv(REQUIRE_ENGINE_VAR, "1")
    report: list[str] = []

    denied = check([record("SweepFunction", "iam:DeleteUser", "arn:aws:iam::123456789012:user/a")], report)

    assert denied == 1
    assert report[0].startswith("FAILED: the IAM engine (tests/engine) is not installed")
