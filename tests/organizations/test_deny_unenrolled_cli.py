"""``iam-guard scp --deny-unenrolled``, run as users run it: a separate process, stdout, stderr, exit code."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.policy.scp import MAX_SCP_CHARS


def iam_guard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "scp", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_prints_only_the_deny_unenrolled_scp_within_the_size_limit() -> None:
    run = iam_guard(
        "--stack-name", "iam-guard", "--deny-unenrolled", "--exempt-user", "breakglass", "--minify"
    )
    document = json.loads(run.stdout)

    assert run.returncode == 0, run.stderr
    assert len(run.stdout.strip()) <= MAX_SCP_CHARS
    assert [s["Sid"] for s in document["Statement"]] == [
        "DenyUnenrolledUsersExceptMFASetup",
        "ProtectEnrolledTag",
        "ProtectEnforceRole",
    ]
    deny = document["Statement"][0]
    assert deny["Condition"]["StringEquals"] == {"aws:PrincipalType": "User"}
    assert deny["Condition"]["StringNotEquals"] == {"aws:PrincipalTag/iam-guard:enrolled": "true"}
    assert deny["Condition"]["ArnNotLike"]["aws:PrincipalArn"] == [
        "arn:aws:iam::*:user/breakglass",
        "arn:aws:iam::*:user/*/breakglass",
    ]


def test_the_exemption_tag_key_and_no_user_break_glass_reach_the_scp() -> None:
    run = iam_guard(
        "--stack-name",
        "guard-hub",
        "--deny-unenrolled",
        "--no-user-break-glass",
        "--exempt-tag",
        "corp:exempt",
    )
    statements = {s["Sid"]: s for s in json.loads(run.stdout)["Statement"]}

    assert run.returncode == 0, run.stderr
    condition = statements["DenyUnenrolledUsersExceptMFASetup"]["Condition"]
    assert condition["Null"] == {"aws:PrincipalTag/corp:exempt": "true"}
    assert "ArnNotLike" not in condition
    own = statements["ProtectEnrolledTag"]["Condition"]["ArnNotLike"]["aws:PrincipalArn"]
    assert own == ["arn:aws:iam::*:role/IAMGuardEnforceRole", "arn:aws:iam::*:role/iam-guard/guard-hub/*"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--deny-unenrolled"], "needs a break-glass user"),
        (["--deny-unenrolled", "--exempt-user", "bg", "--no-user-break-glass"], "contradict"),
        (["--exempt-user", "bg"], "apply only to --deny-unenrolled"),
        (["--no-user-break-glass"], "apply only to --deny-unenrolled"),
        (["--deny-unenrolled", "--exempt-user", "a/b"], "is not an IAM user name"),
        (["--deny-unenrolled", "--exempt-user", "bg*"], "is not an IAM user name"),
        (
            ["--deny-unenrolled", "--exempt-user", "bg", "--group-name", "G"],
            "do not apply to --deny-unenrolled",
        ),
        (
            [
                "--deny-unenrolled",
                *[f for i in range(80) for f in ("--exempt-user", f"user-{i:02d}-" + "x" * 40)],
            ],
            "over Organizations' limit of 5,120",
        ),
    ],
)
def test_refusals_are_one_line_exit_2_nothing_on_stdout(args: list[str], message: str) -> None:
    run = iam_guard("--stack-name", "iam-guard", *args)

    assert run.returncode == 2
    assert run.stdout == ""
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
