"""``audit --format ocsf`` (OCSF 1.1 Detection Findings) and ``--format asff`` (Security Hub's format):
one JSON list, one entry per finding, the same stable IDs as the Security Hub import."""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.command_line.test_operator_contract import iam_guard, seeded  # noqa: F401

from core.report.asff_checks import asff_problems
from core.report.securityhub import finding_id

pytestmark = pytest.mark.e2e

# What OCSF 1.1 requires of every Detection Finding (class 2004), and what Prowler's readers look at.
OCSF_REQUIRED = {
    "activity_id", "category_uid", "class_uid", "finding_info", "metadata", "severity_id", "time", "type_uid",
}  # fmt: skip


def formats(endpoint: str, fmt: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    plain = json.loads(
        iam_guard("audit", "--endpoint-url", endpoint, "--grace-days", "0", "--format", "json").stdout
    )
    run = iam_guard(
        "audit", "--endpoint-url", endpoint, "--grace-days", "0", "--format", fmt, "--region", "eu-west-1"
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), plain


def test_asff_is_one_valid_finding_per_finding_with_the_import_ids(seeded: str) -> None:  # noqa: F811
    asff, plain = formats(seeded, "asff")

    assert [a["Id"] for a in asff] == [
        finding_id(plain["account_id"], f["finding"], f["user"]) for f in plain["findings"]
    ]
    assert all(asff_problems(a) == [] for a in asff)
    assert {a["Resources"][0]["Region"] for a in asff} == {"eu-west-1"}  # --region: the regional fields


def test_ocsf_is_one_detection_finding_per_finding(seeded: str) -> None:  # noqa: F811
    ocsf, plain = formats(seeded, "ocsf")

    assert len(ocsf) == len(plain["findings"])
    for document, finding in zip(ocsf, plain["findings"], strict=True):
        assert document.keys() >= OCSF_REQUIRED
        assert (document["class_uid"], document["category_uid"], document["type_uid"]) == (2004, 2, 200401)
        assert document["finding_info"]["uid"] == finding_id(
            plain["account_id"], finding["finding"], finding["user"]
        )
        assert document["cloud"]["account"]["uid"] == plain["account_id"]
        assert document["unmapped"]["iam_guard_status"] == finding["status"]
    by_kind = {d["metadata"]["event_code"]: d for d in ocsf}
    assert (by_kind["root-without-mfa"]["severity_id"], by_kind["root-without-mfa"]["status_code"]) == (
        5,
        "FAIL",
    )
    assert (by_kind["exempt"]["severity_id"], by_kind["exempt"]["status_code"]) == (1, "PASS")
