"""Centralized root access (CIS v7.0 2.1.1), checked once per organisation sweep with the hub's credentials.

IAM's answers come from moto's organisation through ``demo.moto_extras`` (moto has no
ListOrganizationsFeatures), or, for the errors moto cannot produce, from botocore's Stubber in IAM's
documented shape: the gateway, the check, the CLI and the hub's functions run unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from tests.organizations.conftest import MANAGEMENT, Org, build_org, pinned_client
from tests.report.ocsf.schema import problems as ocsf_problems

from cli.main import main
from core.aws import assume as access
from core.aws.gateway import Retrier
from core.aws.iam import IamGateway, OrganizationFeatures
from core.model.alerts import Severity
from core.model.errors import OrganizationSetupError
from core.model.findings import (
    ATTENTION_STATUSES,
    NOT_CHECKED,
    ORG_ROOT_MANAGEMENT_DISABLED,
    ORGANIZATION,
    VIOLATION,
    Finding,
)
from core.model.validation import Fields
from core.org.report import org_digest_alert, organization_interchange, organization_item
from core.org.root_access import (
    PERMISSIONS,
    check_root_access,
    finding_record,
    judge,
    organization_records,
)
from core.org.summary import AccountSummary
from core.org.sweep import OrgSweepResult
from core.report.asff_checks import asff_problems

ORG_ID = "o-a1b2c3d4e5"
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def stubbed(answer: dict[str, Any] | None = None, error: str = "") -> tuple[IamGateway, Stubber]:
    client = boto3.client("iam", region_name="us-east-1")
    stubber = Stubber(client)
    if error:
        stubber.add_client_error(
            "list_organizations_features", service_error_code=error, service_message=f"{error} (answered)"
        )
    else:
        stubber.add_response("list_organizations_features", answer or {}, {})
    stubber.activate()
    return IamGateway(client, retrier=Retrier(max_attempts=3, sleep=lambda _: None)), stubber


# --- the check, on IAM's answers -------------------------------------------------------------------------


def test_root_credentials_management_enabled_is_no_finding() -> None:
    iam, stubber = stubbed(
        {"OrganizationId": ORG_ID, "EnabledFeatures": ["RootCredentialsManagement", "RootSessions"]}
    )

    assert check_root_access(iam) is None
    stubber.assert_no_pending_responses()  # exactly one call
    assert judge(OrganizationFeatures(ORG_ID, frozenset({"RootCredentialsManagement"}))) is None


@pytest.mark.parametrize(
    ("enabled", "sessions"),
    [([], "RootSessions is not enabled either"), (["RootSessions"], "RootSessions is enabled")],
)
def test_root_credentials_management_off_is_a_violation_naming_the_feature(
    enabled: list[str], sessions: str
) -> None:
    iam, stubber = stubbed({"OrganizationId": ORG_ID, "EnabledFeatures": enabled})

    found = check_root_access(iam)

    stubber.assert_no_pending_responses()
    assert found is not None
    assert (found.user, found.finding, found.status) == (
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        VIOLATION,
    )
    assert found.severity is Severity.MEDIUM
    assert "RootCredentialsManagement is not enabled" in found.detail
    assert sessions in found.detail
    assert ORG_ID in found.detail
    assert found.needs_attention
    assert "enable-organizations-root-credentials-management" in found.action


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("OrganizationNotFoundException", "belongs to no organisation"),
        ("OrganizationNotInAllFeaturesModeException", "does not have all features enabled"),
        ("ServiceAccessNotEnabledException", "trusted access for IAM is not enabled"),
        (
            "AccountNotManagementOrDelegatedAdministratorException",
            "neither the management account nor IAM's delegated administrator",
        ),
        ("AccessDenied", "may not call iam:ListOrganizationsFeatures"),
    ],
)
def test_each_error_is_not_checked_with_its_reason_and_never_retried(code: str, reason: str) -> None:
    iam, stubber = stubbed(error=code)

    found = check_root_access(iam)

    stubber.assert_no_pending_responses()  # one answer, one call: none of these is retried
    assert found is not None
    assert (found.user, found.finding, found.status) == (
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        NOT_CHECKED,
    )
    assert reason in found.detail
    assert f"ListOrganizationsFeatures failed: {code}" in found.detail
    assert not found.needs_attention
    assert NOT_CHECKED not in ATTENTION_STATUSES


def test_the_organisation_setup_errors_are_permanent() -> None:
    iam, _ = stubbed(error="ServiceAccessNotEnabledException")
    with pytest.raises(OrganizationSetupError) as raised:
        iam.organizations_features()
    assert not raised.value.retry_in_process
    assert not raised.value.retry_in_lambda
    assert {"iam:ListOrganizationsFeatures"} == PERMISSIONS


def test_moto_answers_from_its_organisation() -> None:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        found = check_root_access(IamGateway(iam))
        assert found is not None
        assert found.status == NOT_CHECKED
        assert "belongs to no organisation" in found.detail

        organizations = boto3.client("organizations", region_name="us-east-1")
        org_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        member = organizations.create_account(Email="member@example.com", AccountName="member")[
            "CreateAccountStatus"
        ]["AccountId"]
        found = check_root_access(IamGateway(iam))
        assert found is not None
        assert found.status == VIOLATION
        assert org_id in found.detail

        iam.enable_organizations_root_sessions()
        found = check_root_access(IamGateway(iam))
        assert found is not None
        assert "RootSessions is enabled" in found.detail

        iam.enable_organizations_root_credentials_management()
        assert check_root_access(IamGateway(iam)) is None

        # A member that is not IAM's delegated administrator may not ask.
        found = check_root_access(IamGateway(pinned_client("iam", member)))
        assert found is not None
        assert found.status == NOT_CHECKED
        assert "neither the management account" in found.detail


# --- what the run shows ----------------------------------------------------------------------------------


def org_result(finding: Finding | None) -> OrgSweepResult:
    return OrgSweepResult(
        ORG_ID,
        (),
        (),
        NOW,
        False,
        organization_findings=(finding,) if finding else (),
        management_account_id=MANAGEMENT,
    )


def violation() -> Finding:
    found = judge(OrganizationFeatures(ORG_ID, frozenset()))
    assert found is not None
    return found


def not_checked() -> Finding:
    iam, _ = stubbed(error="ServiceAccessNotEnabledException")
    found = check_root_access(iam)
    assert found is not None
    return found


def test_a_not_checked_finding_never_wakes_a_quiet_run_nor_raises_the_digest() -> None:
    quiet = [AccountSummary("111111111111", "ok")]
    unchecked = org_result(not_checked())
    assert unchecked.organization_attention == []  # the CLI's quiet-run test
    item = organization_item(Fields(finding_record(not_checked())))
    alert = org_digest_alert(ORG_ID, quiet, swept_at=NOW, organization=[item])
    assert alert.severity is Severity.INFO
    assert item.severity is Severity.INFO
    assert (item.subject, item.finding, item.status) == (
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        NOT_CHECKED,
    )
    assert "trusted access for IAM is not enabled" in item.action

    assert org_result(violation()).organization_attention == [violation()]
    loud = org_digest_alert(
        ORG_ID, quiet, swept_at=NOW, organization=[organization_item(Fields(finding_record(violation())))]
    )
    assert loud.severity is Severity.MEDIUM
    assert loud.items[0].finding == ORG_ROOT_MANAGEMENT_DISABLED
    assert "RootCredentialsManagement is not enabled" in loud.items[0].action


@pytest.mark.parametrize(
    ("make", "compliance", "ocsf"), [(violation, "FAILED", "FAIL"), (not_checked, "NOT_AVAILABLE", "MANUAL")]
)
def test_asff_and_ocsf_put_the_finding_on_the_management_account(
    make: Any, compliance: str, ocsf: str
) -> None:
    result = org_result(make())

    (asff,) = organization_interchange(result, "asff", region="us-east-1")
    assert asff["Id"] == f"iam-guard/{MANAGEMENT}/{ORG_ROOT_MANAGEMENT_DISABLED}/organization"
    assert asff["AwsAccountId"] == MANAGEMENT
    assert asff["Resources"][0]["Type"] == "AwsAccount"
    assert asff["Compliance"]["Status"] == compliance
    assert asff["Compliance"]["RelatedRequirements"] == ["CIS AWS Foundations Benchmark v7.0.0/2.1.1"]
    assert asff["Title"] == "Organization without centralized root access"
    assert asff_problems(asff) == []
    (document,) = organization_interchange(result, "ocsf", region="us-east-1")
    assert ocsf_problems(document) == []  # OCSF 1.1.0's schema, as every finding written
    assert document["status_code"] == ocsf
    assert document["finding_info"]["uid"] == asff["Id"]
    assert document["resources"][0] == {
        "type": "AwsAccount",
        "uid": MANAGEMENT,
        "region": "us-east-1",
        "cloud_partition": "aws",
    }


# --- the CLI and the hub's functions ---------------------------------------------------------------------


@pytest.fixture
def feature_calls(monkeypatch: pytest.MonkeyPatch, sts_calls: dict[str, Any]) -> dict[str, Any]:
    """Counts the ListOrganizationsFeatures calls of the CLI's session; ``error`` makes IAM answer it."""
    seen: dict[str, Any] = {"calls": 0, "error": ""}
    watched = access.new_session

    def session() -> Any:
        made = watched()

        def on_call(**_: Any) -> None:
            seen["calls"] += 1
            if seen["error"]:
                raise ClientError(
                    {"Error": {"Code": seen["error"], "Message": "answered"}}, "ListOrganizationsFeatures"
                )

        made.events.register("provide-client-params.iam.ListOrganizationsFeatures", on_call)
        return made

    monkeypatch.setattr(access, "new_session", session)
    return seen


def audit_org(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["audit", "--org", "--format", "json", "--grace-days", "0", *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def ours(findings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in findings if f["finding"] == ORG_ROOT_MANAGEMENT_DISABLED]


@pytest.mark.slow
def test_audit_org_json_shows_the_organisations_finding_once(
    small_org: Org, feature_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, err = audit_org(capsys, "--dry-run")

    assert code == 0, err
    assert feature_calls["calls"] == 1  # one call for the whole organisation
    (found,) = ours(document["findings"])
    assert document["organization_findings"] == [found]
    assert found["account_id"] == MANAGEMENT
    assert (found["user"], found["status"], found["severity"]) == (ORGANIZATION, VIOLATION, "medium")
    assert "RootCredentialsManagement is not enabled" in found["detail"]
    assert all(ours(entry["findings"]) == [] for entry in document["accounts"])  # never a member's
    # A violation like any other: --fail-on counts it (here alone, through the --finding filter).
    code, document, err = audit_org(
        capsys, "--dry-run", "--finding", ORG_ROOT_MANAGEMENT_DISABLED, "--fail-on", "medium"
    )
    assert code == 3, err
    assert [f["finding"] for f in document["findings"]] == [ORG_ROOT_MANAGEMENT_DISABLED]

    boto3.client("iam", region_name="us-east-1").enable_organizations_root_credentials_management()
    code, document, err = audit_org(capsys, "--dry-run")
    assert code == 0, err
    assert ours(document["findings"]) == []
    assert document["organization_findings"] == []
    assert feature_calls["calls"] == 3


@pytest.mark.slow
def test_audit_org_shows_not_checked_with_the_reason_and_exits_as_before(
    small_org: Org, feature_calls: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    feature_calls["error"] = "ServiceAccessNotEnabledException"

    code, document, err = audit_org(capsys, "--dry-run", "--fail-on", "info", "--status", NOT_CHECKED)

    (found,) = document["organization_findings"]
    assert found["status"] == NOT_CHECKED
    assert "trusted access for IAM is not enabled" in found["detail"]
    assert [f["status"] for f in document["findings"]] == [NOT_CHECKED]  # --status keeps it alone
    assert code == 0, err  # not-checked is no failure: --fail-on counts it not


@pytest.mark.slow
def test_the_single_account_audit_never_checks_the_organisation(
    small_org: Org,
    feature_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    original = IamGateway.organizations_features

    def watched(self: IamGateway) -> OrganizationFeatures:  # every caller of the gateway, whatever client
        calls.append("called")
        return original(self)

    monkeypatch.setattr(IamGateway, "organizations_features", watched)

    code = main(["audit", "--dry-run", "--format", "json", "--grace-days", "0"])
    out, err = capsys.readouterr()

    assert code in (0, 1), err
    document = json.loads(out)
    assert ours(document["findings"]) == []
    assert "organization_findings" not in document
    assert calls == []
    assert feature_calls["calls"] == 0


@pytest.fixture
def hub_org(monkeypatch: pytest.MonkeyPatch) -> Iterator[Org]:
    from handlers import common, org_list_accounts

    monkeypatch.setenv("IAM_GUARD_IP_RESTRICTION", "false")
    with mock_aws():
        common.reset_caches()
        org_list_accounts.organizations.cache_clear()
        org_list_accounts.iam.cache_clear()
        yield build_org(2)
    common.reset_caches()


@pytest.mark.slow
def test_the_hub_list_step_carries_the_finding_to_the_digest(
    hub_org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.model.alerts import RecordingSink
    from demo.lambda_context import FakeLambdaContext
    from handlers import org_digest, org_list_accounts

    targets = org_list_accounts.list_accounts_handler({}, FakeLambdaContext("org-list-accounts"))

    (record,) = targets["organization_findings"]
    assert (record["user"], record["finding"], record["status"]) == (
        ORGANIZATION,
        ORG_ROOT_MANAGEMENT_DISABLED,
        VIOLATION,
    )
    recorder = RecordingSink()
    monkeypatch.setattr(org_digest, "alert_sink", lambda: recorder)
    org_digest.digest_handler({"targets": json.loads(json.dumps(targets))}, FakeLambdaContext("org-digest"))
    (alert,) = recorder.alerts
    assert alert.severity is Severity.MEDIUM
    assert [i.finding for i in alert.items] == [ORG_ROOT_MANAGEMENT_DISABLED]

    boto3.client("iam", region_name="us-east-1").enable_organizations_root_credentials_management()
    targets = org_list_accounts.list_accounts_handler({}, FakeLambdaContext("org-list-accounts"))
    assert targets["organization_findings"] == []


def test_the_digest_refuses_a_malformed_organisation_record() -> None:
    from core.model.errors import InvalidEventError
    from demo.lambda_context import FakeLambdaContext
    from handlers import org_digest

    bad = {"targets": {"organization_id": ORG_ID, "accounts": [], "organization_findings": [{"user": 1}]}}
    with pytest.raises(InvalidEventError):
        org_digest.digest_handler(bad, FakeLambdaContext("org-digest"))


def test_records_are_what_the_check_found() -> None:
    iam, _ = stubbed({"OrganizationId": ORG_ID, "EnabledFeatures": ["RootCredentialsManagement"]})
    assert organization_records(iam) == []
    iam, _ = stubbed({"OrganizationId": ORG_ID, "EnabledFeatures": []})
    (record,) = organization_records(iam)
    assert record["attention"] is True
    assert record == finding_record(violation())


@pytest.mark.slow
@pytest.mark.parametrize(("error", "digests"), [("ServiceAccessNotEnabledException", 0), ("", 1)])
def test_a_quiet_cli_run_is_woken_by_a_violation_never_by_not_checked(
    small_org: Org,
    feature_calls: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    error: str,
    digests: int,
) -> None:
    from dataclasses import replace

    from cli.main import build_parser
    from cli.options import settings_from_args
    from cli.org import run_audit
    from core.model.alerts import RecordingSink

    feature_calls["error"] = error
    # Every member left out: only the organisation's own finding can make the quiet run speak.
    excluded = [flag for account in small_org.members for flag in ("--exclude-account", account)]
    args = build_parser("audit").parse_args(["audit", "--org", "--format", "json", *excluded])
    settings = replace(settings_from_args(args, dry_run=True, ip_restriction=False), quiet_runs=True)
    sink = RecordingSink()

    code = run_audit(args, settings, sink)

    capsys.readouterr()
    assert code == 0
    assert feature_calls["calls"] == 1
    assert len(sink.alerts) == digests
    if digests:
        (alert,) = sink.alerts
        assert alert.severity is Severity.MEDIUM
        assert [i.finding for i in alert.items] == [ORG_ROOT_MANAGEMENT_DISABLED]
