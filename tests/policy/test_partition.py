"""Partitions (issue 21, "also found"): the guardrail, the SCPs and the group's and policy's ARNs are
rendered in the account's partition (``Settings.partition``: the template passes ``AWS::Partition``,
the CLI derives it from the region or takes ``--partition``), so aws-cn and aws-us-gov accounts work.

Rendered with the ``aws`` partition in GovCloud, the self-service statements would name no user
(``arn:aws:iam::*:user/alice`` never matches ``arn:aws-us-gov:...``): a user without MFA could not
even change their password or set up MFA. The engine shows both.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from core.model.errors import SettingsError
from core.model.naming import partition_of_region
from core.model.settings import build_settings, settings_from_env
from core.policy.document import render_policy
from core.policy.scp import render_deny_unenrolled_scp, render_scp

from .engine import ALLOWED, EXPLICIT_DENY, decisions_of

ACCOUNT = "123456789012"
GOV = "aws-us-gov"


def arns(document: Any) -> list[str]:
    return re.findall(r"arn:[^\"]*", json.dumps(document))


def test_the_guardrail_in_govcloud_names_only_govcloud_arns() -> None:
    settings = build_settings(allowed_cidrs=("203.0.113.0/24",), stack_name="iam-guard", partition=GOV)
    found = arns(render_policy(settings))
    assert found
    # Every ARN is GovCloud's, or partition-free (the self-protection patterns: arn:*:...).
    assert all(a.startswith((f"arn:{GOV}:", "arn:*:")) for a in found), found
    assert any(a.startswith(f"arn:{GOV}:iam::*:user/") for a in found)
    assert "arn:aws:" not in json.dumps(render_policy(settings))
    assert render_policy(build_settings(ip_restriction=False)) == render_policy(
        build_settings(ip_restriction=False, partition="aws")
    )  # the aws partition renders as before: deployed policies see no drift


@pytest.mark.parametrize("document", ["protect", "deny-unenrolled"])
def test_both_scps_in_govcloud_name_only_govcloud_arns(document: str) -> None:
    if document == "protect":
        rendered = render_scp("iam-guard", hub_account="210987654321", partition=GOV)
    else:
        rendered = render_deny_unenrolled_scp("iam-guard", exempt_users=["breakglass"], partition=GOV)
    found = arns(rendered)
    assert found
    assert all(a.startswith(f"arn:{GOV}:") for a in found), found


@pytest.mark.parametrize(
    ("region", "partition"),
    [
        ("us-gov-west-1", "aws-us-gov"),
        ("cn-north-1", "aws-cn"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-west-1", "aws"),
        (None, "aws"),
    ],
)
def test_the_partition_of_a_region(region: str | None, partition: str) -> None:
    assert partition_of_region(region) == partition


def test_an_unknown_partition_is_one_settings_error() -> None:
    with pytest.raises(SettingsError, match="partition"):
        settings_from_env({"IAM_GUARD_PARTITION": "aws-mars", "IAM_GUARD_IP_RESTRICTION": "false"})
    gov = settings_from_env({"IAM_GUARD_PARTITION": GOV, "IAM_GUARD_IP_RESTRICTION": "false"})
    assert gov.partition == GOV


def _case(policy: dict[str, Any], partition: str, action: str, resource: str, mfa: str) -> dict[str, Any]:
    return {
        "policies": [{"name": "guardrail", "policy": policy}],
        "action": action,
        "resource": resource,
        "principal": f"arn:{partition}:iam::{ACCOUNT}:user/alice",
        "context": {"aws:username": "alice", "aws:MultiFactorAuthPresent": mfa},
    }


@pytest.mark.engine
def test_the_engine_decides_the_same_cells_in_govcloud_as_in_aws() -> None:
    cells: list[tuple[str, str, str, str]] = [
        # (action, resource user or device, MFA, expected): the legitimate user's and the attacker's cells
        ("iam:ChangePassword", "user/alice", "false", ALLOWED),  # the first sign-in, no MFA yet
        ("iam:CreateVirtualMFADevice", "mfa/alice", "false", ALLOWED),  # setting MFA up
        ("iam:EnableMFADevice", "user/alice", "false", ALLOWED),
        ("iam:ChangePassword", "user/bob", "false", EXPLICIT_DENY),  # a stolen password, another user
        ("iam:EnableMFADevice", "user/bob", "false", EXPLICIT_DENY),
        ("iam:DeactivateMFADevice", "user/alice", "false", EXPLICIT_DENY),  # removing MFA needs MFA
        ("iam:DeactivateMFADevice", "user/alice", "true", ALLOWED),
    ]
    cases, labels, expected = [], [], []
    for partition in ("aws", GOV):
        policy = render_policy(build_settings(ip_restriction=False, partition=partition))
        for action, target, mfa, decision in cells:
            resource = f"arn:{partition}:iam::{ACCOUNT}:{target}"
            cases.append(_case(policy, partition, action, resource, mfa))
            labels.append(f"{partition} {action} {target} mfa={mfa}")
            expected.append(decision)
    assert decisions_of(cases, labels) == expected


@pytest.mark.engine
def test_the_aws_rendering_would_lock_govcloud_users_out_of_their_first_sign_in() -> None:
    """Why the partition matters: today's bug, on the engine."""
    wrong = render_policy(build_settings(ip_restriction=False))  # the aws partition's ARNs
    own = f"arn:{GOV}:iam::{ACCOUNT}:user/alice"
    (decision,) = decisions_of([_case(wrong, GOV, "iam:ChangePassword", own, "false")], ["wrong partition"])
    assert decision != ALLOWED


def _cli(*args: str, region: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "AWS_REGION": region} if region else {"PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, check=False, env=env
    )


def test_the_custom_resource_renders_in_its_stacks_partition() -> None:
    """The partition comes from the verified StackId, not from a property a forged request could set."""
    from core.guardrail.custom_resource import parse_request, plan_request

    request = parse_request(
        {
            "RequestType": "Create",
            "ResponseURL": "https://cloudformation-custom-resource-response-usgovwest1.s3.amazonaws.com/x",
            "StackId": f"arn:{GOV}:cloudformation:us-gov-west-1:{ACCOUNT}:stack/iam-guard/0a1b2c3d",
            "RequestId": "r-1",
            "LogicalResourceId": "Guardrail",
            "ResourceType": "Custom::Guardrail",
            "ResourceProperties": {"IAM_GUARD_IP_RESTRICTION": "false", "IAM_GUARD_PARTITION": "aws"},
        }
    )
    plan = plan_request(request)
    assert plan.ensure is not None
    assert plan.ensure.partition == GOV
    assert f"arn:{GOV}:iam::*:user/${{aws:username}}" in json.dumps(render_policy(plan.ensure))


@pytest.mark.slow  # the CLI in a process of its own
def test_the_cli_renders_in_the_regions_partition_or_the_one_given() -> None:
    from_region = _cli("policy", "--no-ip-restriction", region="us-gov-west-1")
    given = _cli("scp", "--stack-name", "iam-guard", "--hub-account", "210987654321", "--partition", GOV)
    assert from_region.returncode == given.returncode == 0, (from_region.stderr, given.stderr)
    assert f"arn:{GOV}:iam::*:user/" in from_region.stdout
    assert "arn:aws:" not in from_region.stdout + given.stdout
    assert f"arn:{GOV}:iam::210987654321:role/iam-guard/iam-guard/*" in given.stdout


@pytest.mark.slow
def test_an_unknown_partition_flag_is_one_line_and_exit_2() -> None:
    bad = _cli("policy", "--no-ip-restriction", "--partition", "aws-mars")
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "aws-mars" in bad.stderr
