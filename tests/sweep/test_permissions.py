"""Permissions on users, from the account listing the sweep already reads: on moto (AWS's own managed
policies, customer managed and inline ones, through groups) and on the listing's real shape."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from tests.sweep.conftest import Account, make_settings

from core.aws.iam import AccountDetails
from core.model.findings import (
    USER_CLOUDSHELL_FULL_ACCESS,
    USER_DIRECT_POLICY,
    USER_FULL_ADMIN,
)
from core.report.securityhub import BEST_PRACTICES_TYPE, CIS_TYPE, to_asff
from core.sweep.report import permissions_from_details

AWS = "arn:aws:iam::aws:policy/"
ADMIN_DOCUMENT = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
READ_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}


def found(result) -> dict[tuple[str, str], Any]:  # type: ignore[no-untyped-def]
    return {(f.user, f.finding): f for f in result.findings}


@pytest.fixture
def managed(monkeypatch: pytest.MonkeyPatch, mock_iam: Any) -> Account:
    """An account whose moto backend holds AWS's managed policies (off by default in moto 5)."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    return Account(mock_iam)


def test_permissions_on_moto(managed: Account) -> None:
    account = managed
    c = account.client
    account.user("direct", virtual_mfa=True)
    c.attach_user_policy(UserName="direct", PolicyArn=f"{AWS}AmazonS3ReadOnlyAccess")
    c.put_user_policy(UserName="direct", PolicyName="s3-read", PolicyDocument=json.dumps(READ_DOCUMENT))
    account.user("quarantined", virtual_mfa=True)
    c.attach_user_policy(UserName="quarantined", PolicyArn=f"{AWS}AWSCompromisedKeyQuarantineV2")
    c.put_user_policy(
        UserName="quarantined",
        PolicyName="iam-guard-revoke-sessions",
        PolicyDocument=json.dumps(READ_DOCUMENT),
    )
    # Administrators through a group: a customer managed *:* policy; AWS's AdministratorAccess alone.
    c.create_group(GroupName="admins")
    arn = c.create_policy(PolicyName="everything", PolicyDocument=json.dumps(ADMIN_DOCUMENT))["Policy"]["Arn"]
    c.attach_group_policy(GroupName="admins", PolicyArn=arn)
    account.user("admin", virtual_mfa=True)
    c.add_user_to_group(GroupName="admins", UserName="admin")
    c.create_group(GroupName="aws-admins")
    c.attach_group_policy(GroupName="aws-admins", PolicyArn=f"{AWS}AdministratorAccess")
    c.attach_group_policy(GroupName="aws-admins", PolicyArn=f"{AWS}AWSCloudShellFullAccess")
    account.user("aws-admin", virtual_mfa=True)
    c.add_user_to_group(GroupName="aws-admins", UserName="aws-admin")
    account.user("inline-admin", virtual_mfa=True)
    c.put_user_policy(UserName="inline-admin", PolicyName="god", PolicyDocument=json.dumps(ADMIN_DOCUMENT))
    account.user("bg", tags={"iam-guard:exempt": "true"})
    c.attach_user_policy(UserName="bg", PolicyArn=f"{AWS}AdministratorAccess")

    result = account.sweep(make_settings(grace_days=0))
    by = found(result)

    kinds = {USER_DIRECT_POLICY, USER_FULL_ADMIN, USER_CLOUDSHELL_FULL_ACCESS}
    assert {k for k in by if k[1] in kinds} == {
        ("direct", USER_DIRECT_POLICY),
        ("admin", USER_FULL_ADMIN),
        ("aws-admin", USER_FULL_ADMIN),
        ("aws-admin", USER_CLOUDSHELL_FULL_ACCESS),
        ("inline-admin", USER_DIRECT_POLICY),
        ("inline-admin", USER_FULL_ADMIN),
    }  # quarantined: nothing counted; bg: exempt only
    assert by[("direct", USER_DIRECT_POLICY)].detail == (
        "attached to the user: managed policy AmazonS3ReadOnlyAccess, inline policy s3-read"
    )
    assert "group admins: managed policy everything" in by[("admin", USER_FULL_ADMIN)].detail
    assert not by[("admin", USER_FULL_ADMIN)].no_control
    aws_admin = by[("aws-admin", USER_FULL_ADMIN)]
    assert aws_admin.no_control
    assert "AWS managed only" in aws_admin.detail
    assert "group aws-admins" in by[("aws-admin", USER_CLOUDSHELL_FULL_ACCESS)].detail
    assert account.counter.total == 8  # no call of its own


def test_the_quarantine_and_our_own_policy_are_named_but_not_counted() -> None:
    details = AccountDetails(
        users=[
            {
                "UserName": "leaked",
                "GroupList": [],
                "AttachedManagedPolicies": [
                    {
                        "PolicyName": "AWSCompromisedKeyQuarantineV4",
                        "PolicyArn": f"{AWS}AWSCompromisedKeyQuarantineV4",
                    },
                    {"PolicyName": "ops", "PolicyArn": "arn:aws:iam::111122223333:policy/ops"},
                ],
                # As IAM sends documents outside boto3: URL-encoded JSON.
                "UserPolicyList": [
                    {
                        "PolicyName": "iam-guard-revoke-sessions",
                        "PolicyDocument": quote(json.dumps(READ_DOCUMENT)),
                    }
                ],
            }
        ]
    )
    (perms,) = permissions_from_details(details).values()
    assert perms.direct == ("managed policy ops",)
    assert perms.not_counted == (
        "managed policy AWSCompromisedKeyQuarantineV4",
        "inline policy iam-guard-revoke-sessions",
    )


def test_an_encoded_customer_managed_admin_policy_through_a_group() -> None:
    policy_arn = "arn:aws:iam::111122223333:policy/team/all"
    details = AccountDetails(
        users=[
            {"UserName": "ana", "GroupList": ["Ops"], "AttachedManagedPolicies": [], "UserPolicyList": []}
        ],
        groups=[
            {
                "GroupName": "ops",  # IAM compares group names without regard to case
                "AttachedManagedPolicies": [{"PolicyName": "all", "PolicyArn": policy_arn}],
                "GroupPolicyList": [],
            }
        ],
        policies=[
            {
                "Arn": policy_arn,
                "PolicyVersionList": [
                    {
                        "VersionId": "v2",
                        "IsDefaultVersion": True,
                        "Document": quote(json.dumps(ADMIN_DOCUMENT)),
                    },
                    {
                        "VersionId": "v1",
                        "IsDefaultVersion": False,
                        "Document": quote(json.dumps(READ_DOCUMENT)),
                    },
                ],
            }
        ],
    )
    (perms,) = permissions_from_details(details).values()
    assert [(g.label, g.kind) for g in perms.full_admin] == [("group Ops: managed policy all", "customer")]


def test_asff_names_the_controls_only_when_the_finding_answers_them() -> None:
    from core.aws.securityhub import Target
    from core.model.findings import SEVERITY, Finding

    target = Target("111122223333", "us-east-1")
    checked = Finding("ana", USER_FULL_ADMIN, SEVERITY[USER_FULL_ADMIN], "violation")
    aws_only = Finding("ana", USER_FULL_ADMIN, SEVERITY[USER_FULL_ADMIN], "violation", no_control=True)
    from datetime import UTC, datetime

    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert to_asff(checked, target, now=now)["Compliance"]["RelatedRequirements"] == [
        "IAM.1",
        "CIS AWS Foundations Benchmark v7.0.0/2.14",
    ]
    assert to_asff(checked, target, now=now)["Types"] == [CIS_TYPE]
    assert "RelatedRequirements" not in to_asff(aws_only, target, now=now)["Compliance"]
    assert to_asff(aws_only, target, now=now)["Types"] == [BEST_PRACTICES_TYPE]
