"""``guard-escape`` findings: ``iam-guard audit`` as a subprocess against a moto server on 127.0.0.1.

Each door is shown open (the finding) and closed after the fix the finding recommends (the guardrail's
network statement on the role). That the door is real - a role session from outside the networks
allowed, then denied - is proven on the IAM engine in tests/policy/test_guard_escape_engine.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from tests.sweep.conftest import GROUP

from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.settings import build_settings
from core.policy.document import render_policy

pytestmark = pytest.mark.e2e

ACCOUNT = "123456789012"
CIDR = "203.0.113.0/24"
SETTINGS = build_settings(allowed_cidrs=(CIDR,), exempt_users=frozenset({"breakglass"}))
NETWORK = next(s for s in render_policy(SETTINGS)["Statement"] if s["Sid"] == "DenyAllOutsideAllowedNetworks")
ROOT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    ],
}


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def trust_with(condition: dict[str, Any]) -> str:
    statement = {**ROOT_TRUST["Statement"][0], "Condition": condition}
    return doc(statement)


@pytest.fixture
def account(moto_endpoint: str) -> Any:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    ensure_guardrail(IamGateway(iam), SETTINGS, ACCOUNT)
    # dev: guarded, may assume any role of the account
    iam.create_user(UserName="dev")
    iam.add_user_to_group(GroupName=GROUP, UserName="dev")
    assume = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}
    iam.put_user_policy(UserName="dev", PolicyName="assume", PolicyDocument=doc(assume))
    # reader: guarded, no sts:AssumeRole
    iam.create_user(UserName="reader")
    iam.add_user_to_group(GroupName=GROUP, UserName="reader")
    # moto (here) holds no AWS managed policies: customer managed stand-ins, judged by their text (the
    # AWS-managed ARNs are judged by name: tests/sweep/test_guard_escape_rules.py)
    admin = iam.create_policy(
        PolicyName="AdminAll", PolicyDocument=doc({"Effect": "Allow", "Action": "*", "Resource": "*"})
    )["Policy"]["Arn"]
    iam_all = iam.create_policy(
        PolicyName="IamAll", PolicyDocument=doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    )["Policy"]["Arn"]
    # the roles
    iam.create_role(RoleName="Admin", AssumeRolePolicyDocument=json.dumps(ROOT_TRUST))
    iam.attach_role_policy(RoleName="Admin", PolicyArn=admin)
    mfa = trust_with({"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    iam.create_role(RoleName="IamOps", AssumeRolePolicyDocument=mfa)
    iam.put_role_policy(
        RoleName="IamOps",
        PolicyName="iam",
        PolicyDocument=doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"}),
    )
    iam.create_role(RoleName="Fixed", AssumeRolePolicyDocument=json.dumps(ROOT_TRUST))
    iam.attach_role_policy(RoleName="Fixed", PolicyArn=admin)
    iam.put_role_policy(RoleName="Fixed", PolicyName="network", PolicyDocument=doc(NETWORK))
    tagged = trust_with({"StringEquals": {"aws:PrincipalTag/team": "ops"}})
    iam.create_role(RoleName="Tagged", AssumeRolePolicyDocument=tagged)
    # exempt users with power
    iam.create_user(UserName="breakglass")
    iam.attach_user_policy(UserName="breakglass", PolicyArn=admin)
    iam.create_user(UserName="ci", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
    iam.attach_user_policy(UserName="ci", PolicyArn=iam_all)
    iam.create_user(UserName="quiet", Tags=[{"Key": "iam-guard:exempt", "Value": "true"}])
    return iam


def audit(endpoint: str) -> dict[str, Any]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "cli.main",
            "audit",
            "--format",
            "json",
            "--grace-days",
            "0",
            "--dry-run",
            "--exempt-user",
            "breakglass",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Traceback" not in run.stderr
    document: dict[str, Any] = json.loads(run.stdout)
    return document


def escapes(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = [f for f in document["findings"] if f["finding"] == "guard-escape"]
    assert len(found) == len({f["user"] for f in found}), "at most one guard-escape finding per user"
    return {f["user"]: f for f in found}


def test_each_door_is_reported_once_per_user_with_its_evidence(account: Any, moto_endpoint: str) -> None:
    found = escapes(audit(moto_endpoint))

    assert set(found) == {"dev", "breakglass", "ci"}
    dev = found["dev"]
    assert (dev["severity"], dev["status"]) == ("critical", "violation")
    assert "role Admin (full admin; sts:AssumeRole allowed by user policy assume" in dev["detail"]
    assert f"trust: arn:aws:iam::{ACCOUNT}:root)" in dev["detail"]
    assert "role IamOps (IAM writes;" in dev["detail"]
    assert "checked at AssumeRole only: aws:multifactorauthpresent" in dev["detail"]
    assert "undetermined: role Tagged (a condition in the trust)" in dev["detail"]
    assert "role Fixed" not in dev["detail"]
    assert "outside the sweep's view" in dev["detail"]
    assert "DenyAllOutsideAllowedNetworks" in dev["action"]
    assert (found["breakglass"]["severity"], found["breakglass"]["status"]) == ("info", "exempt")
    assert (found["ci"]["severity"], found["ci"]["status"]) == ("high", "exempt")
    assert "full admin" in found["breakglass"]["detail"]
    assert "IAM writes" in found["ci"]["detail"]


def test_the_recommended_fix_closes_each_door(account: Any, moto_endpoint: str) -> None:
    for role in ("Admin", "IamOps"):
        account.put_role_policy(RoleName=role, PolicyName="network", PolicyDocument=doc(NETWORK))

    dev = escapes(audit(moto_endpoint))["dev"]

    assert dev["severity"] == "low"  # only the undetermined role is left
    assert "can assume" not in dev["detail"]
    assert "undetermined: role Tagged" in dev["detail"]


def test_a_user_without_sts_assume_role_or_a_deny_has_no_door(account: Any, moto_endpoint: str) -> None:
    deny = {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}
    account.put_user_policy(UserName="dev", PolicyName="no-roles", PolicyDocument=doc(deny))

    assert "dev" not in escapes(audit(moto_endpoint))
    assert "reader" not in escapes(audit(moto_endpoint))
