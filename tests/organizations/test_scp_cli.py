"""``iam-guard scp``: the protection SCP from the core, within Organizations' 5,120 characters."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cli.main import main
from core.policy.scp import MAX_SCP_CHARS


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[Any, str, str]:
    try:
        code: Any = main(["scp", *args])
    except SystemExit as exited:
        code = exited.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_minified_scp_is_what_organizations_measures_and_fits(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--stack-name", "iam-guard", "--minify")
    document = json.loads(out)

    assert code == 0
    assert len(out.strip()) <= MAX_SCP_CHARS
    assert "\n" not in out.strip()
    assert [s["Sid"] for s in document["Statement"]] == [
        "ProtectSpokeRoles",
        "ProtectSpokeRules",
        "ProtectGuardrailGroup",
        "ProtectGuardrailPolicy",
        "ProtectIAMGuardTags",
        "ProtectStackSetExecutionRoles",
        "ProtectStackSetExecutionStacks",
    ]
    assert all(s["Effect"] == "Deny" for s in document["Statement"])


def test_the_configured_names_and_the_hub_stack_reach_the_scp(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "--stack-name",
        "guard-hub",
        "--group-name",
        "Secured",
        "--policy-name",
        "Guardrail",
        "--exempt-tag",
        "corp:exempt",
        "--owner-tag-key",
        "corp:owner",
        "--exemption-role",
        "arn:aws:iam::222222222222:role/SecurityAdmin",
        "--hub-account",
        "111111111111",
    )
    statements = {s["Sid"]: s for s in json.loads(out)["Statement"]}

    assert code == 0
    assert "arn:aws:iam::*:group/Secured" in statements["ProtectGuardrailGroup"]["Resource"]
    assert "arn:aws:iam::*:policy/Guardrail" in statements["ProtectGuardrailPolicy"]["Resource"]
    tag = statements["ProtectIAMGuardTags"]["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]
    assert tag == {"aws:TagKeys": ["corp:exempt", "corp:owner", "iam-guard:exposed-keys"]}
    exempt = statements["ProtectSpokeRoles"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert "arn:aws:iam::111111111111:role/iam-guard/guard-hub/*" in exempt  # the hub's, nobody else's
    assert "arn:aws:iam::*:role/iam-guard/guard-hub/*" not in exempt
    assert "arn:aws:iam::222222222222:role/SecurityAdmin" in exempt
    assert "arn:aws:iam::*:role/SecurityAdmin" not in exempt
    assert "arn:aws:iam::*:role/AWSCloudFormationStackSetExecutionRole" not in exempt


def test_without_the_hub_account_the_scp_says_what_stays_open(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--stack-name", "iam-guard")

    assert code == 0
    assert json.loads(out)["Statement"]
    assert "without --hub-account" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            [
                "--stack-name",
                "iam-guard",
                *[
                    f
                    for i in range(40)
                    for f in ("--exemption-role", f"arn:aws:iam::222222222222:role/Role{i:02d}x")
                ],
            ],
            "over Organizations' limit of 5,120",
        ),
        (["--stack-name", "bad_name"], "is not a stack name"),
        (["--stack-name", "iam-guard", "--exemption-role", "a/b"], "is not a role ARN"),
        (["--stack-name", "iam-guard", "--exemption-role", "SecurityAdmin"], "is not a role ARN"),
        (["--stack-name", "iam-guard", "--hub-account", "12345"], "is not an AWS account ID"),
        (["--stack-name", "iam-guard", "--group-name", "bad group"], "invalid setting group_name"),
    ],
)
def test_refusals_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = run(capsys, *args)

    assert code == 2
    assert out == ""
    assert message in err
    assert len(err.strip().splitlines()) == 1
