"""SSH public keys (CodeCommit), read per user for a deterministic daily subset: ``SshKeyAuditUsersPerRun``.

On moto (it implements ``UploadSSHPublicKey`` / ``ListSSHPublicKeys``), the subset rule as a pure function
(every user once per round, no stored state, stable across processes), and the call count it adds.
"""

from __future__ import annotations

import math
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest
from tests.sweep.conftest import Account, make_settings
from tests.sweep.test_account_checks_moto import ACCOUNT_WIDE

from core.model.errors import SettingsError
from core.model.findings import SSH_KEY_ACTIVE, SSH_KEY_OLD
from core.model.settings import settings_from_env
from core.sweep.account_checks import ssh_audit_bucket, ssh_audit_buckets, ssh_audit_users

# A real-format OpenSSH public key line (moto stores it as given).
SSH_KEY = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC3iamguardtestkeyonlyZZZZ user@example"
DAY = date(2026, 6, 15)


def found(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(f.user, f.finding): f.status for f in result.findings if f.finding.startswith("ssh-key")}


def upload(account: Account, user: str) -> str:
    answer = account.client.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=SSH_KEY)
    return str(answer["SSHPublicKey"]["SSHPublicKeyId"])


# --- the subset ----------------------------------------------------------------------------------


def test_off_by_default_reads_no_one() -> None:
    assert make_settings().ssh_key_audit_users_per_run == 0
    assert ssh_audit_users(["a", "b"], 0, DAY) == []


@pytest.mark.parametrize(("users", "per_run"), [(10, 3), (100, 7), (1000, 100), (5, 5), (5, 50)])
def test_every_user_is_read_exactly_once_per_round(users: int, per_run: int) -> None:
    names = [f"user{i:04d}" for i in range(users)]
    rounds = ssh_audit_buckets(users, per_run)

    days = [ssh_audit_users(names, per_run, DAY + timedelta(days=d)) for d in range(rounds)]

    assert rounds == math.ceil(users / per_run)
    assert sorted(n for day in days for n in day) == names  # each once, none left out
    assert ssh_audit_users(names, per_run, DAY + timedelta(days=rounds)) == days[0]  # the next round


def test_a_day_reads_about_the_budget() -> None:
    names = [f"user{i:04d}" for i in range(5000)]

    sizes = [len(ssh_audit_users(names, 500, DAY + timedelta(days=d))) for d in range(10)]

    assert sum(sizes) == 5000
    assert all(400 <= s <= 600 for s in sizes), sizes  # the hash spreads them: a few more or fewer


def test_the_bucket_is_sha256_and_the_same_in_another_process() -> None:
    code = "from core.sweep.account_checks import ssh_audit_bucket; print(ssh_audit_bucket('alice'))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "1"}
    )

    assert int(other.stdout) == ssh_audit_bucket("alice") == 0x2BD806C97F0E00AF


def test_the_setting_is_validated_in_one_line() -> None:
    assert (
        settings_from_env(
            {"IAM_GUARD_SSH_KEY_AUDIT_USERS_PER_RUN": "250", "IAM_GUARD_IP_RESTRICTION": "false"}
        ).ssh_key_audit_users_per_run
        == 250
    )
    with pytest.raises(SettingsError, match="ssh_key_audit_users_per_run"):
        make_settings(ssh_key_audit_users_per_run=-1)
    with pytest.raises(SettingsError, match="ssh_key_audit_users_per_run"):
        make_settings(ssh_key_audit_users_per_run=5001)


# --- on moto ---------------------------------------------------------------------------------------


def test_off_makes_no_call_and_no_finding(account: Account) -> None:
    account.user("git", virtual_mfa=True)
    upload(account, "git")

    result = account.sweep(make_settings(grace_days=0))

    assert found(result) == {}
    assert dict(account.counter.calls) == ACCOUNT_WIDE  # the budget: nothing per user


def test_active_keys_of_the_users_read_are_found_with_one_call_each(account: Account) -> None:
    account.user("git", virtual_mfa=True)
    upload(account, "git")
    account.user("off", virtual_mfa=True)
    key = upload(account, "off")
    account.client.update_ssh_public_key(UserName="off", SSHPublicKeyId=key, Status="Inactive")
    account.user("plain", virtual_mfa=True)
    account.user("bg", tags={"iam-guard:exempt": "true"})
    upload(account, "bg")

    result = account.sweep(make_settings(grace_days=0, ssh_key_audit_users_per_run=10))

    assert found(result) == {("git", SSH_KEY_ACTIVE): "violation"}  # everyone read: 4 users <= 10
    (finding,) = [f for f in result.findings if f.finding == SSH_KEY_ACTIVE]
    assert "APKA" in finding.detail
    assert "takes no MFA" in finding.detail
    assert account.counter.calls["iam:ListSSHPublicKeys"] == 4
    assert account.counter.total == sum(ACCOUNT_WIDE.values()) + 4


def test_old_keys_by_the_key_age_limit(account: Account) -> None:
    account.user("git", virtual_mfa=True)
    upload(account, "git")

    later = account.sweep(
        make_settings(ssh_key_audit_users_per_run=1), now=datetime.now(UTC) + timedelta(days=91)
    )
    sooner = account.sweep(
        make_settings(ssh_key_audit_users_per_run=1), now=datetime.now(UTC) + timedelta(days=89)
    )

    assert found(later) == {("git", SSH_KEY_ACTIVE): "violation", ("git", SSH_KEY_OLD): "violation"}
    assert found(sooner) == {("git", SSH_KEY_ACTIVE): "violation"}


def test_only_the_days_subset_is_read(account: Account) -> None:
    names = [f"user{i:02d}" for i in range(12)]
    for name in names:
        account.user(name, virtual_mfa=True)
        upload(account, name)
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    expected = ssh_audit_users(names, 4, now.date())

    result = account.sweep(make_settings(grace_days=0, ssh_key_audit_users_per_run=4), now=now)

    assert {u for (u, _) in found(result)} == set(expected)
    assert account.counter.calls["iam:ListSSHPublicKeys"] == len(expected)
    assert 0 < len(expected) < len(names)


# --- the CLI ---------------------------------------------------------------------------------------


def run_audit(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "cli.main", "audit", "--format", "json", "--grace-days", "0", *args],
        env={**os.environ, "AWS_ENDPOINT_URL": endpoint},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.e2e
def test_audit_reads_ssh_keys_only_when_asked(moto_endpoint: str) -> None:
    import json

    import boto3

    from core.aws.iam import IamGateway
    from core.guardrail.apply import ensure_guardrail
    from core.model.settings import build_settings

    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    ensure_guardrail(IamGateway(iam), build_settings(ip_restriction=False), "123456789012")
    iam.create_user(UserName="gitter")
    iam.add_user_to_group(GroupName="IAMGuardSecuredUsers", UserName="gitter")
    iam.upload_ssh_public_key(UserName="gitter", SSHPublicKeyBody=SSH_KEY)

    off = run_audit(moto_endpoint)
    on = run_audit(moto_endpoint, "--ssh-key-audit-users-per-run", "10")
    bad = run_audit(moto_endpoint, "--ssh-key-audit-users-per-run", "-1")

    kinds = [{f["finding"] for f in json.loads(run.stdout)["findings"]} for run in (off, on)]
    assert SSH_KEY_ACTIVE not in kinds[0]
    assert SSH_KEY_ACTIVE in kinds[1]
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert "-1 is outside 0..5000" in bad.stderr
