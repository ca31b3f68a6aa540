"""Service-specific credentials and the password policy, from IAM's real answers (botocore Stubber).

moto has neither ``ListServiceSpecificCredentials`` (``demo.moto_extras`` emulates it) nor Bedrock API
keys, so their shapes come from IAM's API reference (``ServiceSpecificCredentialMetadata``): made-up data,
IAM's fields. The password policy: present (``PasswordPolicy``) and absent (``NoSuchEntity``, 404).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from tests.sweep.conftest import make_settings
from tests.sweep.real_iam import (
    ACCOUNT_ID,
    NO_PASSWORD_POLICY,
    STRONG_PASSWORD_POLICY,
    WARM_READS,
    Key,
    RealIam,
    ReportUser,
    Root,
)

from core.aws.gateway import Retrier
from core.aws.iam import IamGateway
from core.model.findings import (
    PASSWORD_POLICY,
    PASSWORD_POLICY_MISSING,
    PASSWORD_POLICY_WEAK,
    SERVICE_CREDENTIAL_ACTIVE,
    SERVICE_CREDENTIAL_NO_EXPIRY,
    SERVICE_CREDENTIAL_OLD,
)
from core.model.findings import ROOT as ROOT_USER
from core.sweep.result import SweepResult

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
GENERATED = NOW - timedelta(hours=3)
ROOT = Root(NOW - timedelta(days=3000), mfa=True, password=True)


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def credential(
    user: str, service: str, created: datetime, *, status: str = "Active", expires: datetime | None = None
) -> dict[str, Any]:
    """One ServiceSpecificCredentialMetadata entry as IAM lists it."""
    entry: dict[str, Any] = {
        "UserName": user,
        "Status": status,
        "ServiceUserName": f"{user}-at-{ACCOUNT_ID}",
        "CreateDate": created,
        "ServiceSpecificCredentialId": "ACCA"
        + (user.upper() + service.split(".")[0].upper() + "X" * 16)[:16],
        "ServiceName": service,
    }
    if expires is not None:
        entry["ExpirationDate"] = expires
    return entry


USERS = [
    ReportUser("dev", ago(400), virtual_mfa=True, mfa_in_report=True, key1=Key(True, ago(10), used=ago(1))),
    ReportUser("bot", ago(400), virtual_mfa=True, mfa_in_report=True),
    ReportUser("quiet", ago(400), virtual_mfa=True, mfa_in_report=True),
    ReportUser("newbie", ago(2), virtual_mfa=True, mfa_in_report=True),
    ReportUser("breakglass", ago(900), groups=(), tags={"iam-guard:exempt": "true"}),
]
CREDENTIALS = [
    # A Bedrock API key without ExpirationDate, and a CodeCommit password (which never takes one), old.
    credential("dev", "bedrock.amazonaws.com", ago(10)),
    credential("dev", "codecommit.amazonaws.com", ago(200)),
    # A Bedrock key with an expiry, and a CloudWatch Logs key without: only the latter lacks one.
    credential("bot", "bedrock.amazonaws.com", ago(5), expires=NOW + timedelta(days=25)),
    credential("bot", "logs.amazonaws.com", ago(5)),
    # Nothing active: an inactive Keyspaces credential and an expired Bedrock key.
    credential("quiet", "cassandra.amazonaws.com", ago(300), status="Inactive"),
    credential("quiet", "bedrock.amazonaws.com", ago(40), status="Expired", expires=ago(10)),
    # In grace, and exempt.
    credential("newbie", "bedrock.amazonaws.com", ago(1)),
    credential("breakglass", "bedrock.amazonaws.com", ago(500)),
]


def sweep(
    credentials: list[dict[str, Any]], policy: dict[str, Any] | None, **settings: object
) -> tuple[RealIam, SweepResult]:
    iam = RealIam()
    iam.account(ROOT, USERS, generated=GENERATED, service_credentials=credentials, password_policy=policy)
    return iam, iam.sweep(make_settings(**settings), now=NOW)


def found(result: SweepResult) -> dict[tuple[str, str], str]:
    return {(f.user, f.finding): f.status for f in result.findings}


def test_service_credentials_give_exactly_these_findings_in_the_seven_warm_reads() -> None:
    iam, result = sweep(CREDENTIALS, STRONG_PASSWORD_POLICY)

    service = {k: v for k, v in found(result).items() if k[1].startswith("service-credential")}
    assert service == {
        ("dev", SERVICE_CREDENTIAL_ACTIVE): "violation",
        ("dev", SERVICE_CREDENTIAL_NO_EXPIRY): "violation",  # Bedrock, not CodeCommit
        ("dev", SERVICE_CREDENTIAL_OLD): "violation",  # the CodeCommit one: 200 days > 90
        ("bot", SERVICE_CREDENTIAL_ACTIVE): "violation",
        ("bot", SERVICE_CREDENTIAL_NO_EXPIRY): "violation",  # the CloudWatch Logs key
        ("newbie", SERVICE_CREDENTIAL_ACTIVE): "grace",
        ("newbie", SERVICE_CREDENTIAL_NO_EXPIRY): "grace",
    }  # quiet: nothing active; breakglass: exempt only
    assert found(result)[("breakglass", "exempt")] == "exempt"
    assert iam.operations == list(WARM_READS)  # no per-user call for any of it


def test_the_details_name_each_credential_and_never_a_secret() -> None:
    _, result = sweep(CREDENTIALS, STRONG_PASSWORD_POLICY)
    by = {(f.user, f.finding): f for f in result.findings}

    no_expiry = by[("bot", SERVICE_CREDENTIAL_NO_EXPIRY)].detail
    assert "logs.amazonaws.com" in no_expiry
    assert "bedrock" not in no_expiry  # the Bedrock key of bot expires
    active = by[("dev", SERVICE_CREDENTIAL_ACTIVE)].detail
    assert "bedrock.amazonaws.com" in active
    assert "codecommit.amazonaws.com" in active
    assert "cannot carry MFA" in active
    old = by[("dev", SERVICE_CREDENTIAL_OLD)]
    assert "codecommit.amazonaws.com" in old.detail
    assert "200 days ago" in old.detail
    assert "maximum age 90 days" in old.detail
    assert old.since == ago(200)


def test_the_key_age_limit_applies_and_zero_turns_it_off() -> None:
    _, strict = sweep(CREDENTIALS, STRONG_PASSWORD_POLICY, key_max_age_days=7)
    _, off = sweep(CREDENTIALS, STRONG_PASSWORD_POLICY, key_max_age_days=0)

    assert ("dev", SERVICE_CREDENTIAL_OLD) in found(strict)
    (old,) = [f for f in strict.findings if (f.user, f.finding) == ("dev", SERVICE_CREDENTIAL_OLD)]
    assert "bedrock.amazonaws.com" in old.detail  # 10 days > 7 now, as well as the CodeCommit one
    assert ("bot", SERVICE_CREDENTIAL_OLD) not in found(strict)  # 5 days old
    assert not [k for k in found(off) if k[1] == SERVICE_CREDENTIAL_OLD]


def test_an_account_without_a_password_policy() -> None:
    iam, result = sweep([], NO_PASSWORD_POLICY)

    (policy,) = [f for f in result.findings if f.user == PASSWORD_POLICY]
    assert (policy.finding, policy.status, policy.severity.label) == (
        PASSWORD_POLICY_MISSING,
        "violation",
        "medium",
    )
    assert "IAM.7" in policy.detail
    assert "CIS 2.8 and 2.9" in policy.detail
    assert iam.operations == list(WARM_READS)  # NoSuchEntity is an answer, not a failure


@pytest.mark.parametrize(
    ("changes", "failed", "status"),
    [
        ({}, [], None),
        ({"MinimumPasswordLength": 13}, ["minimum length 14 or more (IAM.15, CIS 2.8)"], "violation"),
        ({"PasswordReusePrevention": 5}, ["reuse prevention 24 or more (IAM.16, CIS 2.9)"], "violation"),
        (
            {"RequireSymbols": False, "RequireNumbers": False},
            ["a symbol (IAM.13)", "a number (IAM.14)"],
            "violation",
        ),
        # Passwords that never expire fail only IAM.17, which CIS v7.0 does not ask for: not a violation.
        ({"ExpirePasswords": False, "MaxPasswordAge": None}, ["expiry within 90 days (IAM.17)"], "exempt"),
        ({"MaxPasswordAge": 180}, ["expiry within 90 days (IAM.17)"], "exempt"),
    ],
)
def test_a_weak_password_policy_names_each_failed_requirement(
    changes: dict[str, Any], failed: list[str], status: str | None
) -> None:
    policy = {k: v for k, v in {**STRONG_PASSWORD_POLICY, **changes}.items() if v is not None}
    _, result = sweep([], policy)

    weak = [f for f in result.findings if f.user == PASSWORD_POLICY]
    if status is None:
        assert weak == []
        return
    (finding,) = weak
    assert (finding.finding, finding.status) == (PASSWORD_POLICY_WEAK, status)
    assert finding.detail.startswith("failed: " + "; ".join(failed))
    if status == "exempt":
        assert "CIS v7.0 does not require expiry" in finding.detail
        assert not finding.needs_attention  # never wakes a quiet run


def test_the_listing_is_account_wide_and_paged_by_1000() -> None:
    client = RealIam().client
    gateway = IamGateway(client, retrier=Retrier(sleep=lambda _: None))
    first = [credential(f"u{i}", "bedrock.amazonaws.com", ago(1)) for i in range(2)]
    with Stubber(client) as stub:
        stub.add_response(
            "list_service_specific_credentials",
            {"ServiceSpecificCredentials": first, "IsTruncated": True, "Marker": "m1"},
            {"AllUsers": True, "MaxItems": 1000},
        )
        stub.add_response(
            "list_service_specific_credentials",
            {
                "ServiceSpecificCredentials": [credential("u9", "logs.amazonaws.com", ago(1))],
                "IsTruncated": False,
            },
            {"AllUsers": True, "MaxItems": 1000, "Marker": "m1"},
        )
        listed = gateway.all_service_specific_credentials()
        stub.assert_no_pending_responses()
    assert [c["UserName"] for c in listed] == ["u0", "u1", "u9"]


@pytest.mark.parametrize("virtual", [True, False])
def test_the_root_users_virtual_mfa_device_is_found_by_its_arn(virtual: bool) -> None:
    iam = RealIam()
    iam.account(ROOT, USERS, generated=GENERATED, service_credentials=[], root_virtual_mfa=virtual)
    result = iam.sweep(make_settings(), now=NOW)

    root = {f.finding: f for f in result.findings if f.user == ROOT_USER}
    if not virtual:
        assert root == {}  # MFA on (summary and report): a hardware device, as far as IAM says
        return
    assert set(root) == {"root-virtual-mfa"}
    assert root["root-virtual-mfa"].status == "violation"
    assert "IAM.6 and CIS 2.6" in root["root-virtual-mfa"].detail
    assert iam.operations == list(WARM_READS)  # the listing the sweep already makes
    # The root's device never counts as some user's: nobody is called "root-placeholder" or "".
    assert {f.user for f in result.findings} <= {u.name for u in USERS} | {ROOT_USER}
