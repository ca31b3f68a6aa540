"""The ASFF mapping, pure: one IAM Guard finding -> one Security Hub finding, and the ASFF rules."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ParamValidationError

from core.aws.securityhub import Target, default_securityhub_client
from core.model import findings as kinds
from core.model.alerts import Severity
from core.model.findings import Finding
from core.report.asff_checks import NEVER_WRITTEN, REQUIRED_FIELDS, asff_problems, batches
from core.report.securityhub import (
    BEST_PRACTICES_TYPE,
    CIS_TYPE,
    COMPLIANCE_STATUS,
    MAX_DESCRIPTION,
    MAX_TITLE,
    SECURITY_HUB_CONTROLS,
    archived,
    asff_timestamp,
    compliance_status,
    finding_id,
    to_asff,
)

ACCOUNT = "123456789012"
TARGET = Target(ACCOUNT, "us-east-1")
CIS7 = kinds.CIS_V7_REQUIREMENT  # "CIS AWS Foundations Benchmark v7.0.0"
NOW = datetime(2026, 11, 29, 3, 34, 43, 123456, tzinfo=UTC)
ALICE_ARN = f"arn:aws:iam::{ACCOUNT}:user/engineering/alice"


def finding(kind: str = kinds.CONSOLE_WITHOUT_MFA, user: str = "alice", status: str = "violation") -> Finding:
    return Finding(
        user,
        kind,
        kinds.SEVERITY.get(kind, Severity.MEDIUM),
        status,
        since=NOW - timedelta(days=30),
        deadline=NOW - timedelta(days=23),
        detail="console password, 0 active access keys, no MFA",
        action="Ask the user to register an MFA device, or remove the console password.",
    )


def test_a_user_finding_has_every_required_field_and_the_users_resource() -> None:
    asff = to_asff(finding(), TARGET, now=NOW, user_arn=ALICE_ARN)

    assert set(REQUIRED_FIELDS) <= set(asff)
    assert asff_problems(asff) == []
    assert asff["SchemaVersion"] == "2018-10-08"
    assert asff["Id"] == f"iam-guard/{ACCOUNT}/console-without-mfa/alice"
    assert asff["ProductArn"] == f"arn:aws:securityhub:us-east-1:{ACCOUNT}:product/{ACCOUNT}/default"
    assert asff["GeneratorId"] == "iam-guard/console-without-mfa"
    assert asff["AwsAccountId"] == ACCOUNT
    assert asff["CreatedAt"] == asff["UpdatedAt"] == "2026-11-29T03:34:43.123Z"  # new: first seen now
    assert asff["RecordState"] == "ACTIVE"
    assert asff["Resources"] == [
        {
            "Type": "AwsIamUser",
            "Id": ALICE_ARN,  # the real ARN, path included
            "Partition": "aws",
            "Region": "us-east-1",
            "Details": {"AwsIamUser": {"UserName": "alice"}},
        }
    ]
    assert "alice" in asff["Title"]
    assert "console password, 0 active access keys, no MFA" in asff["Description"]
    assert asff["Remediation"]["Recommendation"]["Text"].startswith("Ask the user")


def test_severity_and_types_go_through_finding_provider_fields_too() -> None:
    asff = to_asff(finding(), TARGET, now=NOW)

    assert asff["Severity"] == {"Label": "HIGH", "Original": "high"}
    assert asff["FindingProviderFields"] == {
        "Severity": {"Label": "HIGH", "Original": "high"},
        "Types": [CIS_TYPE],
    }
    assert asff["Types"] == [CIS_TYPE]


@pytest.mark.parametrize(
    ("severity", "label"),
    [
        (Severity.CRITICAL, "CRITICAL"),
        (Severity.HIGH, "HIGH"),
        (Severity.MEDIUM, "MEDIUM"),
        (Severity.LOW, "LOW"),
        (Severity.INFO, "INFORMATIONAL"),
    ],
)
def test_severity_labels(severity: Severity, label: str) -> None:
    asff = to_asff(Finding("alice", "some-kind", severity, "violation"), TARGET, now=NOW)

    assert asff["Severity"]["Label"] == asff["FindingProviderFields"]["Severity"]["Label"] == label
    assert asff_problems(asff) == []


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("violation", "would-enrol", "would-remediate", "would-heal", "drift"), "FAILED"),
        (("grace",), "WARNING"),
        (("exempt", "enrolled", "remediated", "healed", "resolved"), "PASSED"),
        (("failed",), "NOT_AVAILABLE"),
    ],
)
def test_compliance_status_from_the_findings_status(statuses: tuple[str, ...], expected: str) -> None:
    for status in statuses:
        assert to_asff(finding(status=status), TARGET, now=NOW)["Compliance"]["Status"] == expected


def test_every_status_the_sweep_can_give_has_a_compliance_status() -> None:
    # core.model.findings orders every status it knows; a status added there must be mapped here too.
    assert set(kinds._STATUS_ORDER) <= set(COMPLIANCE_STATUS)
    assert compliance_status("something-new") == "NOT_AVAILABLE"  # never a false PASSED


@pytest.mark.parametrize(
    ("kind", "controls"),
    [
        (kinds.CONSOLE_WITHOUT_MFA, ["IAM.5", "IAM.19", f"{CIS7}/2.10"]),
        (kinds.ACCESS_KEY_WITHOUT_MFA, ["IAM.19"]),
        (kinds.ROOT_WITHOUT_MFA, ["IAM.9", f"{CIS7}/2.5"]),
        ("root-access-key", ["IAM.4", f"{CIS7}/2.4"]),
        ("console-unused", ["IAM.8", "IAM.22", f"{CIS7}/2.11"]),
        ("access-key-unused", ["IAM.8", "IAM.22", f"{CIS7}/2.11"]),
        ("access-key-old", ["IAM.3", f"{CIS7}/2.12"]),
        (
            "password-policy-weak",
            [*(f"IAM.{n}" for n in (7, 10, 11, 12, 13, 14, 15, 16, 17)), f"{CIS7}/2.8", f"{CIS7}/2.9"],
        ),
    ],
)
def test_related_requirements_name_the_security_hub_controls_then_cis_v7(
    kind: str, controls: list[str]
) -> None:
    user = kinds.ROOT if kind.startswith("root") else "alice"
    asff = to_asff(finding(kind, user), TARGET, now=NOW)

    assert asff["Compliance"]["RelatedRequirements"] == controls


@pytest.mark.parametrize("kind", ["service-credential-active", "service-credential-no-expiry"])
def test_a_finding_no_control_checks_sends_no_requirement(kind: str) -> None:
    asff = to_asff(finding(kind), TARGET, now=NOW)

    assert "RelatedRequirements" not in asff["Compliance"]
    assert asff["Types"] == [BEST_PRACTICES_TYPE]


def test_two_active_keys_answers_a_cis_recommendation_but_no_security_hub_control() -> None:
    asff = to_asff(finding("two-active-keys"), TARGET, now=NOW)

    assert "RelatedRequirements" not in asff["Compliance"]
    assert asff["Types"] == [CIS_TYPE]  # CIS 1.13, from core.model.findings.CONTROLS
    assert "two-active-keys" not in SECURITY_HUB_CONTROLS


@pytest.mark.parametrize("kind", [kinds.NOT_IN_SECURED_GROUP, kinds.EXEMPT])
def test_kinds_without_a_control_name_none(kind: str) -> None:
    asff = to_asff(finding(kind), TARGET, now=NOW)

    assert "RelatedRequirements" not in asff["Compliance"]
    assert asff["Types"] == [BEST_PRACTICES_TYPE]
    assert kind not in SECURITY_HUB_CONTROLS


def test_the_root_user_is_the_account_resource() -> None:
    asff = to_asff(finding(kinds.ROOT_WITHOUT_MFA, kinds.ROOT), TARGET, now=NOW)

    assert asff["Id"] == f"iam-guard/{ACCOUNT}/root-without-mfa/root"
    assert asff["Resources"] == [
        {"Type": "AwsAccount", "Id": f"AWS::::Account:{ACCOUNT}", "Partition": "aws", "Region": "us-east-1"}
    ]
    assert asff["Severity"]["Label"] == "CRITICAL"
    assert "<root_account>" not in asff["Title"]


def test_a_finding_about_the_account_itself_names_the_account() -> None:
    asff = to_asff(finding("guardrail-drift", ""), TARGET, now=NOW)

    assert asff["Id"] == f"iam-guard/{ACCOUNT}/guardrail-drift/account"
    assert asff["Resources"][0]["Type"] == "AwsAccount"
    assert asff_problems(asff) == []


def test_without_a_known_arn_the_users_arn_is_built_from_the_account_and_partition() -> None:
    target = Target(ACCOUNT, "cn-north-1", "aws-cn")

    asff = to_asff(finding(), target, now=NOW)

    assert asff["Resources"][0]["Id"] == f"arn:aws-cn:iam::{ACCOUNT}:user/alice"
    assert asff["ProductArn"] == f"arn:aws-cn:securityhub:cn-north-1:{ACCOUNT}:product/{ACCOUNT}/default"


def test_a_re_import_keeps_the_first_seen_time() -> None:
    first_seen = "2026-01-01T00:00:00.000Z"

    asff = to_asff(finding(), TARGET, now=NOW, created_at=first_seen)

    assert asff["CreatedAt"] == asff["FirstObservedAt"] == first_seen
    assert asff["UpdatedAt"] == asff["LastObservedAt"] == asff_timestamp(NOW)


def test_ids_are_stable_per_account_kind_and_user() -> None:
    one = to_asff(finding(), TARGET, now=NOW)["Id"]
    later = to_asff(finding(status="grace"), TARGET, now=NOW + timedelta(days=1))["Id"]

    assert one == later == finding_id(ACCOUNT, kinds.CONSOLE_WITHOUT_MFA, "alice")
    assert finding_id("210987654321", kinds.CONSOLE_WITHOUT_MFA, "alice") != one
    assert finding_id(ACCOUNT, kinds.NOT_IN_SECURED_GROUP, "alice") != one


def test_long_text_is_clipped_to_the_asff_limits() -> None:
    long = Finding("alice", kinds.CONSOLE_WITHOUT_MFA, Severity.HIGH, "violation", detail="x" * 5000)

    asff = to_asff(long, TARGET, now=NOW)

    assert len(asff["Description"]) == MAX_DESCRIPTION
    assert len(asff["Title"]) <= MAX_TITLE
    assert asff_problems(asff) == []


def test_iam_guard_never_writes_the_triage_fields() -> None:
    asff = to_asff(finding(), TARGET, now=NOW)

    assert not set(NEVER_WRITTEN) & set(asff)


# --- archiving ---------------------------------------------------------------------------------------


def read_back() -> dict[str, Any]:
    """A finding as GetFindings returns it: Security Hub's and the triagers' fields added."""
    asff = to_asff(finding(), TARGET, now=NOW - timedelta(days=3), user_arn=ALICE_ARN)
    return {
        **copy.deepcopy(asff),
        "Severity": {"Label": "HIGH", "Normalized": 70, "Original": "high"},
        "Workflow": {"Status": "NOTIFIED"},
        "WorkflowState": "NEW",
        "Note": {"Text": "asked alice", "UpdatedBy": "secops", "UpdatedAt": "2026-11-28T00:00:00Z"},
        "UserDefinedFields": {"ticket": "SEC-1"},
        "VerificationState": "TRUE_POSITIVE",
        "ProductFields": {
            **asff["ProductFields"],
            "aws/securityhub/FindingId": "arn:aws:securityhub:...",
            "aws/securityhub/ProductName": "Default",
        },
        "ProcessedAt": "2026-11-26T00:00:00Z",
    }


def test_a_finding_that_is_gone_is_archived_as_passed_without_the_triagers_fields() -> None:
    existing = read_back()

    gone = archived(existing, now=NOW)

    assert gone["Compliance"] == {
        "Status": "PASSED",
        "RelatedRequirements": ["IAM.5", "IAM.19", f"{CIS7}/2.10"],
    }
    assert gone["RecordState"] == "ARCHIVED"
    assert gone["UpdatedAt"] == asff_timestamp(NOW)
    assert gone["CreatedAt"] == existing["CreatedAt"]  # first seen stays
    assert gone["Id"] == existing["Id"]
    assert gone["Resources"] == existing["Resources"]
    assert not set(NEVER_WRITTEN) & set(gone)
    assert "ProcessedAt" not in gone
    assert gone["Severity"] == {"Label": "HIGH", "Original": "high"}  # no Normalized: Security Hub's
    assert all(key.startswith("iam-guard/") for key in gone["ProductFields"])
    assert gone["ProductFields"]["iam-guard/status"] == "resolved"
    assert asff_problems(gone) == []


# --- the rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_a_missing_required_field_is_a_problem(field: str) -> None:
    asff = to_asff(finding(), TARGET, now=NOW)
    del asff[field]

    assert f"missing {field}" in asff_problems(asff)


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"AwsAccountId": "12345"}, "12-digit"),
        ({"SchemaVersion": "2020-01-01"}, "SchemaVersion"),
        ({"CreatedAt": "yesterday"}, "RFC 3339"),
        ({"Severity": {"Label": "SEVERE"}}, "Severity.Label"),
        ({"Types": ["MFA/Missing"]}, "namespace/category/classifier"),
        ({"Resources": [{"Type": "AwsIamUser"}]}, "Type and an Id"),
        ({"Title": "t" * 300}, "Title longer"),
        ({"Compliance": {"Status": "OK"}}, "Compliance.Status"),
        ({"ProductArn": "arn:aws:securityhub:us-east-1::product/aws/guardduty"}, "default product"),
        ({"Workflow": {"Status": "RESOLVED"}}, "writes Workflow"),
        ({"Note": {"Text": "x"}}, "writes Note"),
        ({"Description": "d" * 250_000}, "larger than 240 KB"),
    ],
)
def test_broken_asff_is_caught_before_sending(change: dict[str, Any], problem: str) -> None:
    asff = {**to_asff(finding(), TARGET, now=NOW), **change}

    assert any(problem in p for p in asff_problems(asff)), asff_problems(asff)


def test_botocore_validates_the_findings_before_they_leave(mock_iam: Any) -> None:
    """The production client keeps botocore's parameter validation: a finding without a Title never
    reaches the wire (Security Hub would refuse it; moto would not)."""
    client = default_securityhub_client()
    asff = to_asff(finding(), TARGET, now=NOW)
    del asff["Title"]

    assert client.meta.config.parameter_validation is True
    with pytest.raises(ParamValidationError, match="Title"):
        client.batch_import_findings(Findings=[asff])


def test_every_produced_finding_fits_the_service_model() -> None:
    from botocore.session import get_session
    from botocore.validate import validate_parameters

    shape = get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape
    produced = [
        to_asff(finding(kind, kinds.ROOT if kind == kinds.ROOT_WITHOUT_MFA else "u"), TARGET, now=NOW)
        for kind in kinds.SEVERITY
    ]
    produced.append(archived(read_back(), now=NOW))

    validate_parameters({"Findings": produced}, shape)  # raises ParamValidationError on any mismatch
    assert all(asff_problems(a) == [] for a in produced)


# --- batching ----------------------------------------------------------------------------------------


def test_250_findings_make_three_batches_of_at_most_100() -> None:
    many = [to_asff(finding(user=f"user{i:03d}"), TARGET, now=NOW) for i in range(250)]

    sizes = [len(b) for b in batches(many)]

    assert sizes == [100, 100, 50]


def test_batches_also_stay_under_the_byte_limit() -> None:
    many = [to_asff(finding(user=f"user{i:03d}"), TARGET, now=NOW) for i in range(10)]
    one = len(json.dumps(many[0], separators=(",", ":")))

    split = list(batches(many, max_bytes=3 * one + 10))

    assert [len(b) for b in split] == [3, 3, 3, 1]
    assert [f["Id"] for b in split for f in b] == [f["Id"] for f in many]  # order kept, nothing lost
