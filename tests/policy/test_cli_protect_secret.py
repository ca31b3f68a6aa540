"""``--protect-secret`` (and ``policy --slack-secret-arn``, its alias for the Slack secret), through the CLI.

What the statement denies is proven on the IAM engine (test_secret_protection_table.py); here: the
command line renders it for exactly the secrets named, and refuses a value that is no secret ARN.
"""

from __future__ import annotations

from .test_cli_policy import iam_guard, only_document

PREFIX = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
SLACK = f"{PREFIX}iam-guard/slack-webhook"
TEAMS = f"{PREFIX}iam-guard/teams-webhook-Xy12Zw"


def secret_statement(*flags: str) -> list[dict[str, object]]:
    run = iam_guard("policy", "--allowed-cidr", "203.0.113.0/24", *flags)
    assert run.returncode == 0, run.stderr
    return [s for s in only_document(run.stdout)["Statement"] if s["Sid"] == "DenyChangesToProtectedSecrets"]  # type: ignore[attr-defined,index]


def test_each_secret_named_is_protected_by_its_arn_and_its_full_arn_once() -> None:
    (statement,) = secret_statement(
        "--protect-secret", SLACK, "--protect-secret", TEAMS, "--slack-secret-arn", SLACK
    )

    assert statement["Effect"] == "Deny"
    assert statement["Resource"] == [SLACK, f"{SLACK}-??????", TEAMS, f"{TEAMS}-??????"]
    assert statement["NotAction"] == [
        "secretsmanager:DescribeSecret",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:ListSecretVersionIds",
    ]


def test_the_slack_secret_alone_is_protected_too() -> None:
    (statement,) = secret_statement("--slack-secret-arn", SLACK)
    assert statement["Resource"] == [SLACK, f"{SLACK}-??????"]


def test_without_a_secret_there_is_no_secret_statement() -> None:
    assert secret_statement() == []


def test_a_value_that_is_not_a_secret_arn_is_one_line_and_exit_2() -> None:
    run = iam_guard(
        "policy", "--allowed-cidr", "203.0.113.0/24", "--protect-secret", "iam-guard/slack-webhook"
    )

    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1
    assert "'iam-guard/slack-webhook' is not a Secrets Manager secret ARN" in run.stderr
    assert "Traceback" not in run.stderr
