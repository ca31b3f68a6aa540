"""``cli-user-without-totp``: strict-mode users with an access key whose MFA devices are all passkeys or
security keys (FIDO: console only) cannot get an MFA session for the CLI, so their key gets only
self-service. Found from the report and the virtual-MFA listing already read, plus one ``ListMFADevices``
for each user the report shows with MFA and an active key and no virtual device, and nobody else.

On moto (its credential report's ``mfa_active`` counts every enabled device, and ``EnableMFADevice``
takes any serial: a FIDO key's ARN, a hardware token's ``GAHT...``) and on IAM's real answers (Stubber).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.harness.mfa import enable_mfa
from tests.sweep.conftest import ACCOUNT, Account, make_settings
from tests.sweep.real_iam import ACCOUNT_ID, WARM_READS, Key, RealIam, ReportUser, Root

from core.model.alerts import Severity
from core.model.findings import (
    ACCESS_KEY_WITHOUT_MFA,
    CLI_USER_WITHOUT_TOTP,
    CONTROLS,
    SEVERITY,
    is_totp_serial,
)


def fido(user: str, account: str = ACCOUNT) -> str:
    """A FIDO security key's serial as IAM names it: an ARN, not listed by ListVirtualMFADevices."""
    return f"arn:aws:iam::{account}:u2f/user/{user}/securitykey-ABCDEFGHIJKLMNOP"


def found(result) -> dict[tuple[str, str], str]:  # type: ignore[no-untyped-def]
    return {(f.user, f.finding): f.status for f in result.findings}


def shape(account: Account) -> None:
    """Every kind of MFA holder, before the report is frozen, and one user created after it."""
    c = account.client
    account.user("fido-bot", keys=1)
    enable_mfa(c, "fido-bot", fido("fido-bot"))  # only a security key: the lockout
    account.user("fido-and-phone", keys=1, virtual_mfa=True)
    enable_mfa(c, "fido-and-phone", fido("fido-and-phone"))  # a phone too: no read needed
    account.user("token", keys=1, hardware_mfa=True)  # a hardware TOTP token: one read, no finding
    account.user("fido-console", password=True)
    enable_mfa(c, "fido-console", fido("fido-console"))  # no key: the console is all it needs
    account.user("fido-exempt", keys=1, tags={"iam-guard:exempt": "true"}, in_group=False)
    enable_mfa(c, "fido-exempt", fido("fido-exempt"))  # exempt: never read, never flagged
    account.user("no-mfa", keys=1)  # access-key-without-mfa already says it
    account.freeze_report()
    account.user("late-fido", keys=1)  # created after the report: read live anyway (3 calls)
    enable_mfa(c, "late-fido", fido("late-fido"))


def test_strict_mode_flags_key_holders_with_only_fido_devices(account: Account) -> None:
    shape(account)
    result = account.sweep(make_settings(grace_days=0))

    flagged = {user for (user, kind) in found(result) if kind == CLI_USER_WITHOUT_TOTP}
    assert flagged == {"fido-bot", "late-fido"}
    assert found(result)[("no-mfa", ACCESS_KEY_WITHOUT_MFA)] == "violation"
    (bot,) = [f for f in result.findings if f.user == "fido-bot" and f.finding == CLI_USER_WITHOUT_TOTP]
    assert (bot.severity, bot.status, bot.active_keys) == (Severity.MEDIUM, "violation", 1)
    assert fido("fido-bot") in bot.detail
    assert "no TOTP device" in bot.detail
    assert "TOTP device" in bot.action
    (late,) = [f for f in result.findings if f.user == "late-fido" and f.finding == CLI_USER_WITHOUT_TOTP]
    assert late.source == "live"
    # Per-user reads: fido-bot and token (MFA in the report, a key, no virtual device), plus late-fido's
    # live check; nobody else's devices are read.
    assert account.counter.calls["iam:ListMFADevices"] == 3


def test_console_mode_reads_nothing_more_and_flags_nobody(account: Account) -> None:
    shape(account)
    result = account.sweep(make_settings(grace_days=0, mfa_mode="console"))
    assert not [f for f in result.findings if f.finding == CLI_USER_WITHOUT_TOTP]
    assert account.counter.calls["iam:ListMFADevices"] == 1  # late-fido's live check only


def test_a_totp_device_registered_beside_the_security_key_ends_the_finding(account: Account) -> None:
    account.user("fido-bot", keys=1)
    enable_mfa(account.client, "fido-bot", fido("fido-bot"))
    before = account.sweep(make_settings(grace_days=0))
    enable_mfa(account.client, "fido-bot", "GAHT12345678")
    after = account.sweep(make_settings(grace_days=0))
    assert ("fido-bot", CLI_USER_WITHOUT_TOTP) in found(before)
    assert ("fido-bot", CLI_USER_WITHOUT_TOTP) not in found(after)


def test_a_young_user_is_in_grace() -> None:
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    iam = RealIam()
    user = ReportUser("newbot", now - timedelta(days=1), mfa_in_report=True, key1=Key(True, now))
    iam.account(Root(now - timedelta(days=900), mfa=True, password=True), [user], generated=now)
    iam.respond(
        "ListMFADevices",
        {
            "MFADevices": [
                {"UserName": "newbot", "SerialNumber": fido("newbot", ACCOUNT_ID), "EnableDate": now}
            ]
        },
        {"UserName": "newbot"},
    )
    result = iam.sweep(make_settings(grace_days=7), now=now)
    assert found(result) == {("newbot", CLI_USER_WITHOUT_TOTP): "grace"}


def test_on_iams_real_answers_exactly_one_read_per_user_that_needs_it() -> None:
    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    old = now - timedelta(days=300)
    users = [
        ReportUser("fido", old, mfa_in_report=True, key1=Key(True, old, used=now)),
        ReportUser("token", old, mfa_in_report=True, key1=Key(True, old, used=now)),
        ReportUser("phone", old, mfa_in_report=True, virtual_mfa=True, key1=Key(True, old, used=now)),
        ReportUser("console", old, password_changed=old, password_used=now, mfa_in_report=True),
    ]
    iam = RealIam()
    iam.account(Root(old, mfa=True, password=True), users, generated=now - timedelta(hours=1))
    for name, serial in (("fido", fido("fido", ACCOUNT_ID)), ("token", "GAHT00000042")):
        iam.respond(
            "ListMFADevices",
            {
                "MFADevices": [{"UserName": name, "SerialNumber": serial, "EnableDate": old}],
                "IsTruncated": False,
            },
            {"UserName": name},
        )
    result = iam.sweep(make_settings(key_max_age_days=0), now=now)
    assert found(result) == {("fido", CLI_USER_WITHOUT_TOTP): "violation"}
    assert iam.operations == [*WARM_READS, "ListMFADevices", "ListMFADevices"]


def test_the_kind_is_in_the_vocabulary_with_no_control() -> None:
    assert SEVERITY[CLI_USER_WITHOUT_TOTP] == Severity.MEDIUM
    assert CONTROLS[CLI_USER_WITHOUT_TOTP].none
    assert is_totp_serial("GAHT12345678")
    assert not is_totp_serial(f"arn:aws:iam::{ACCOUNT_ID}:mfa/alice-phone")
    assert not is_totp_serial(fido("alice", ACCOUNT_ID))
    assert not is_totp_serial(f"arn:aws-us-gov:iam::{ACCOUNT_ID}:u2f/user/alice/key-X")


def test_the_asff_finding_has_its_own_title_and_no_requirement() -> None:
    from core.aws.securityhub import Target
    from core.model.findings import Finding
    from core.report.asff_checks import asff_problems
    from core.report.securityhub import to_asff

    now = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
    item = Finding("bot", CLI_USER_WITHOUT_TOTP, Severity.MEDIUM, "violation", since=now, detail="d")
    asff = to_asff(item, Target(ACCOUNT_ID, "us-east-1"), now=now)
    assert asff_problems(asff) == []
    title = "IAM user with an access key and no TOTP MFA device (FIDO only: no CLI session)"
    assert asff["Title"] == f"{title}: bot"
    assert "RelatedRequirements" not in asff.get("Compliance", {})
