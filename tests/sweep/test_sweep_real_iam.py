"""The sweep against IAM's real answers (botocore Stubber, see ``real_iam``): the root row, both key
slots, every special value, hardware MFA known only to the report, and the exact calls made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import make_settings
from tests.sweep.real_iam import WARM_READS, Key, RealIam, ReportUser, Root, report_csv

from core.model.alerts import AlertKind, Severity
from core.model.credential_report import HEADER, ROOT
from core.model.errors import CredentialReportError
from core.model.findings import (
    ACCESS_KEY_OLD,
    ACCESS_KEY_UNUSED,
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_UNUSED,
    CONSOLE_WITHOUT_MFA,
    EXEMPT,
    ROOT_ACCESS_KEY,
    ROOT_NO_CREDENTIALS,
    ROOT_WITHOUT_MFA,
    TWO_ACTIVE_KEYS,
)
from core.sweep.result import SweepResult
from core.sweep.run import run_sweep

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
GENERATED = NOW - timedelta(hours=3)


def ago(days: float = 0, **kw: float) -> datetime:
    return NOW - timedelta(days=days, **kw)


# One account, every shape a real report has. Thresholds: unused 45 days, keys 90 days, grace 7 days.
USERS = [
    # Everything in order: MFA (virtual), password and key used lately, key young.
    ReportUser(
        "alice",
        ago(400),
        password_changed=ago(100),
        password_used=ago(2),
        virtual_mfa=True,
        mfa_in_report=True,
        key1=Key(True, ago(30), used=ago(1)),
    ),
    # Mid-rotation: the old key in slot 1 deactivated, the new one active in slot 2. No MFA.
    ReportUser(
        "rotating",
        ago(400),
        key1=Key(False, ago(200), used=ago(95)),
        key2=Key(True, ago(20), used=ago(1)),
    ),
    # Key 1 deleted: the only key is in slot 2 (slot 1 all N/A). No MFA.
    ReportUser("slot2only", ago(300), key2=Key(True, ago(10), used=ago(0, hours=1))),
    # A hardware (or FIDO) device: in the report's mfa_active, not in the virtual-MFA listing.
    ReportUser("hardware", ago(300), password_changed=ago(100), password_used=ago(1), mfa_in_report=True),
    # A password set 60 days ago and never used (no_information).
    ReportUser("idle-console", ago(200), password_changed=ago(60), virtual_mfa=True),
    # A key created 50 days ago and never used (N/A).
    ReportUser("idle-key", ago(200), virtual_mfa=True, key1=Key(True, ago(50))),
    # A key used yesterday, created 100 days ago.
    ReportUser("old-key", ago(300), virtual_mfa=True, key1=Key(True, ago(100), used=ago(1))),
    # Both keys active, both young and used.
    ReportUser(
        "two-keys",
        ago(300),
        virtual_mfa=True,
        key1=Key(True, ago(10), used=ago(1)),
        key2=Key(True, ago(5), used=ago(1)),
    ),
    # Two days old, password never used, no MFA yet: in grace.
    ReportUser("newbie", ago(2), password_changed=ago(2)),
    # Exempt: nothing but "exempt", whatever its credentials.
    ReportUser(
        "breakglass",
        ago(900),
        password_changed=ago(800),
        key1=Key(True, ago(800)),
        key2=Key(True, ago(700)),
        groups=(),
        tags={"iam-guard:exempt": "true"},
    ),
]
USER_FINDINGS = {
    "rotating": {ACCESS_KEY_WITHOUT_MFA: "violation"},
    "slot2only": {ACCESS_KEY_WITHOUT_MFA: "violation"},
    "idle-console": {CONSOLE_UNUSED: "violation"},
    "idle-key": {ACCESS_KEY_UNUSED: "violation"},
    "old-key": {ACCESS_KEY_OLD: "violation"},
    "two-keys": {TWO_ACTIVE_KEYS: "violation"},
    "newbie": {CONSOLE_WITHOUT_MFA: "grace"},
    "breakglass": {EXEMPT: "exempt"},
}
ROOT_MFA_ON = Root(ago(3000), mfa=True, password=True, password_used=ago(30))
ROOT_NO_MFA_WITH_KEY = Root(ago(3000), mfa=False, password=True, key1=Key(True, ago(2000), used=ago(40)))
ROOT_NO_CREDENTIALS_ROW = Root(ago(3000), mfa=False, password=False)


def by_user(result: SweepResult) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for f in result.findings:
        found.setdefault(f.user, {})[f.finding] = f.status
    return found


def finding(result: SweepResult, user: str, kind: str):  # type: ignore[no-untyped-def]
    (match,) = [f for f in result.findings if f.user == user and f.finding == kind]
    return match


def sweep(root: Root, users: list[ReportUser], **settings: object) -> tuple[RealIam, SweepResult]:
    iam = RealIam()
    iam.account(root, users, generated=GENERATED)
    result = iam.sweep(make_settings(**settings), now=NOW)
    return iam, result


@pytest.mark.parametrize(
    ("root", "root_findings"),
    [
        pytest.param(ROOT_MFA_ON, {}, id="root-mfa-on"),
        pytest.param(
            ROOT_NO_MFA_WITH_KEY,
            {ROOT_WITHOUT_MFA: "violation", ROOT_ACCESS_KEY: "violation"},
            id="root-no-mfa-with-key",
        ),
        pytest.param(ROOT_NO_CREDENTIALS_ROW, {ROOT_NO_CREDENTIALS: "exempt"}, id="root-no-credentials"),
    ],
)
def test_a_real_report_gives_exactly_these_findings_in_seven_calls(
    root: Root, root_findings: dict[str, str]
) -> None:
    iam, result = sweep(root, USERS)

    expected = dict(USER_FINDINGS)
    if root_findings:
        expected[ROOT] = root_findings
    assert by_user(result) == expected
    # Exactly the warm-report reads: no per-user call, GetAccountSummary once, nothing else.
    assert iam.operations == list(WARM_READS)
    assert len(iam.operations) == 7  # the budget table in docs/sweep.md
    assert result.users_scanned == len(USERS)
    assert result.report_generated_at == GENERATED
    assert result.account_id == "111122223333"


def test_the_root_row_and_summary_are_read_the_right_way_round() -> None:
    _, with_key = sweep(ROOT_NO_MFA_WITH_KEY, [])
    no_mfa = finding(with_key, ROOT, ROOT_WITHOUT_MFA)
    key = finding(with_key, ROOT, ROOT_ACCESS_KEY)
    assert (no_mfa.severity, key.severity) == (Severity.CRITICAL, Severity.CRITICAL)
    assert no_mfa.detail == "the root user has no MFA device (console password, access key)"
    # The row's slot 1 is active, created and last used on these days.
    assert key.detail == (
        f"the root user has an active access key in slot 1 (created {ago(2000).date()}, "
        f"last used {ago(40).date()})"
    )
    assert key.action.startswith("Delete the root user's access keys")
    _, none = sweep(ROOT_NO_CREDENTIALS_ROW, [])
    (only,) = none.findings
    assert (only.finding, only.severity, only.status) == (ROOT_NO_CREDENTIALS, Severity.INFO, "exempt")
    assert not only.needs_attention  # quiet runs stay quiet for centrally managed root credentials


def test_root_key_only_in_slot_2_and_a_key_deleted_since_the_report() -> None:
    slot2 = Root(ago(3000), mfa=True, password=True, key2=Key(True, ago(20)))
    _, result = sweep(slot2, [])
    assert by_user(result) == {ROOT: {ROOT_ACCESS_KEY: "violation"}}
    assert "slot 2" in finding(result, ROOT, ROOT_ACCESS_KEY).detail
    assert "never used" in finding(result, ROOT, ROOT_ACCESS_KEY).detail

    class Deleted(Root):
        def summary(self) -> dict[str, int]:
            return {**super().summary(), "AccountAccessKeysPresent": 0}

    # The report (3 hours old) still shows the key; GetAccountSummary, live, says it is gone.
    _, after = sweep(Deleted(ago(3000), mfa=True, password=True, key1=Key(True, ago(20))), [])
    assert after.findings == ()


def test_root_mfa_removed_since_the_report_is_flagged() -> None:
    removed = Root(ago(3000), mfa=True, password=True, summary_mfa=False)
    _, result = sweep(removed, [])
    assert by_user(result) == {ROOT: {ROOT_WITHOUT_MFA: "violation"}}


def test_a_key_in_slot_2_only_is_read() -> None:
    _, result = sweep(ROOT_MFA_ON, USERS)
    assert finding(result, "slot2only", ACCESS_KEY_WITHOUT_MFA).detail == (
        "no console password, 1 active access key (slot 2), no MFA"
    )
    assert finding(result, "rotating", ACCESS_KEY_WITHOUT_MFA).detail == (
        "no console password, 1 active access key (slot 2), no MFA"
    )
    assert finding(result, "slot2only", ACCESS_KEY_WITHOUT_MFA).active_keys == 1


def test_hardware_mfa_known_only_to_the_report_counts() -> None:
    _, result = sweep(ROOT_MFA_ON, USERS)
    assert "hardware" not in by_user(result)
    assert "alice" not in by_user(result)


def test_hygiene_details_name_slots_dates_and_thresholds() -> None:
    _, result = sweep(ROOT_MFA_ON, USERS)
    assert finding(result, "idle-console", CONSOLE_UNUSED).detail == (
        f"console password unused for 60 days (never used, last changed {ago(60).date()}); threshold 45 days"
    )
    assert finding(result, "idle-key", ACCESS_KEY_UNUSED).detail == (
        f"access key 1 never used, created {ago(50).date()} (50 days ago); threshold 45 days"
    )
    assert finding(result, "old-key", ACCESS_KEY_OLD).detail == (
        f"access key 1 created {ago(100).date()} (100 days ago); maximum age 90 days"
    )
    assert finding(result, "two-keys", TWO_ACTIVE_KEYS).detail == (
        f"access keys 1 (created {ago(10).date()}) and 2 (created {ago(5).date()}) are both active"
    )
    assert finding(result, "idle-key", ACCESS_KEY_UNUSED).since == ago(50)
    assert finding(result, "old-key", ACCESS_KEY_OLD).severity is Severity.LOW
    assert finding(result, "idle-console", CONSOLE_UNUSED).severity is Severity.MEDIUM


# --- thresholds, exactly at the boundary (the report's timestamps have whole seconds) ----------------

SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        # unused for 45 days or more: inclusive
        (ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(45))), {ACCESS_KEY_UNUSED}),
        (ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(45) + SECOND)), set()),
        (
            ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(89), used=ago(45))),
            {ACCESS_KEY_UNUSED},
        ),
        (
            ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(89), used=ago(45) + SECOND)),
            set(),
        ),
        (ReportUser("u", ago(400), virtual_mfa=True, password_changed=ago(45)), {CONSOLE_UNUSED}),
        (ReportUser("u", ago(400), virtual_mfa=True, password_changed=ago(45) + SECOND), set()),
        (
            ReportUser("u", ago(400), virtual_mfa=True, password_changed=ago(300), password_used=ago(45)),
            {CONSOLE_UNUSED},
        ),
        # a password changed after its last use counts from the change
        (
            ReportUser("u", ago(400), virtual_mfa=True, password_changed=ago(10), password_used=ago(300)),
            set(),
        ),
        # older than 90 days: exclusive
        (ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(90), used=ago(1))), set()),
        (
            ReportUser("u", ago(400), virtual_mfa=True, key1=Key(True, ago(90) - SECOND, used=ago(1))),
            {ACCESS_KEY_OLD},
        ),
        # inactive keys are never unused, old or counted
        (
            ReportUser("u", ago(400), virtual_mfa=True, key1=Key(False, ago(500)), key2=Key(False, ago(400))),
            set(),
        ),
    ],
)
def test_thresholds_inclusive_for_unused_exclusive_for_age(user: ReportUser, expected: set[str]) -> None:
    _, result = sweep(ROOT_MFA_ON, [user])
    assert {f.finding for f in result.findings} == expected


def test_zero_turns_each_check_off() -> None:
    _, result = sweep(ROOT_MFA_ON, USERS, unused_days=0, key_max_age_days=0)
    kinds = {f.finding for f in result.findings}
    assert not kinds & {CONSOLE_UNUSED, ACCESS_KEY_UNUSED, ACCESS_KEY_OLD}
    assert TWO_ACTIVE_KEYS in kinds  # no threshold: always on


def test_one_finding_per_user_names_every_idle_slot() -> None:
    both = ReportUser(
        "both", ago(400), virtual_mfa=True, key1=Key(True, ago(300), used=ago(100)), key2=Key(True, ago(60))
    )
    _, result = sweep(ROOT_MFA_ON, [both])
    unused = finding(result, "both", ACCESS_KEY_UNUSED)
    assert unused.detail == (
        f"access key 1 unused for 100 days (last used {ago(100).date()}); "
        f"access key 2 never used, created {ago(60).date()} (60 days ago); threshold 45 days"
    )
    assert unused.active_keys == 2
    assert finding(result, "both", ACCESS_KEY_OLD).detail.startswith("access key 1 created")
    assert {f.finding for f in result.findings} == {ACCESS_KEY_UNUSED, ACCESS_KEY_OLD, TWO_ACTIVE_KEYS}


def test_grace_and_dated_exemptions_apply_to_hygiene_findings() -> None:
    young = ReportUser("young", ago(3), virtual_mfa=True, key1=Key(True, ago(3)))
    until = (NOW.date() + timedelta(days=5)).isoformat()
    dated = ReportUser(
        "dated", ago(400), key1=Key(True, ago(300)), tags={"iam-guard:exempt": until}, virtual_mfa=True
    )
    lapsed = ReportUser(
        "lapsed",
        ago(400),
        key1=Key(True, ago(300)),
        tags={"iam-guard:exempt": "2020-01-01"},
        virtual_mfa=True,
    )
    _, result = sweep(ROOT_MFA_ON, [young, dated, lapsed], unused_days=2)
    assert by_user(result) == {
        "young": {ACCESS_KEY_UNUSED: "grace"},
        "dated": {EXEMPT: "exempt"},
        "lapsed": {ACCESS_KEY_UNUSED: "violation", ACCESS_KEY_OLD: "violation"},
    }
    assert finding(result, "young", ACCESS_KEY_UNUSED).deadline == ago(3) + timedelta(days=7)
    assert "iam-guard:exempt=2020-01-01 not in force" in finding(result, "lapsed", ACCESS_KEY_OLD).detail


def test_the_digest_carries_hygiene_findings_like_mfa_findings() -> None:
    iam, _ = sweep(ROOT_MFA_ON, USERS)
    (digest,) = iam.sink.alerts
    assert digest.kind is AlertKind.SWEEP_DIGEST
    assert dict(digest.counts) == {
        ACCESS_KEY_WITHOUT_MFA: 2,
        CONSOLE_WITHOUT_MFA: 1,
        ACCESS_KEY_UNUSED: 1,
        CONSOLE_UNUSED: 1,
        ACCESS_KEY_OLD: 1,
        TWO_ACTIVE_KEYS: 1,
        EXEMPT: 1,
    }
    assert ("unused_days", "45") in digest.details
    assert ("key_max_age_days", "90") in digest.details
    assert digest.severity is Severity.HIGH  # the most severe finding needing attention
    assert {i.subject for i in digest.items} == set(USER_FINDINGS)


def test_a_value_iam_never_writes_fails_the_sweep_loudly() -> None:
    user = ReportUser("x", ago(10), key1=Key(True, ago(5)))
    *lines, last = report_csv(ROOT_MFA_ON, [user]).split(b"\n")
    cells = last.split(b",")
    cells[HEADER.index("access_key_1_active")] = b"maybe"
    iam = RealIam()
    # The other account-wide reads are made at once with the report's; nothing is changed after it.
    iam.account(ROOT_MFA_ON, [user], generated=GENERATED, report=b"\n".join([*lines, b",".join(cells)]))
    with iam.stubber, pytest.raises(CredentialReportError, match="access_key_1_active is 'maybe'"):
        run_sweep(iam.gateway, iam.sink, make_settings(), now=NOW, sleep=lambda _: None)
    assert [a.kind for a in iam.sink.alerts] == [AlertKind.SWEEP_FAILED]
    assert iam.operations == list(WARM_READS)  # reads only: no change, no per-user call


# --- deactivating unused keys: the live re-check, then UpdateAccessKey ------------------------------

IDLE = ReportUser("idle-key", ago(200), virtual_mfa=True, key1=Key(True, ago(50)), key2=Key(True, ago(60)))


def test_unused_keys_are_deactivated_after_a_live_recheck() -> None:
    iam = RealIam()
    iam.account(ROOT_MFA_ON, [IDLE], generated=GENERATED)
    iam.access_keys(
        "idle-key", [("AKIAIDLEKEY000000001", "Active", ago(50)), ("AKIAIDLEKEY000000002", "Active", ago(60))]
    )
    iam.last_used("idle-key", "AKIAIDLEKEY000000001", None)  # still never used
    iam.last_used("idle-key", "AKIAIDLEKEY000000002", ago(0, hours=1))  # used since the report
    iam.deactivate("idle-key", "AKIAIDLEKEY000000001")
    result = iam.sweep(make_settings(remediate_unused_keys=True), now=NOW)

    assert iam.operations == [
        *WARM_READS,
        "ListAccessKeys",
        "GetAccessKeyLastUsed",
        "GetAccessKeyLastUsed",
        "UpdateAccessKey",
    ]
    unused = finding(result, "idle-key", ACCESS_KEY_UNUSED)
    assert unused.status == "remediated"
    assert unused.detail.endswith("; deactivated AKIAIDLEKEY000000001")
    kinds = [a.kind for a in iam.sink.alerts]
    assert kinds == [AlertKind.KEYS_DEACTIVATED, AlertKind.SWEEP_DIGEST]
    alert = iam.sink.alerts[0]
    assert alert.title == "IAM sweep deactivated unused access keys of 1 user(s)"
    assert "aws iam update-access-key --status Active" in alert.summary
    assert "unused for 45 days or more" in alert.summary


def test_keys_used_since_the_report_are_left_alone() -> None:
    iam = RealIam()
    one = ReportUser("idle-key", ago(200), virtual_mfa=True, key1=Key(True, ago(50)))
    iam.account(ROOT_MFA_ON, [one], generated=GENERATED)
    iam.access_keys("idle-key", [("AKIAIDLEKEY000000001", "Active", ago(50))])
    iam.last_used("idle-key", "AKIAIDLEKEY000000001", ago(0, hours=2))
    result = iam.sweep(make_settings(remediate_unused_keys=True), now=NOW)
    assert "UpdateAccessKey" not in iam.operations
    assert result.findings == ()  # used since: no longer true


def test_remediate_alone_never_deactivates_unused_keys() -> None:
    """Stacks already running with Remediate=true must not start deactivating unused keys on upgrade."""
    iam, result = sweep(ROOT_MFA_ON, [IDLE], remediate=True)
    assert iam.operations == list(WARM_READS)
    assert finding(result, "idle-key", ACCESS_KEY_UNUSED).status == "violation"


def test_unused_keys_dry_run_says_which_keys_and_changes_nothing() -> None:
    iam = RealIam()
    one = ReportUser("idle-key", ago(200), virtual_mfa=True, key1=Key(True, ago(50)))
    iam.account(ROOT_MFA_ON, [one], generated=GENERATED)
    iam.access_keys("idle-key", [("AKIAIDLEKEY000000001", "Active", ago(50))])
    iam.last_used("idle-key", "AKIAIDLEKEY000000001", None)
    result = iam.sweep(make_settings(remediate_unused_keys=True, dry_run=True), now=NOW)
    unused = finding(result, "idle-key", ACCESS_KEY_UNUSED)
    assert unused.status == "would-remediate"
    assert unused.detail.endswith("; would deactivate AKIAIDLEKEY000000001")
    assert "UpdateAccessKey" not in iam.operations


def test_unused_keys_in_grace_or_exempt_are_never_touched() -> None:
    young = ReportUser("young", ago(3), virtual_mfa=True, key1=Key(True, ago(3)))
    exempt = ReportUser(
        "robot", ago(400), virtual_mfa=True, key1=Key(True, ago(300)), tags={"iam-guard:exempt": "true"}
    )
    iam, result = sweep(ROOT_MFA_ON, [young, exempt], remediate_unused_keys=True, unused_days=2)
    assert iam.operations == list(WARM_READS)
    assert by_user(result) == {"young": {ACCESS_KEY_UNUSED: "grace"}, "robot": {EXEMPT: "exempt"}}
