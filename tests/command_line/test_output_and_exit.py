"""``--fail-on`` (exit 3), the output filters, ``--output FILE`` and ``account_id`` on every finding:
the installed ``iam-guard audit`` as a subprocess against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.command_line.test_operator_contract import (  # noqa: F401 - seeded is a fixture
    assert_one_line,
    free_port,
    iam_guard,
    seeded,
)

pytestmark = pytest.mark.e2e

# The story account (tests.sweep.conftest.add_story_users), grace 0: root-without-mfa critical violation,
# console-without-mfa / access-key-without-mfa high violations, not-in-secured-group medium would-enrol,
# breakglass info exempt.


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["--fail-on", "critical"], 3),
        (["--fail-on", "high", "--finding", "not-in-secured-group"], 0),  # medium: below the threshold
        (["--fail-on", "medium", "--finding", "not-in-secured-group"], 3),  # would-enrol counts
        (["--fail-on", "info", "--status", "exempt"], 0),  # exempt never counts
        ([], 0),
    ],
)
def test_fail_on_counts_printed_findings_at_or_above_it_that_need_action(
    seeded: str,  # noqa: F811
    args: list[str],
    code: int,
) -> None:
    run = iam_guard("audit", "--endpoint-url", seeded, "--grace-days", "0", "--format", "json", *args)

    assert run.returncode == code, run.stderr
    assert json.loads(run.stdout)["findings"] is not None


def test_filters_change_what_is_printed_not_what_is_alerted(seeded: str) -> None:  # noqa: F811
    everything = json.loads(
        iam_guard("audit", "--endpoint-url", seeded, "--grace-days", "0", "--format", "json").stdout
    )

    run = iam_guard(
        "audit", "--endpoint-url", seeded, "--grace-days", "0", "--format", "json", "--severity", "high",
        "--severity", "critical",
    )  # fmt: skip

    doc = json.loads(run.stdout)
    assert {f["severity"] for f in doc["findings"]} == {"high", "critical"}
    assert len(doc["findings"]) < len(everything["findings"])
    assert doc["alerts_sent"] == everything["alerts_sent"]


def test_every_finding_carries_its_account(seeded: str) -> None:  # noqa: F811
    doc = json.loads(iam_guard("audit", "--endpoint-url", seeded, "--format", "json").stdout)

    assert doc["findings"]
    assert {f["account_id"] for f in doc["findings"]} == {doc["account_id"]}


def test_output_file_gets_the_result_and_stdout_stays_empty(seeded: str, tmp_path: Path) -> None:  # noqa: F811
    target = tmp_path / "audit.json"

    run = iam_guard("audit", "--endpoint-url", seeded, "--format", "json", "--output", str(target))

    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    assert json.loads(target.read_text())["users_scanned"] == 4
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"]  # no temporary file left


@pytest.mark.parametrize("where", ["missing-dir", "a-directory", "read-only"])
def test_an_unwritable_output_is_exit_2_before_any_aws_call(tmp_path: Path, where: str) -> None:
    target = {
        "missing-dir": tmp_path / "nope" / "out.json",
        "a-directory": tmp_path,
        "read-only": tmp_path / "ro" / "out.json",
    }[where]
    if where == "read-only":
        target.parent.mkdir()
        target.parent.chmod(0o500)
        if os.access(target.parent, os.W_OK):  # root writes anywhere
            pytest.skip("running as a user who can write a read-only directory")
    closed = f"http://127.0.0.1:{free_port()}"  # an AWS call would fail with exit 1

    run = iam_guard("audit", "--endpoint-url", closed, "--output", str(target))

    assert run.returncode == 2
    assert "--output" in assert_one_line(run)
    assert not target.is_file()
