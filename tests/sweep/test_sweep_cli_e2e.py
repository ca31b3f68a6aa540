"""End to end: `iam-guard audit` as a subprocess against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from typing import Any

import boto3
import pytest
from tests.sweep.conftest import GROUP, add_story_users

from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.settings import build_settings

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(moto_endpoint: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    # IAM Guard deployed: the secured group, with the guardrail policy attached.
    ensure_guardrail(IamGateway(iam), build_settings(ip_restriction=False), "123456789012")
    add_story_users(iam)
    return moto_endpoint


def audit(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def members(endpoint: str) -> set[str]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return {u["UserName"] for u in iam.get_group(GroupName=GROUP)["Users"]}


def test_json_output(seeded: str) -> None:
    iam = boto3.client("iam", endpoint_url=seeded, region_name="us-east-1")
    # A Bedrock API key that never expires, and one that does (moto lacks these: demo.moto_extras).
    iam.create_service_specific_credential(UserName="alice", ServiceName="bedrock.amazonaws.com")
    iam.create_service_specific_credential(
        UserName="robot", ServiceName="bedrock.amazonaws.com", CredentialAgeDays=30
    )
    run = audit(seeded, "--format", "json", "--grace-days", "0", "--apply")
    assert run.returncode == 0, run.stderr
    doc: dict[str, Any] = json.loads(run.stdout)  # stdout is exactly one JSON document
    assert doc["report_generated_at"]
    found = {(f["user"], f["finding"]): (f["severity"], f["status"]) for f in doc["findings"]}
    assert found == {
        ("<root_account>", "root-without-mfa"): ("critical", "violation"),
        ("alice", "console-without-mfa"): ("high", "violation"),
        ("robot", "access-key-without-mfa"): ("high", "violation"),
        ("outsider", "not-in-secured-group"): ("medium", "enrolled"),
        ("breakglass", "exempt"): ("info", "exempt"),
        # not in the credential report: the account has no password policy, and the service credentials
        ("<password_policy>", "password-policy-missing"): ("medium", "violation"),
        ("alice", "service-credential-active"): ("medium", "violation"),
        ("alice", "service-credential-no-expiry"): ("high", "violation"),
        ("robot", "service-credential-active"): ("medium", "violation"),
    }
    assert "ServicePassword" not in run.stdout  # secrets are never printed (nor read)
    assert doc["account_id"] == "123456789012"
    assert (doc["unused_days"], doc["key_max_age_days"], doc["remediate_unused_keys"]) == (45, 90, False)
    assert "outsider" in members(seeded)
    assert doc["iam_calls"] >= 5


def test_table_output_dry_run(seeded: str) -> None:
    run = audit(seeded, "--dry-run", "--exempt-user", "outsider")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("Credential report generated ")
    assert lines[1].split() == ["SEVERITY", "STATUS", "FINDING", "USER", "DEADLINE", "DETAIL"]
    assert [line.split()[0] for line in lines[2:-1]] == ["critical", "high", "high", "medium", "info", "info"]
    assert "password-policy-missing" in run.stdout
    assert lines[-1].startswith("4 users swept (dry run): ")
    assert "outsider" not in members(seeded)


def test_csv_output(seeded: str) -> None:
    run = audit(seeded, "--format", "csv", "--dry-run")
    assert run.returncode == 0, run.stderr
    header, *rows = run.stdout.splitlines()
    assert header.startswith("user,finding,severity,status,")
    assert len(rows) == 6  # five as before, and <password_policy> (moto has no password policy)


@pytest.mark.parametrize(
    "args",
    [
        ("--format", "xml"),
        ("--grace-days", "-1"),
        ("--grace-days", "soon"),
        ("--exempt-user", "bad name"),
        ("--unused-days", "-1"),
        ("--unused-days", "forty"),
        ("--key-max-age-days", "3651"),
    ],
)
def test_bad_arguments_exit_2_and_change_nothing(seeded: str, args: tuple[str, ...]) -> None:
    run = audit(seeded, *args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1
    assert "outsider" not in members(seeded)


def test_aws_failure_exits_1_with_one_line() -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = audit(f"http://127.0.0.1:{port}", "--format", "json")
    assert run.returncode == 1
    assert run.stdout == ""
    assert len(run.stderr.strip().splitlines()) == 1
    assert "GenerateCredentialReport" in run.stderr


POLICY = "arn:aws:iam::123456789012:policy/iam-guard/IAMGuardSecureIAMPolicy"


def attached(endpoint: str) -> list[str]:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    return [p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]]


def test_a_detached_guardrail_is_reported_and_healed_only_when_asked(seeded: str) -> None:
    iam = boto3.client("iam", endpoint_url=seeded, region_name="us-east-1")
    iam.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)

    presence = json.loads(audit(seeded, "--format", "json", "--dry-run").stdout)
    reported = json.loads(audit(seeded, "--format", "json", "--no-ip-restriction").stdout)
    healed_run = audit(seeded, "--format", "json", "--no-ip-restriction", "--heal-guardrail", "--apply")

    assert presence["guardrail"] == "drift"
    assert reported["guardrail"] == "drift"
    drift = [f for f in reported["findings"] if f["finding"] == "guardrail-drift"]
    assert [(d["severity"], d["status"]) for d in drift] == [("critical", "violation")]
    assert healed_run.returncode == 0, healed_run.stderr
    healed = json.loads(healed_run.stdout)
    assert healed["guardrail"] == "healed"
    assert healed["guardrail_changes"] == [
        {"resource": "group/IAMGuardSecuredUsers", "change": "policy-attached", "detail": POLICY}
    ]
    assert attached(seeded) == [POLICY]


def test_heal_guardrail_without_the_policy_flags_is_refused(seeded: str) -> None:
    iam = boto3.client("iam", endpoint_url=seeded, region_name="us-east-1")
    iam.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)

    run = audit(seeded, "--heal-guardrail")

    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        "iam-guard audit: --heal-guardrail needs the policy to heal to: give --allowed-cidr, --allowed-vpce "
        "or --no-ip-restriction (and the other policy flags of the deployed stack)"
    ]
    assert attached(seeded) == []


def test_hygiene_flags_reach_the_sweep(seeded: str) -> None:
    run = audit(
        seeded,
        "--format",
        "json",
        "--dry-run",
        "--unused-days",
        "30",
        "--key-max-age-days",
        "0",
        "--remediate-unused-keys",
    )
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["unused_days"], doc["key_max_age_days"], doc["remediate_unused_keys"]) == (30, 0, True)
