"""``iam-guard audit --notify-owners`` and the owner flags, as a subprocess against a moto server."""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from tests.sweep.conftest import GROUP
from tests.sweep.test_sweep_cli_e2e import audit

from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.settings import build_settings

pytestmark = pytest.mark.e2e
FIELDS = {"owner", "channel", "user", "finding", "stage", "days_before", "due"}


@pytest.fixture
def owned(moto_endpoint: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    ensure_guardrail(IamGateway(iam), build_settings(ip_restriction=False), "123456789012")
    iam.create_user(
        UserName="alice", Tags=[{"Key": "iam-guard:owner", "Value": "alice@example.com U012AB3CD"}]
    )
    iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-Battery")
    iam.create_user(UserName="robot")  # no tag: the default owner, if any
    iam.create_access_key(UserName="robot")
    iam.create_user(UserName="odd", Tags=[{"Key": "iam-guard:owner", "Value": "team-ci"}])
    for user in ("alice", "robot", "odd"):
        iam.add_user_to_group(GroupName=GROUP, UserName=user)
    return moto_endpoint


def notifications(run: subprocess.CompletedProcess[str], user: str) -> list[dict[str, object]]:
    assert run.returncode == 0, run.stderr
    return [n for n in json.loads(run.stdout)["notifications"] if n["user"] == user]


def test_notify_owners_lists_the_notifications_in_the_json_and_sends_nothing(owned: str) -> None:
    run = audit(
        owned,
        "--format",
        "json",
        "--grace-days",
        "0",
        "--notify-owners",
        "--default-owner",
        "sec@example.com",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    rows = sorted(
        (n["owner"], n["channel"], n["user"], n["finding"], n["stage"]) for n in doc["notifications"]
    )
    assert rows == [
        ("U012AB3CD", "slack", "alice", "console-without-mfa", "notice"),
        ("alice@example.com", "email", "alice", "console-without-mfa", "notice"),
        ("sec@example.com", "email", "robot", "access-key-without-mfa", "notice"),
    ]
    assert all(set(n) == FIELDS for n in doc["notifications"])
    assert all(n["days_before"] is None for n in doc["notifications"])
    invalid = [f for f in doc["findings"] if f["finding"] == "owner-invalid"]
    assert [(f["user"], f["severity"], f["status"]) for f in invalid] == [("odd", "low", "violation")]
    assert "'team-ci'" in invalid[0]["detail"]


def test_a_planned_action_gives_a_warning_with_its_days(owned: str) -> None:
    flags = (
        "--format",
        "json",
        "--grace-days",
        "3",
        "--remediate",
        "--apply",  # audit is read-only without it: no action would be planned
        "--notify-owners",
        "--warning-days",
        "5,2",
    )
    assert notifications(audit(owned, *flags), "robot") == []  # no owner tag and no default owner
    (warning,) = notifications(audit(owned, *flags, "--default-owner", "U0SECURITY"), "robot")
    assert (warning["stage"], warning["days_before"], warning["owner"]) == ("warning", 5, "U0SECURITY")
    assert warning["due"]


def test_without_the_flag_there_is_no_notifications_key(owned: str) -> None:
    run = audit(owned, "--format", "json", "--grace-days", "0")
    assert run.returncode == 0, run.stderr
    assert "notifications" not in json.loads(run.stdout)


def test_the_table_says_the_notifications_are_not_sent(owned: str) -> None:
    run = audit(owned, "--grace-days", "0", "--notify-owners")
    assert run.returncode == 0, run.stderr
    assert "Owner notifications due (not sent): 2 to 2 owner(s)" in run.stdout


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (["--warning-days", "7,x"], "invalid setting warning_days"),
        (["--warning-days", "0"], "invalid setting warning_days"),
        (["--default-owner", "security team"], "invalid setting default_owner"),
        (["--owner-tag-key", "aws:owner"], "invalid setting owner_tag_key"),
        (["--owner-tag-key", "iam-guard:exempt"], "is the exemption tag key"),
    ],
)
def test_bad_owner_flags_are_one_line_and_exit_2(owned: str, flags: list[str], reason: str) -> None:
    run = audit(owned, "--notify-owners", *flags)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert reason in line
    assert "Traceback" not in run.stderr


def test_policy_protects_the_owner_tag_key_given() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "policy", "--no-ip-restriction", "--owner-tag-key", "Team:Owner"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    statements = {s["Sid"]: s for s in json.loads(run.stdout)["Statement"]}
    condition = statements["DenyIAMGuardTags"]["Condition"]["ForAnyValue:StringEqualsIgnoreCase"]
    fixed = ["iam-guard:enrolled", "iam-guard:exposed-keys"]  # the keys IAM Guard writes itself
    assert condition == {"aws:TagKeys": ["iam-guard:exempt", "Team:Owner", *fixed]}


# --- sending (--send-notifications) ---------------------------------------------------------------------


def test_send_notifications_needs_a_state_table(owned: str) -> None:
    run = audit(owned, "--send-notifications")
    assert run.returncode == 2
    assert "--send-notifications needs --state-table NAME" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_send_notifications_sends_each_stage_once_and_reports_the_rest(owned: str) -> None:
    """On the moto server: SES GetAccount is not implemented there, so the sandbox is assumed (the safe
    side) and the unverified address is reported; the Slack DM goes to a loopback Slack API."""
    from tests.sweep.test_send_notifications import TABLE, TOKEN, SlackApi

    dynamodb = boto3.client("dynamodb", endpoint_url=owned, region_name="us-east-1")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    boto3.client("sesv2", endpoint_url=owned, region_name="us-east-1").create_email_identity(
        EmailIdentity="iam-guard@example.com"
    )
    secret = boto3.client("secretsmanager", endpoint_url=owned, region_name="us-east-1").create_secret(
        Name="iam-guard/slack-bot", SecretString=json.dumps({"token": TOKEN})
    )["ARN"]
    api = SlackApi()
    try:
        flags = (
            "--format", "json", "--grace-days", "0", "--send-notifications", "--state-table", TABLE,
            "--owner-email-sender", "iam-guard@example.com", "--slack-bot-token-secret-arn", secret,
        )  # fmt: skip
        env = {"IAM_GUARD_SLACK_API_URL": api.url}
        first = json.loads(audit_with(owned, env, *flags).stdout)["notifications"]
        second = json.loads(audit_with(owned, env, *flags).stdout)["notifications"]
    finally:
        api.close()

    fate = {(n["user"], n["channel"]): n["delivery"] for n in first}
    assert fate[("alice", "slack")] == {"status": "sent"}
    assert fate[("alice", "email")]["status"] == "not-sent"
    assert "SES sandbox: request production access" in fate[("alice", "email")]["reason"]
    assert [p["channel"] for p in api.posts] == ["U012AB3CD"]  # once, though the audit ran twice
    assert {(n["user"], n["channel"]): n["delivery"]["status"] for n in second}[
        ("alice", "slack")
    ] == "already-sent"
    assert all(TOKEN not in json.dumps(n) for n in first + second)


def audit_with(endpoint: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    import os

    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", *args],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert secret_free(run)
    return run


def secret_free(run: subprocess.CompletedProcess[str]) -> bool:
    return "SeCrEt" not in run.stdout + run.stderr
