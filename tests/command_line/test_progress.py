"""Progress on stderr only when it is a terminal, never with ``--no-progress`` / ``-q``; stdout untouched.
moto answers STARTED to the first GenerateCredentialReport, so every audit here waits once."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import subprocess

import pytest
from tests.command_line.test_operator_contract import COMMAND, iam_guard, seeded  # noqa: F401

from cli.progress import Progress

pytestmark = pytest.mark.e2e


def audit_on_a_terminal(endpoint: str, *args: str) -> tuple[subprocess.CompletedProcess[bytes], str]:
    """The audit with its stderr on a pseudo-terminal: (the run, what the terminal showed)."""
    leader, follower = pty.openpty()
    try:
        run = subprocess.run(
            [*COMMAND, "audit", "--endpoint-url", endpoint, "--format", "json", *args],
            stdout=subprocess.PIPE,
            stderr=follower,
            timeout=90,
            check=False,
        )
        shown = b""
        while select.select([leader], [], [], 0.2)[0]:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
        return run, shown.decode(errors="replace")
    finally:
        os.close(follower)
        os.close(leader)


def test_a_terminal_sees_the_credential_report_wait_and_stdout_stays_the_result(seeded: str) -> None:  # noqa: F811
    run, shown = audit_on_a_terminal(seeded)

    assert run.returncode == 0
    assert "waiting for IAM to generate the credential report" in shown
    assert json.loads(run.stdout)["users_scanned"] == 4


def test_a_terminal_sees_each_page_of_the_listings(seeded: str) -> None:  # noqa: F811
    run, shown = audit_on_a_terminal(seeded)

    assert run.returncode == 0
    assert "iam-guard: reading IAM: GetAccountAuthorizationDetails page 1" in shown
    assert "reading IAM: List" in shown  # the other listings (MFA devices, ...) too
    assert "reading IAM" not in run.stdout.decode()


@pytest.mark.parametrize("flag", ["--no-progress", "-q", "--quiet"])
def test_no_progress_and_quiet_show_none(seeded: str, flag: str) -> None:  # noqa: F811
    run, shown = audit_on_a_terminal(seeded, flag)

    assert run.returncode == 0
    assert "waiting" not in shown
    assert "reading IAM" not in shown


def test_no_progress_when_stderr_is_not_a_terminal(seeded: str) -> None:  # noqa: F811
    run = iam_guard("audit", "--endpoint-url", seeded, "--format", "json")

    assert run.returncode == 0
    assert run.stderr == ""


def test_the_progress_line_is_cleared_when_the_wait_ends() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream, clock=lambda: 0.0)

    progress.waiting_sleep(0)
    progress.done()

    assert stream.getvalue().endswith("\r\033[K")
    assert "credential report (0 s; up to 45 s)" in stream.getvalue()


def test_a_page_line_is_shown_for_listings_only() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream)

    progress.call("GetCredentialReport", 1, 1)  # the report's wait has its own line
    progress.call("DeleteAccessKey", 1, 2)
    assert stream.getvalue() == ""
    progress.call("ListUsers", 3, 7)
    assert stream.getvalue() == "\r\033[Kiam-guard: reading IAM: ListUsers page 3 (7 calls so far)"


def test_the_call_counter_tells_the_hook_of_every_call(moto_endpoint: str) -> None:
    import boto3

    from core.aws.gateway import CallCounter

    seen: list[tuple[str, int, int]] = []
    client = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    client.create_user(UserName="a")
    CallCounter(on_call=lambda *call: seen.append(call)).attach(client)
    client.list_users()
    client.list_users()
    client.get_user(UserName="a")

    assert seen == [("ListUsers", 1, 1), ("ListUsers", 2, 2), ("GetUser", 1, 3)]
