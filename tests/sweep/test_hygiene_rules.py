"""Pure rules around the hygiene findings: the root decision table, thresholds, the control mapping,
and the settings that drive them (flags, environment, template parameters)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import make_settings
from tests.template.template_model import load_template

from cli.main import build_parser
from cli.options import settings_from_args
from core.model.alerts import Severity
from core.model.credential_report import AccessKeySlot, CredentialRecord
from core.model.errors import SettingsError
from core.model.findings import (
    CONTROLS,
    HYGIENE_KINDS,
    ROOT_ACCESS_KEY,
    ROOT_KINDS,
    ROOT_NO_CREDENTIALS,
    ROOT_WITHOUT_MFA,
    SEVERITY,
    RootCredentials,
)
from core.model.settings import MAX_HYGIENE_DAYS, Settings, settings_from_env
from core.sweep.classify import is_old, is_unused, root_findings

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


def row(*, mfa: bool, key_slots: tuple[int, ...] = ()) -> CredentialRecord:
    keys = tuple(
        AccessKeySlot(s, s in key_slots, NOW - timedelta(days=9) if s in key_slots else None, None)
        for s in (1, 2)
    )
    return CredentialRecord("<root_account>", "arn:aws:iam::1:root", None, None, None, None, mfa, keys)


# (password, access keys, MFA) from GetAccountSummary (None: not in the answer), the report's root row
# -> the root findings.
ROOT_TABLE = [
    ((True, False, True), row(mfa=True), set()),
    ((True, False, False), row(mfa=False), {ROOT_WITHOUT_MFA}),
    ((False, True, False), row(mfa=False, key_slots=(1,)), {ROOT_WITHOUT_MFA, ROOT_ACCESS_KEY}),
    ((False, True, True), row(mfa=True, key_slots=(2,)), {ROOT_ACCESS_KEY}),
    ((True, True, False), row(mfa=False), {ROOT_WITHOUT_MFA, ROOT_ACCESS_KEY}),  # inactive, or created since
    ((False, False, False), row(mfa=False), {ROOT_NO_CREDENTIALS}),
    ((False, False, True), row(mfa=True), {ROOT_NO_CREDENTIALS}),
    (
        (False, False, False),
        row(mfa=False, key_slots=(1,)),
        {ROOT_NO_CREDENTIALS},
    ),  # deleted since the report
    ((True, False, False), row(mfa=True), {ROOT_WITHOUT_MFA}),  # MFA removed since the report
    ((True, False, True), row(mfa=False), set()),  # MFA added since the report
    # moto: no AccountPasswordPresent, no root row -> the password is assumed
    ((None, False, False), None, {ROOT_WITHOUT_MFA}),
    ((None, False, True), None, set()),
    # no answer at all about MFA: the report's row decides; without a row, nothing is claimed
    ((True, False, None), row(mfa=False), {ROOT_WITHOUT_MFA}),
    ((True, False, None), row(mfa=True), set()),
    ((True, False, None), None, set()),
    # no answer about keys: the row's active slots decide
    ((True, None, True), row(mfa=True, key_slots=(2,)), {ROOT_ACCESS_KEY}),
    ((True, None, True), row(mfa=True), set()),
]


@pytest.mark.parametrize(("summary", "report", "expected"), ROOT_TABLE)
def test_root_decision_table(
    summary: tuple[bool | None, bool | None, bool | None], report: CredentialRecord | None, expected: set[str]
) -> None:
    password, keys, mfa = summary
    found = root_findings(RootCredentials(password, keys, mfa, report))
    assert {f.finding for f in found} == expected
    assert all(f.user == "<root_account>" for f in found)


def test_root_credentials_from_a_real_summary_map() -> None:
    root = RootCredentials.from_summary(
        {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0, "AccountPasswordPresent": 1, "Users": 9}, None
    )
    assert (root.password, root.access_keys, root.mfa) == (True, False, True)
    moto = RootCredentials.from_summary({"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 0}, None)
    assert (moto.password, moto.access_keys, moto.mfa) == (None, False, False)


def test_root_no_credentials_is_info_and_never_needs_attention() -> None:
    (finding,) = root_findings(RootCredentials(False, False, False))
    assert (finding.severity, finding.status, finding.needs_attention) == (Severity.INFO, "exempt", False)
    assert "no console password and no access key" in finding.detail


@pytest.mark.parametrize(
    ("age", "days", "unused"),
    [
        (timedelta(days=45), 45, True),
        (timedelta(days=45) - timedelta(seconds=1), 45, False),
        (timedelta(days=400), 0, False),
        (timedelta(days=1), 1, True),
    ],
)
def test_is_unused_inclusive(age: timedelta, days: int, unused: bool) -> None:
    assert is_unused(NOW - age, NOW, days) is unused


@pytest.mark.parametrize(
    ("age", "days", "old"),
    [
        (timedelta(days=90), 90, False),
        (timedelta(days=90, seconds=1), 90, True),
        (timedelta(days=4000), 0, False),
    ],
)
def test_is_old_exclusive(age: timedelta, days: int, old: bool) -> None:
    assert is_old(NOW - age, NOW, days) is old


def test_severities() -> None:
    assert {k: SEVERITY[k] for k in HYGIENE_KINDS} == {
        "console-unused": Severity.MEDIUM,
        "access-key-unused": Severity.MEDIUM,
        "access-key-old": Severity.LOW,
        "two-active-keys": Severity.LOW,
    }
    assert SEVERITY[ROOT_ACCESS_KEY] is Severity.CRITICAL
    assert SEVERITY[ROOT_NO_CREDENTIALS] is Severity.INFO
    assert {ROOT_WITHOUT_MFA, ROOT_ACCESS_KEY, ROOT_NO_CREDENTIALS, "root-virtual-mfa"} == ROOT_KINDS


def test_every_finding_kind_has_its_controls() -> None:
    assert set(CONTROLS) == set(SEVERITY)
    assert CONTROLS["console-without-mfa"].security_hub[0] == "IAM.5"
    assert CONTROLS["access-key-without-mfa"].security_hub == ("IAM.19",)
    assert CONTROLS["root-without-mfa"].security_hub == ("IAM.9",)
    assert CONTROLS["root-access-key"].security_hub == ("IAM.4",)
    for kind in ("console-unused", "access-key-unused"):
        assert CONTROLS[kind].security_hub == ("IAM.8", "IAM.22")
        assert CONTROLS[kind].cis == ("1.12",)
    assert CONTROLS["access-key-old"].security_hub == ("IAM.3",)
    assert CONTROLS["access-key-old"].cis == ("1.14",)
    assert CONTROLS["two-active-keys"].cis == ("1.13",)


# --- settings: defaults, environment, flags, template parameters ------------------------------------


def test_defaults_keep_remediation_of_unused_keys_off() -> None:
    settings = make_settings()
    assert (settings.unused_days, settings.key_max_age_days, settings.remediate_unused_keys) == (
        45,
        90,
        False,
    )
    assert make_settings(remediate=True).remediate_unused_keys is False


def test_environment() -> None:
    settings = settings_from_env(
        {
            "IAM_GUARD_IP_RESTRICTION": "false",
            "IAM_GUARD_UNUSED_DAYS": "30",
            "IAM_GUARD_KEY_MAX_AGE_DAYS": "0",
            "IAM_GUARD_REMEDIATE_UNUSED_KEYS": "true",
        }
    )
    assert (settings.unused_days, settings.key_max_age_days, settings.remediate_unused_keys) == (30, 0, True)


@pytest.mark.parametrize(
    ("var", "value", "message"),
    [
        ("IAM_GUARD_UNUSED_DAYS", "-1", "invalid setting unused_days"),
        ("IAM_GUARD_KEY_MAX_AGE_DAYS", "3651", "invalid setting key_max_age_days"),
        ("IAM_GUARD_UNUSED_DAYS", "soon", "invalid setting unused_days"),
        ("IAM_GUARD_REMEDIATE_UNUSED_KEYS", "maybe", "IAM_GUARD_REMEDIATE_UNUSED_KEYS"),
    ],
)
def test_bad_environment_is_one_line(var: str, value: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message) as caught:
        settings_from_env({"IAM_GUARD_IP_RESTRICTION": "false", var: value})
    assert "\n" not in str(caught.value)


def test_audit_flags_reach_the_settings() -> None:
    args = build_parser().parse_args(
        ["audit", "--unused-days", "30", "--key-max-age-days", "60", "--remediate-unused-keys"]
    )
    settings = settings_from_args(args, ip_restriction=False)
    assert (settings.unused_days, settings.key_max_age_days, settings.remediate_unused_keys) == (30, 60, True)
    defaults = settings_from_args(build_parser().parse_args(["audit"]), ip_restriction=False)
    assert (defaults.unused_days, defaults.key_max_age_days, defaults.remediate_unused_keys) == (
        45,
        90,
        False,
    )


@pytest.mark.parametrize(
    ("parameter", "field", "default"),
    [("UnusedDays", "unused_days", 45), ("KeyMaxAgeDays", "key_max_age_days", 90)],
)
def test_template_parameters_bound_as_the_settings_model(parameter: str, field: str, default: int) -> None:
    spec = load_template()["Parameters"][parameter]
    assert (spec["Type"], spec["Default"], spec["MinValue"], spec["MaxValue"]) == (
        "Number",
        default,
        0,
        MAX_HYGIENE_DAYS,
    )
    assert {f.name: f.default for f in dataclasses.fields(Settings)}[field] == default
    for value in (spec["MinValue"] - 1, spec["MaxValue"] + 1):
        with pytest.raises(SettingsError):
            make_settings(**{field: value})


def test_remediate_unused_keys_parameter_is_off_by_default_and_grouped() -> None:
    template = load_template()
    spec = template["Parameters"]["RemediateUnusedKeys"]
    assert (spec["Default"], spec["AllowedValues"]) == ("false", ["true", "false"])
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [p for g in groups for p in g["Parameters"]]
    assert {"UnusedDays", "KeyMaxAgeDays", "RemediateUnusedKeys"} <= set(grouped)
