"""``iam-guard audit --format ocsf`` conforms to OCSF 1.1.0's Detection Finding (class 2004): every document
of a real audit (the installed CLI against a moto server) checked against the vendored schema subset, and
the checker shown to catch what it must (a missing required field, a wrong enum, a wrong caption, an
attribute the schema lacks, a profile attribute without its profile)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from tests.command_line.test_operator_contract import iam_guard, seeded  # noqa: F401

from core.model.alerts import Severity
from core.model.findings import Finding
from core.report.ocsf import OCSF_VERSION, to_ocsf

from .schema import problems, schema


def _one() -> dict[str, Any]:
    finding = Finding(
        user="alice",
        finding="console-without-mfa",
        severity=Severity.HIGH,
        status="violation",
        detail="console password, no MFA",
        action="enable MFA",
    )
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    return to_ocsf(
        finding, account_id="123456789012", region="us-east-1", now=now, compliance="FAILED", uid="id-1"
    )


def test_the_fixture_is_the_version_we_write() -> None:
    assert schema()["version"] == OCSF_VERSION
    assert schema()["class"]["uid"] == 2004


def test_one_rendered_finding_conforms() -> None:
    assert problems(_one()) == []


@pytest.mark.e2e
def test_every_finding_of_a_real_audit_conforms(seeded: str) -> None:  # noqa: F811
    run = iam_guard("audit", "--endpoint-url", seeded, "--grace-days", "0", "--format", "ocsf")

    assert run.returncode == 0, run.stderr
    documents = json.loads(run.stdout)
    assert len(documents) >= 5
    assert {d["metadata"]["event_code"] for d in documents} >= {"root-without-mfa", "exempt"}
    assert {i: problems(d) for i, d in enumerate(documents) if problems(d)} == {}


def _broken(change: Any) -> list[str]:
    document = copy.deepcopy(_one())
    change(document)
    return problems(document)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d.pop("time"), "time: required, missing"),
        (lambda d: d["finding_info"].pop("title"), "finding_info.title: required, missing"),
        (lambda d: d["metadata"]["product"].pop("vendor_name"), "metadata.product.vendor_name: required"),
        (lambda d: d.update(severity_id=7), "severity_id: 7 is not one of"),
        (lambda d: d.update(severity="Low"), "severity: 'Low', severity_id 4 is 'High'"),
        (lambda d: d.update(type_uid=200402), "type_uid: 200402, the class says 200401"),
        (lambda d: d.update(colour="red"), "colour: not an attribute"),
        (lambda d: d["resources"][0].update(uid=7), "resources[0].uid: 7 is not a string_t"),
        (lambda d: d.update(time_dt="yesterday"), "time_dt: 'yesterday' does not match"),
        (lambda d: d["metadata"].update(profiles=["datetime"]), "cloud: an attribute of the cloud profile"),
        (lambda d: d["cloud"].pop("provider"), "cloud.provider: required, missing"),
        (lambda d: d["cloud"]["account"].clear(), "cloud.account: needs at least one of"),
    ],
)
def test_the_checker_catches_what_it_must(change: Any, says: str) -> None:
    found = _broken(change)

    assert any(says in p for p in found), found
