"""`iam-guard audit --security-hub`: what it prints, what lands in Security Hub, and when it exits 1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
from tests.report.securityhub.conftest import ACCOUNT_ID, Hub, PartlyFailing
from tests.sweep.conftest import GROUP, add_story_users

import core.aws.securityhub
from cli.main import main
from core.aws.securityhub import SecurityHubGateway
from core.report.securityhub import finding_id

pytestmark = pytest.mark.slow  # runs the CLI or a function in a process of its own


def seed(iam: Any) -> None:
    iam.create_group(GroupName=GROUP)
    add_story_users(iam)


@pytest.fixture
def hub(mock_iam: Any) -> Hub:
    seed(mock_iam)
    return Hub()


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["audit", "--grace-days", "0", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_reports_the_import_and_security_hub_holds_exactly_those_findings(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(capsys, "--format", "json", "--security-hub")

    assert code == 0, err
    document = json.loads(out)  # stdout is still exactly one JSON document
    reported = {finding_id(document["account_id"], f["finding"], f["user"]) for f in document["findings"]}
    assert set(hub.active()) == reported == set(hub.by_id())
    assert document["security_hub"] == {
        "imported": len(reported),
        "archived": 0,
        "failed": 0,
        "reasserted": 0,
    }
    for f in document["findings"]:
        asff = hub.by_id()[finding_id(ACCOUNT_ID, f["finding"], f["user"])]
        assert asff["Severity"]["Original"] == f["severity"]
        assert asff["ProductFields"]["iam-guard/status"] == f["status"]


def test_a_second_run_keeps_the_number_of_findings(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    audit(capsys, "--format", "json", "--security-hub", "--apply")  # enrols: that finding is then fixed
    first = hub.by_id()

    code, out, _ = audit(capsys, "--format", "json", "--security-hub")

    assert code == 0
    assert set(hub.by_id()) == set(first)
    # outsider was enrolled by the first run: its finding is the one archived by the second.
    assert json.loads(out)["security_hub"] == {
        "imported": len(first) - 1,
        "archived": 1,
        "failed": 0,
        "reasserted": 0,
    }
    outsider = hub.by_id()[finding_id(ACCOUNT_ID, "not-in-secured-group", "outsider")]
    assert (outsider["Compliance"]["Status"], outsider["RecordState"]) == ("PASSED", "ARCHIVED")


def test_without_the_flag_json_has_no_security_hub_key(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = audit(capsys, "--format", "json")

    assert code == 0
    assert "security_hub" not in json.loads(out)
    assert hub.findings() == []


def test_the_table_ends_with_the_import_line(hub: Hub, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = audit(capsys, "--security-hub")

    assert code == 0
    lines = out.splitlines()
    assert " users swept" in lines[-2]
    assert lines[-1] == f"Security Hub: {len(hub.findings())} imported, 0 archived, 0 failed"
    assert err == ""


def test_csv_stays_csv_and_the_import_line_goes_to_stderr(
    hub: Hub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = audit(capsys, "--format", "csv", "--security-hub")

    assert code == 0
    header, *rows = out.splitlines()
    assert header.startswith("user,finding,severity,status,")
    assert len(rows) == len(hub.findings())
    assert err.strip() == f"Security Hub: {len(rows)} imported, 0 archived, 0 failed"


def test_a_partial_failure_exits_1_after_the_result_and_names_the_findings(
    hub: Hub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refused = {
        finding_id(ACCOUNT_ID, "console-without-mfa", "alice"),
        finding_id(ACCOUNT_ID, "exempt", "breakglass"),
    }
    client = PartlyFailing(boto3.client("securityhub", region_name="us-east-1"), lambda f: f["Id"] in refused)
    monkeypatch.setattr(core.aws.securityhub, "SecurityHubGateway", lambda: SecurityHubGateway(client))

    code, out, err = audit(capsys, "--format", "json", "--security-hub")

    assert code == 1
    document = json.loads(out)  # the result is printed first, whole
    assert document["security_hub"]["failed"] == 2
    assert document["security_hub"]["imported"] == len(document["findings"]) - 2
    (line,) = err.strip().splitlines()
    assert line.startswith("iam-guard audit: Security Hub: 2 findings rejected: ")
    assert all(fid in line for fid in refused)
    assert refused.isdisjoint(hub.by_id())


# --- the real thing: a subprocess, its own client, against the moto server (``moto_endpoint``) -----------


@pytest.mark.e2e
def test_audit_as_a_subprocess_imports_what_it_prints(moto_endpoint: str) -> None:
    seed(boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1"))
    reader = boto3.client("securityhub", endpoint_url=moto_endpoint, region_name="us-east-1")
    reader.enable_security_hub()
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint}
    command = [sys.executable, "-m", "cli.main", "audit", "--format", "json", "--security-hub", "--dry-run"]

    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert run.returncode == 0, run.stderr
    document = json.loads(run.stdout)
    reported = {finding_id(document["account_id"], f["finding"], f["user"]) for f in document["findings"]}
    stored = {f["Id"]: f for f in reader.get_findings(MaxResults=100)["Findings"]}
    assert set(stored) == reported
    assert document["security_hub"] == {
        "imported": len(reported),
        "archived": 0,
        "failed": 0,
        "reasserted": 0,
    }
    assert {f["RecordState"] for f in stored.values()} == {"ACTIVE"}
    assert {f["AwsAccountId"] for f in stored.values()} == {document["account_id"]}
