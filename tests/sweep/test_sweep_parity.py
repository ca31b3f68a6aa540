"""The same users give the same findings on moto and on IAM's real report format; unused keys on moto."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.sweep.conftest import GROUP, Account, make_settings
from tests.sweep.real_iam import Key, RealIam, ReportUser, Root

from core.model.alerts import AlertKind
from core.model.credential_report import ROOT
from core.model.findings import (
    ACCESS_KEY_OLD,
    ACCESS_KEY_UNUSED,
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_UNUSED,
    CONSOLE_WITHOUT_MFA,
    EXEMPT,
    NOT_IN_SECURED_GROUP,
    TWO_ACTIVE_KEYS,
)
from core.sweep.result import SweepResult


@dataclass(frozen=True)
class Spec:
    name: str
    password: bool = False
    keys: tuple[bool, ...] = ()  # each key's status in slot order (True: Active)
    virtual_mfa: bool = False
    hardware_mfa: bool = False
    in_group: bool = True
    tags: dict[str, str] = field(default_factory=dict)


SPECS = [
    Spec("console", password=True),
    Spec("robot", keys=(True,)),
    Spec("both", password=True, keys=(True, True)),
    Spec("rotating", keys=(False, True)),  # slot 1 deactivated, slot 2 active
    Spec("hardware", password=True, hardware_mfa=True),  # only the report knows the device
    Spec("phone", password=True, keys=(True,), virtual_mfa=True),
    Spec("idle"),
    Spec("inactive", keys=(False,)),
    Spec("outsider", virtual_mfa=True, in_group=False),
    Spec("breakglass", password=True, keys=(True, True), tags={"iam-guard:exempt": "true"}),
]
# 100 days after every credential was set, none used since; grace 7 days; dry run (enrol nobody).
EXPECTED = {
    "console": {CONSOLE_WITHOUT_MFA: "violation", CONSOLE_UNUSED: "violation"},
    "robot": {
        ACCESS_KEY_WITHOUT_MFA: "violation",
        ACCESS_KEY_UNUSED: "violation",
        ACCESS_KEY_OLD: "violation",
    },
    "both": {
        CONSOLE_WITHOUT_MFA: "violation",
        CONSOLE_UNUSED: "violation",
        ACCESS_KEY_UNUSED: "violation",
        ACCESS_KEY_OLD: "violation",
        TWO_ACTIVE_KEYS: "violation",
    },
    "rotating": {
        ACCESS_KEY_WITHOUT_MFA: "violation",
        ACCESS_KEY_UNUSED: "violation",
        ACCESS_KEY_OLD: "violation",
    },
    "hardware": {CONSOLE_UNUSED: "violation"},
    "phone": {CONSOLE_UNUSED: "violation", ACCESS_KEY_UNUSED: "violation", ACCESS_KEY_OLD: "violation"},
    "outsider": {NOT_IN_SECURED_GROUP: "would-enrol"},
    "breakglass": {EXEMPT: "exempt"},
}
LATER = timedelta(days=100)


def on_moto(account: Account) -> None:
    for spec in SPECS:
        key_ids = account.user(
            spec.name,
            password=spec.password,
            keys=len(spec.keys),
            virtual_mfa=spec.virtual_mfa,
            hardware_mfa=spec.hardware_mfa,
            in_group=spec.in_group,
            tags=spec.tags,
        )
        for key_id, active in zip(key_ids, spec.keys, strict=True):
            if not active:
                account.client.update_access_key(UserName=spec.name, AccessKeyId=key_id, Status="Inactive")


def in_real_format(created: datetime) -> list[ReportUser]:
    def key(slot: int, spec: Spec) -> Key | None:
        return Key(spec.keys[slot - 1], created) if len(spec.keys) >= slot else None

    return [
        ReportUser(
            spec.name,
            created,
            password_changed=created if spec.password else None,
            mfa_in_report=spec.virtual_mfa or spec.hardware_mfa,
            virtual_mfa=spec.virtual_mfa,
            key1=key(1, spec),
            key2=key(2, spec),
            groups=(GROUP,) if spec.in_group else (),
            tags=spec.tags,
        )
        for spec in SPECS
    ]


def outcome(result: SweepResult) -> dict[tuple[str, str], tuple[str, str, int]]:
    return {
        (f.user, f.finding): (f.severity.label, f.status, f.active_keys)
        for f in result.findings
        if f.user != ROOT
    }


def by_user(result: SweepResult) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for f in result.findings:
        if f.user != ROOT:
            found.setdefault(f.user, {})[f.finding] = f.status
    return found


def test_same_users_same_findings_on_moto_and_on_the_real_format(account: Account) -> None:
    created = datetime.now(UTC).replace(microsecond=0)
    on_moto(account)
    settings = make_settings(dry_run=True)
    moto = account.sweep(settings, now=created + LATER)

    real = RealIam()
    real.account(Root(created - LATER, mfa=True, password=True), in_real_format(created), generated=created)
    stubbed = real.sweep(settings, now=created + LATER)

    assert by_user(moto) == EXPECTED
    assert outcome(stubbed) == outcome(moto)
    # moto: GenerateCredentialReport twice (STARTED, then COMPLETE); real IAM with a warm report: once.
    assert account.counter.total == 8
    assert account.counter.calls["iam:GetAccountSummary"] == 1
    assert len(real.operations) == 7


def test_moto_unused_keys_deactivated_with_the_remediation_switch(account: Account) -> None:
    account.user("robot", keys=2, virtual_mfa=True)
    account.user("busy", keys=1, virtual_mfa=True)
    account.user("console", password=True, virtual_mfa=True)
    account.freeze_report()  # as IAM would serve it for 4 hours: busy's key never used
    from moto.iam.models import AccessKeyLastUsed, iam_backends

    (busy_key,) = iam_backends["123456789012"]["aws"].list_access_keys("busy")
    busy_key.last_used = AccessKeyLastUsed(datetime.now(UTC) + LATER - timedelta(days=1), "s3", "us-east-1")

    result = account.sweep(make_settings(remediate_unused_keys=True), now=datetime.now(UTC) + LATER)

    # the re-check: ListAccessKeys per user, GetAccessKeyLastUsed per active key; then one update per key
    assert account.counter.calls["iam:ListAccessKeys"] == 2
    assert account.counter.calls["iam:GetAccessKeyLastUsed"] == 3
    assert account.counter.calls["iam:UpdateAccessKey"] == 2
    assert account.key_statuses("robot") == ["Inactive", "Inactive"]  # deactivated, never deleted
    assert account.key_statuses("busy") == ["Active"]
    assert account.client.get_login_profile(UserName="console")  # passwords are never touched
    found = by_user(result)
    assert found["robot"][ACCESS_KEY_UNUSED] == "remediated"
    assert ACCESS_KEY_UNUSED not in found["busy"]  # used since the report: dropped after the re-check
    assert found["console"] == {CONSOLE_UNUSED: "violation"}
    assert [a.kind for a in account.sink.alerts] == [AlertKind.KEYS_DEACTIVATED, AlertKind.SWEEP_DIGEST]


def test_both_remediation_switches_in_one_alert(account: Account) -> None:
    account.user("nomfa", keys=1)  # no MFA: --remediate
    account.user("idle", keys=1, virtual_mfa=True)  # unused: --remediate-unused-keys
    settings = make_settings(remediate=True, remediate_unused_keys=True)
    result = account.sweep(settings, now=datetime.now(UTC) + LATER)
    assert by_user(result)["nomfa"][ACCESS_KEY_WITHOUT_MFA] == "remediated"
    # the no-MFA remediation ran first (high before medium): nothing left active at the re-check
    assert by_user(result)["nomfa"][ACCESS_KEY_UNUSED] == "violation"
    assert by_user(result)["idle"][ACCESS_KEY_UNUSED] == "remediated"
    alert = account.sink.alerts[0]
    assert alert.kind is AlertKind.KEYS_DEACTIVATED
    assert alert.title == "IAM sweep deactivated access keys of 2 user(s): without MFA or unused"
    assert "Keys of nomfa are now Inactive" in alert.summary
    assert "Keys of idle unused for 45 days or more are now Inactive" in alert.summary
    assert account.counter.calls["iam:UpdateAccessKey"] == 2
