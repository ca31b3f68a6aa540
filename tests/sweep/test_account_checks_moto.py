"""Service-specific credentials and the password policy on moto, and the sweep's constant call budget.

moto has the password policy; service-specific credentials are emulated (``demo.moto_extras``: moto 5
lacks the API), so these tests prove the requests and the classification, not IAM's own behaviour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import Account, make_settings

from core.model.findings import (
    PASSWORD_POLICY,
    PASSWORD_POLICY_MISSING,
    PASSWORD_POLICY_WEAK,
    SERVICE_CREDENTIAL_ACTIVE,
    SERVICE_CREDENTIAL_NO_EXPIRY,
    SERVICE_CREDENTIAL_OLD,
)

# The account-wide reads of docs/sweep.md's budget table; moto adds one GenerateCredentialReport (STARTED).
ACCOUNT_WIDE = {
    "iam:GenerateCredentialReport": 2,
    "iam:GetCredentialReport": 1,
    "iam:GetAccountAuthorizationDetails": 1,
    "iam:ListVirtualMFADevices": 1,
    "iam:GetAccountSummary": 1,
    "iam:ListServiceSpecificCredentials": 1,
    "iam:GetAccountPasswordPolicy": 1,
}


def found(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(f.user, f.finding): f.status for f in result.findings}


def test_service_credentials_on_moto(account: Account) -> None:
    account.user("dev", password=True, virtual_mfa=True)
    account.service_credential("dev", "bedrock.amazonaws.com")  # no expiry
    account.user("git", password=True, virtual_mfa=True)
    account.service_credential("git", "codecommit.amazonaws.com")
    account.user("bot", keys=1, virtual_mfa=True)
    account.service_credential("bot", "bedrock.amazonaws.com", age_days=30)
    account.user("off", virtual_mfa=True)
    off = account.service_credential("off", "cassandra.amazonaws.com")
    account.client.update_service_specific_credential(
        UserName="off", ServiceSpecificCredentialId=off, Status="Inactive"
    )
    account.user("bg", tags={"iam-guard:exempt": "true"})
    account.service_credential("bg", "bedrock.amazonaws.com")

    result = account.sweep(make_settings(grace_days=0))

    service = {k: v for k, v in found(result).items() if k[1].startswith("service-credential")}
    assert service == {
        ("dev", SERVICE_CREDENTIAL_ACTIVE): "violation",
        ("dev", SERVICE_CREDENTIAL_NO_EXPIRY): "violation",
        ("git", SERVICE_CREDENTIAL_ACTIVE): "violation",
        ("bot", SERVICE_CREDENTIAL_ACTIVE): "violation",
    }
    assert account.counter.calls["iam:ListServiceSpecificCredentials"] == 1


def test_old_service_credentials_on_moto(account: Account) -> None:
    account.user("git", virtual_mfa=True)
    account.service_credential("git", "codecommit.amazonaws.com")

    later = account.sweep(make_settings(grace_days=0), now=datetime.now(UTC) + timedelta(days=91))
    sooner = account.sweep(make_settings(grace_days=0), now=datetime.now(UTC) + timedelta(days=89))

    assert found(later)[("git", SERVICE_CREDENTIAL_OLD)] == "violation"
    assert ("git", SERVICE_CREDENTIAL_OLD) not in found(sooner)


def test_password_policy_missing_weak_and_strong_on_moto(account: Account) -> None:
    strong = account.sweep()
    account.client.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=True)
    weak = account.sweep()
    account.client.delete_account_password_policy()
    missing = account.sweep()

    assert [f for f in strong.findings if f.user == PASSWORD_POLICY] == []
    (w,) = [f for f in weak.findings if f.user == PASSWORD_POLICY]
    assert w.finding == PASSWORD_POLICY_WEAK
    assert "minimum length 14 or more (IAM.15, CIS 2.8)" in w.detail
    assert "a symbol" not in w.detail
    assert found(missing)[(PASSWORD_POLICY, PASSWORD_POLICY_MISSING)] == "violation"


@pytest.mark.parametrize("users", [1, 60])
def test_the_account_wide_reads_are_the_same_for_one_user_and_for_many(account: Account, users: int) -> None:
    for i in range(users):
        name = f"user{i:03d}"
        account.user(name, password=True, keys=1, virtual_mfa=True)
        account.service_credential(name, "bedrock.amazonaws.com")

    result = account.sweep(make_settings(dry_run=True))

    assert result.users_scanned == users
    assert dict(account.counter.calls) == ACCOUNT_WIDE  # nothing per user
    assert account.counter.total == 8  # 7 on real IAM with a warm report, + moto's STARTED


# --- ManagePasswordPolicy ----------------------------------------------------------------------------


def policy_of(account: Account) -> dict[str, object]:
    return dict(account.client.get_account_password_policy()["PasswordPolicy"])


def test_a_missing_policy_is_set_when_managed_and_iam17_is_said_to_stay_unmet(account: Account) -> None:
    account.client.delete_account_password_policy()

    result = account.sweep(make_settings(manage_password_policy=True))

    (finding,) = [f for f in result.findings if f.user == PASSWORD_POLICY]
    assert (finding.finding, finding.status) == (PASSWORD_POLICY_MISSING, "healed")
    assert "IAM.17 stays unmet" in finding.detail
    policy = policy_of(account)
    assert policy["MinimumPasswordLength"] == 14
    assert policy["PasswordReusePrevention"] == 24
    assert all(policy[k] is True for k in ("RequireSymbols", "RequireNumbers", "RequireUppercaseCharacters"))
    assert policy["RequireLowercaseCharacters"] is True
    assert policy["AllowUsersToChangePassword"] is True
    assert policy["HardExpiry"] is False
    assert not policy.get("MaxPasswordAge")  # only from PasswordMaxAgeDays
    assert account.counter.calls["iam:UpdateAccountPasswordPolicy"] == 1
    # The next run: nothing to write; only IAM.17 fails, reported with its reason, not a violation.
    again = account.sweep(make_settings(manage_password_policy=True))
    (weak,) = [f for f in again.findings if f.user == PASSWORD_POLICY]
    assert (weak.finding, weak.status) == (PASSWORD_POLICY_WEAK, "exempt")
    assert account.counter.calls["iam:UpdateAccountPasswordPolicy"] == 0


def test_a_weak_policy_is_raised_never_lowered_and_expires_from_the_setting(account: Account) -> None:
    account.client.update_account_password_policy(MinimumPasswordLength=20, PasswordReusePrevention=3)

    result = account.sweep(make_settings(manage_password_policy=True, password_max_age_days=90))

    assert found(result)[(PASSWORD_POLICY, PASSWORD_POLICY_WEAK)] == "healed"
    policy = policy_of(account)
    assert (policy["MinimumPasswordLength"], policy["PasswordReusePrevention"]) == (20, 24)
    assert policy["MaxPasswordAge"] == 90
    assert [f for f in account.sweep(make_settings()).findings if f.user == PASSWORD_POLICY] == []


def test_dry_run_and_the_switch_off_change_nothing(account: Account) -> None:
    account.client.delete_account_password_policy()

    dry = account.sweep(make_settings(manage_password_policy=True, dry_run=True))
    off = account.sweep(make_settings())

    assert found(dry)[(PASSWORD_POLICY, PASSWORD_POLICY_MISSING)] == "would-heal"
    assert found(off)[(PASSWORD_POLICY, PASSWORD_POLICY_MISSING)] == "violation"
    assert account.counter.calls["iam:UpdateAccountPasswordPolicy"] == 0
    with pytest.raises(Exception, match="NoSuchEntity"):
        account.client.get_account_password_policy()


def test_the_max_age_setting_is_validated() -> None:
    from core.model.errors import IamGuardError

    with pytest.raises(IamGuardError, match="password_max_age_days"):
        make_settings(password_max_age_days=1096)
