"""The sweep against moto's IAM: findings, enrolment, remediation, stale reports, failures, alerts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from tests.sweep.conftest import GROUP, Account, make_settings

from core.model.alerts import AlertKind
from core.model.credential_report import ROOT
from core.model.errors import AccessDeniedError, CredentialReportError
from core.model.findings import (
    ACCESS_KEY_WITHOUT_MFA,
    CONSOLE_WITHOUT_MFA,
    EXEMPT,
    NOT_IN_SECURED_GROUP,
    TWO_ACTIVE_KEYS,
)
from core.sweep.report import REPORT_ATTEMPTS
from core.sweep.run import REQUIRED_PERMISSIONS

AfterGrace = Callable[[int], datetime]


def by_user(result) -> dict[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    found: dict[str, dict[str, str]] = {}
    for f in result.findings:
        found.setdefault(f.user, {})[f.finding] = f.status
    return found


def test_every_finding_kind(account: Account) -> None:
    account.user("console", password=True)
    account.user("robot", keys=1)
    account.user("both", password=True, keys=2)
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)
    account.user("idle")  # neither password nor key: no MFA finding
    account.user("fine", password=True, keys=1, virtual_mfa=True)
    account.user("breakglass", password=True, in_group=False, tags={"iam-guard:exempt": "true"})

    result = account.sweep(make_settings(grace_days=0))

    assert by_user(result) == {
        ROOT: {"root-without-mfa": "violation"},  # moto's report has no root row: GetAccountSummary
        "console": {CONSOLE_WITHOUT_MFA: "violation"},
        "robot": {ACCESS_KEY_WITHOUT_MFA: "violation"},
        "both": {CONSOLE_WITHOUT_MFA: "violation", TWO_ACTIVE_KEYS: "violation"},
        "outsider": {NOT_IN_SECURED_GROUP: "enrolled"},
        "breakglass": {EXEMPT: "exempt"},
    }
    assert GROUP in account.groups_of("outsider")
    assert account.groups_of("breakglass") == []  # never enrolled
    assert result.account_id == "123456789012"  # from the ARNs, no STS call
    assert result.report_generated_at.tzinfo is not None
    assert account.counter.calls["iam:GetAccountSummary"] == 1


def test_dry_run_enrols_nobody(account: Account) -> None:
    account.user("outsider", in_group=False)
    result = account.sweep(make_settings(dry_run=True))
    assert by_user(result)["outsider"] == {NOT_IN_SECURED_GROUP: "would-enrol"}
    assert account.groups_of("outsider") == []
    assert account.counter.calls["iam:AddUserToGroup"] == 0


def test_grace_inside_and_after(account: Account, after_grace: AfterGrace) -> None:
    account.user("new", password=True)
    inside = account.sweep(make_settings(grace_days=7))
    after = account.sweep(make_settings(grace_days=7), now=after_grace(7))
    (finding,) = [f for f in inside.findings if f.user == "new"]
    assert finding.status == "grace"
    assert finding.deadline is not None
    assert timedelta(days=6) < finding.deadline - datetime.now(UTC) <= timedelta(days=7)
    assert by_user(after)["new"] == {CONSOLE_WITHOUT_MFA: "violation"}


def test_dated_exemptions_valid_and_expired(account: Account) -> None:
    today = datetime.now(UTC).date()
    account.user("valid", keys=1, tags={"iam-guard:exempt": (today + timedelta(days=3)).isoformat()})
    account.user("expired", keys=1, tags={"iam-guard:exempt": (today - timedelta(days=1)).isoformat()})
    found = by_user(account.sweep(make_settings(grace_days=0)))
    assert found["valid"] == {EXEMPT: "exempt"}
    assert found["expired"] == {ACCESS_KEY_WITHOUT_MFA: "violation"}


def test_listed_exemption_and_custom_tag_key(account: Account) -> None:
    account.user("listed", password=True, in_group=False)
    account.user("tagged", keys=1, in_group=False, tags={"ops:exempt": "true"})
    account.user("default-tag", keys=1, tags={"iam-guard:exempt": "true"})
    settings = make_settings(exempt_users=frozenset({"listed"}), exempt_tag_key="ops:exempt", grace_days=0)
    found = by_user(account.sweep(settings))
    assert found["listed"] == {EXEMPT: "exempt"}
    assert found["tagged"] == {EXEMPT: "exempt"}
    assert found["default-tag"] == {ACCESS_KEY_WITHOUT_MFA: "violation"}  # the default key no longer applies
    assert account.groups_of("listed") == account.groups_of("tagged") == []


# --- remediation -----------------------------------------------------------------------------------


def test_remediation_off_by_default_leaves_keys_active(account: Account, after_grace: AfterGrace) -> None:
    account.user("robot", keys=2)
    result = account.sweep(make_settings(), now=after_grace(7))
    assert by_user(result)["robot"] == {ACCESS_KEY_WITHOUT_MFA: "violation", TWO_ACTIVE_KEYS: "violation"}
    assert account.key_statuses("robot") == ["Active", "Active"]
    assert account.counter.calls["iam:UpdateAccessKey"] == 0


def test_remediation_deactivates_keys_after_grace_and_alerts(
    account: Account, after_grace: AfterGrace
) -> None:
    account.user("robot", keys=2)
    account.user("console", password=True, keys=1)
    account.user("bystander", keys=1, virtual_mfa=True)
    result = account.sweep(make_settings(remediate=True), now=after_grace(7))
    # two-active-keys is as of the report; the remediation detail says the keys are Inactive now
    assert by_user(result)["robot"] == {ACCESS_KEY_WITHOUT_MFA: "remediated", TWO_ACTIVE_KEYS: "violation"}
    assert by_user(result)["console"] == {CONSOLE_WITHOUT_MFA: "remediated"}
    assert account.key_statuses("robot") == ["Inactive", "Inactive"]  # deactivated, never deleted
    assert account.key_statuses("console") == ["Inactive"]
    assert account.key_statuses("bystander") == ["Active"]
    kinds = [a.kind for a in account.sink.alerts]
    assert kinds == [AlertKind.KEYS_DEACTIVATED, AlertKind.SWEEP_DIGEST]
    remediation = account.sink.alerts[0]
    assert {i.subject for i in remediation.items} == {"robot", "console"}


def test_remediation_waits_for_the_grace_period(account: Account) -> None:
    account.user("robot", keys=1)
    result = account.sweep(make_settings(remediate=True, grace_days=7))
    assert by_user(result)["robot"] == {ACCESS_KEY_WITHOUT_MFA: "grace"}
    assert account.key_statuses("robot") == ["Active"]


def test_remediation_dry_run_says_what_it_would_do(account: Account, after_grace: AfterGrace) -> None:
    (key_id,) = account.user("robot", keys=1)
    result = account.sweep(make_settings(remediate=True, dry_run=True), now=after_grace(7))
    (finding,) = [f for f in result.findings if f.user == "robot"]
    assert finding.status == "would-remediate"
    assert key_id in finding.detail
    assert account.key_statuses("robot") == ["Active"]
    assert AlertKind.KEYS_DEACTIVATED not in [a.kind for a in account.sink.alerts]


def test_remediation_never_touches_exempt_users(account: Account, after_grace: AfterGrace) -> None:
    account.user("robot", keys=1, tags={"iam-guard:exempt": "true"})
    account.user("ci", keys=1)
    settings = make_settings(remediate=True, exempt_users=frozenset({"ci"}))
    account.sweep(settings, now=after_grace(7))
    assert account.counter.calls["iam:ListAccessKeys"] == 0
    assert account.key_statuses("robot") == account.key_statuses("ci") == ["Active"]


def test_remediation_spares_a_user_who_got_mfa_since_the_report(
    account: Account, after_grace: AfterGrace
) -> None:
    account.user("robot", keys=1)
    account.freeze_report()  # the report says: no MFA
    account.enable_hardware_mfa("robot")  # invisible to ListVirtualMFADevices; seen by the re-check
    result = account.sweep(make_settings(remediate=True), now=after_grace(7))
    assert account.counter.calls["iam:ListMFADevices"] == 1
    assert account.counter.calls["iam:UpdateAccessKey"] == 0
    assert account.key_statuses("robot") == ["Active"]
    assert "robot" not in by_user(result)  # has MFA now: not a finding


# --- freshness -------------------------------------------------------------------------------------


def test_stale_report_virtual_mfa_enabled_after_it_is_not_flagged(account: Account) -> None:
    account.user("phone", password=True)
    account.freeze_report()
    account.enable_virtual_mfa("phone")
    result = account.sweep(make_settings(grace_days=0))
    assert "phone" not in by_user(result)
    assert account.counter.calls["iam:ListMFADevices"] == 0  # the account-wide listing was enough


def test_stale_report_user_created_after_it_is_checked_live(account: Account) -> None:
    account.user("old", password=True, virtual_mfa=True)
    generated = account.freeze_report()
    account.user("late-console", password=True)
    account.user("late-robot", keys=1, in_group=False)
    account.user("late-fine", keys=1, hardware_mfa=True)
    result = account.sweep(make_settings(grace_days=0))
    assert result.report_generated_at == generated
    assert by_user(result) == {
        ROOT: {"root-without-mfa": "violation"},
        "late-console": {CONSOLE_WITHOUT_MFA: "violation"},
        "late-robot": {ACCESS_KEY_WITHOUT_MFA: "violation", NOT_IN_SECURED_GROUP: "enrolled"},
    }
    assert {f.source for f in result.findings if f.user.startswith("late")} == {"live"}
    # three per-user calls for each of the three users missing from the report, none for "old"
    for op in ("iam:GetLoginProfile", "iam:ListAccessKeys", "iam:ListMFADevices"):
        assert account.counter.calls[op] == 3


# --- failures --------------------------------------------------------------------------------------


def test_report_never_ready_is_a_clear_error_and_a_failure_alert(account: Account) -> None:
    hits = account.fail("GenerateCredentialReport", "LimitExceeded")
    with pytest.raises(CredentialReportError, match=f"not ready after {REPORT_ATTEMPTS} attempts") as caught:
        account.sweep()
    assert "\n" not in str(caught.value)
    assert hits[0] == REPORT_ATTEMPTS  # bounded
    assert len(account.sleeps) == REPORT_ATTEMPTS - 1
    assert sum(account.sleeps) < 60
    assert [a.kind for a in account.sink.alerts] == [AlertKind.SWEEP_FAILED]
    assert "not ready" in account.sink.alerts[0].summary


@pytest.mark.parametrize("code", ["ReportInProgress", "ReportExpired", "ReportNotPresent"])
def test_report_not_ready_yet_is_waited_for(account: Account, code: str) -> None:
    account.user("console", password=True)
    account.fail("GetCredentialReport", code, times=2)
    result = account.sweep(make_settings(grace_days=0))
    assert by_user(result)["console"] == {CONSOLE_WITHOUT_MFA: "violation"}
    assert account.counter.calls["iam:GetCredentialReport"] == 3


def test_access_denied_is_raised_with_a_failure_alert(account: Account) -> None:
    account.fail("GetAccountAuthorizationDetails", "AccessDenied")
    with pytest.raises(AccessDeniedError, match="GetAccountAuthorizationDetails"):
        account.sweep()
    assert [a.kind for a in account.sink.alerts] == [AlertKind.SWEEP_FAILED]


def test_a_failed_enrolment_is_reported_and_the_sweep_goes_on(account: Account) -> None:
    account.user("outsider", in_group=False)
    account.user("console", password=True)
    account.fail("AddUserToGroup", "AccessDenied")
    result = account.sweep(make_settings(grace_days=0))
    assert by_user(result)["outsider"] == {NOT_IN_SECURED_GROUP: "failed"}
    assert by_user(result)["console"] == {CONSOLE_WITHOUT_MFA: "violation"}
    assert [f.user for f in result.failures] == ["outsider"]


# --- the digest ------------------------------------------------------------------------------------


def test_digest_counts_and_items_most_severe_first(account: Account) -> None:
    account.user("console", password=True)
    account.user("outsider", password=True, virtual_mfa=True, in_group=False)
    account.sweep(make_settings(grace_days=0))
    (digest,) = account.sink.alerts
    assert digest.kind is AlertKind.SWEEP_DIGEST
    assert dict(digest.counts) == {"root-without-mfa": 1, CONSOLE_WITHOUT_MFA: 1, NOT_IN_SECURED_GROUP: 1}
    assert [i.subject for i in digest.items] == [ROOT, "console", "outsider"]
    assert digest.report_generated_at is not None


def test_quiet_runs(account: Account) -> None:
    account.user("new", password=True)  # in grace
    account.user("bg", tags={"iam-guard:exempt": "true"})
    # moto cannot give its root user an MFA device, so drop the root finding through the summary call
    account.client.meta.events.register(
        "after-call.iam.GetAccountSummary",
        lambda parsed, **_: parsed["SummaryMap"].__setitem__("AccountMFAEnabled", 1),
    )
    account.sweep(make_settings(quiet_runs=True))
    assert account.sink.alerts == []
    account.sweep(make_settings(quiet_runs=False))
    assert [a.kind for a in account.sink.alerts] == [AlertKind.SWEEP_DIGEST]
    account.user("outsider", in_group=False)
    account.sweep(make_settings(quiet_runs=True))
    assert len(account.sink.alerts) == 2


def test_required_permissions_cover_exactly_the_sweep() -> None:
    assert (
        frozenset(
            {
                "iam:GenerateCredentialReport",
                "iam:GetCredentialReport",
                "iam:GetAccountAuthorizationDetails",
                "iam:ListVirtualMFADevices",
                "iam:GetAccountSummary",
                "iam:ListServiceSpecificCredentials",
                "iam:GetAccountPasswordPolicy",
                "iam:UpdateAccountPasswordPolicy",  # ManagePasswordPolicy=true
                "iam:GetLoginProfile",
                "iam:ListAccessKeys",
                "iam:ListMFADevices",
                "iam:AddUserToGroup",
                "iam:UpdateAccessKey",
                "iam:ListSSHPublicKeys",  # SshKeyAuditUsersPerRun > 0
                "iam:UpdateServiceSpecificCredential",  # RemediateServiceCredentials=true
                # the guardrail, healed from the account listing
                "iam:AttachGroupPolicy",
                "iam:CreateGroup",
                "iam:UpdateGroup",
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                # the enforcer's own health
                "events:DescribeRule",
                "events:ListTargetsByRule",
                "lambda:GetFunctionConfiguration",
                "lambda:GetFunctionConcurrency",
                "cloudformation:DescribeStackEvents",
                "iam:GetAccessKeyLastUsed",
            }
        )
        == REQUIRED_PERMISSIONS
    )
