"""The operator CLI's contract (issue 22), driving the installed ``iam-guard`` as a subprocess against a moto
server on 127.0.0.1, a closed port, a silent port and a garbling server: read-only ``audit`` unless
``--apply``, the AWS CLI's connection flags, one line and a non-zero exit instead of a traceback."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.sweep.conftest import GROUP, add_story_users

from core.aws.iam import IamGateway
from core.guardrail.apply import ensure_guardrail
from core.model.settings import build_settings

pytestmark = pytest.mark.e2e

POLICY = "arn:aws:iam::123456789012:policy/iam-guard/IAMGuardSecureIAMPolicy"
INSTALLED = shutil.which("iam-guard", path=str(Path(sys.executable).parent))
COMMAND = [INSTALLED] if INSTALLED else [sys.executable, "-m", "cli.main"]


def iam_guard(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assert_one_line(run: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


@pytest.fixture
def seeded(moto_endpoint: str) -> str:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    ensure_guardrail(IamGateway(iam), build_settings(ip_restriction=False), "123456789012")
    add_story_users(iam)
    return moto_endpoint


def account_state(endpoint: str) -> dict[str, Any]:
    """Everything an IAM write by the audit could change: members, attachments, key states."""
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    keys = {
        u["UserName"]: sorted(
            k["Status"] for k in iam.list_access_keys(UserName=u["UserName"])["AccessKeyMetadata"]
        )
        for u in iam.list_users()["Users"]
    }
    return {
        "members": sorted(u["UserName"] for u in iam.get_group(GroupName=GROUP)["Users"]),
        "attached": [
            p["PolicyArn"] for p in iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"]
        ],
        "keys": keys,
    }


# --- audit is read-only unless --apply ------------------------------------------------------------------


def test_audit_without_apply_writes_nothing_and_says_what_it_would_do(seeded: str) -> None:
    iam = boto3.client("iam", endpoint_url=seeded, region_name="us-east-1")
    iam.detach_group_policy(GroupName=GROUP, PolicyArn=POLICY)
    before = account_state(seeded)

    run = iam_guard(
        "audit", "--endpoint-url", seeded, "--format", "json", "--grace-days", "0",
        "--remediate", "--remediate-unused-keys", "--no-ip-restriction", "--heal-guardrail",
    )  # fmt: skip

    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["dry_run"] is True
    statuses = {(f["user"], f["finding"]): f["status"] for f in doc["findings"]}
    assert statuses[("outsider", "not-in-secured-group")] == "would-enrol"
    assert statuses[("robot", "access-key-without-mfa")] == "would-remediate"
    assert doc["guardrail"] == "would-heal"
    assert account_state(seeded) == before


def test_audit_apply_enrols_and_reports_dry_run_false(seeded: str) -> None:
    run = iam_guard("audit", "--endpoint-url", seeded, "--format", "json", "--apply")

    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert doc["dry_run"] is False
    assert {(f["user"], f["status"]) for f in doc["findings"] if f["finding"] == "not-in-secured-group"} == {
        ("outsider", "enrolled")
    }
    assert "outsider" in account_state(seeded)["members"]


def test_dry_run_is_still_accepted_and_means_read_only(seeded: str) -> None:
    before = account_state(seeded)

    run = iam_guard("audit", "--endpoint-url", seeded, "--format", "json", "--dry-run")

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["dry_run"] is True
    assert account_state(seeded) == before


def test_apply_with_dry_run_is_one_line_and_exit_2_before_any_call(seeded: str) -> None:
    before = account_state(seeded)

    run = iam_guard("audit", "--endpoint-url", seeded, "--apply", "--dry-run")

    assert run.returncode == 2
    assert run.stdout == ""
    assert "--apply" in assert_one_line(run)
    assert account_state(seeded) == before


# --- AWS conventions ------------------------------------------------------------------------------------


def test_version() -> None:
    run = iam_guard("--version")

    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("iam-guard 0.")


def test_endpoint_url_flag_reaches_the_server_without_aws_endpoint_url(seeded: str) -> None:
    run = iam_guard("audit", "--endpoint-url", seeded, "--format", "json", env={"AWS_ENDPOINT_URL": ""})

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["users_scanned"] == 4


@pytest.mark.parametrize(
    ("env", "args"),
    [({"AWS_PROFILE": "nosuch"}, []), ({}, ["--profile", "nosuch"])],
    ids=["AWS_PROFILE", "--profile"],
)
def test_an_unknown_profile_is_one_line_exit_2(env: dict[str, str], args: list[str]) -> None:
    run = iam_guard("audit", *args, env=env)

    assert run.returncode == 2
    assert run.stdout == ""
    assert "nosuch" in assert_one_line(run)


@pytest.mark.parametrize(
    ("flag", "value"), [("--endpoint-url", "garbage"), ("--region", "mars"), ("--read-timeout", "0")]
)
def test_a_bad_connection_flag_is_one_line_exit_2(flag: str, value: str) -> None:
    run = iam_guard("audit", flag, value)

    assert run.returncode == 2
    assert flag in assert_one_line(run)


# --- the network: bounded, one line ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_refused_endpoint_fails_fast_in_one_line_naming_it() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()

    run = iam_guard("audit", "--endpoint-url", endpoint)

    assert run.returncode == 1
    assert endpoint in assert_one_line(run)
    assert time.monotonic() - started < 15


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers. The backlog holds every connection a run
    opens (the six account-wide reads at once, three attempts each): a full one would refuse to connect,
    and the run would fail on a connect timeout instead of the read timeout this endpoint is for."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_silent_endpoint_times_out_after_three_attempts(silent_endpoint: str) -> None:
    started = time.monotonic()

    run = iam_guard("audit", "--endpoint-url", silent_endpoint, "--read-timeout", "1")

    elapsed = time.monotonic() - started
    line = assert_one_line(run)
    assert run.returncode == 1
    assert "ReadTimeoutError" in line
    assert silent_endpoint in line
    assert 3 <= elapsed < 12  # three attempts of 1 s each (and backoff), not botocore's 60 s x 5 x 6


@contextlib.contextmanager
def answering(answer: Callable[[bytes], tuple[int, bytes]]) -> Iterator[str]:
    """A loopback endpoint whose every POST gets ``answer(request body)``: (HTTP status, body)."""

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            status, body = answer(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=["garbled", "empty"])
def garbling_endpoint(request: pytest.FixtureRequest) -> Iterator[str]:
    body = b"<<<\x00 not xml" if request.param == "garbled" else b""
    with answering(lambda _request: (200, body)) as endpoint:
        yield endpoint


def test_an_empty_or_garbled_answer_is_one_line_exit_1(garbling_endpoint: str) -> None:
    run = iam_guard("audit", "--endpoint-url", garbling_endpoint)

    assert run.returncode == 1
    assert "not an AWS response" in assert_one_line(run)


def test_a_closed_stdout_exits_quietly(seeded: str) -> None:
    process = subprocess.Popen(
        [*COMMAND, "audit", "--endpoint-url", seeded, "--format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    process.stdout.close()  # `| head` that has already left

    _, err = process.communicate(timeout=90)

    assert "Traceback" not in err
    assert err.strip() == ""
    assert process.returncode != 0


def test_no_credentials_is_one_line_exit_1() -> None:
    empty = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""}
    env = {**empty, "AWS_EC2_METADATA_DISABLED": "true"}

    run = iam_guard("audit", "--endpoint-url", f"http://127.0.0.1:{free_port()}", env=env)

    assert run.returncode == 1
    assert "no AWS credentials" in assert_one_line(run)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("where", ["stdout", "--output"])
def test_a_full_disk_is_one_line_exit_1(seeded: str, where: str) -> None:
    args = ["audit", "--endpoint-url", seeded, "--format", "json"]
    with Path("/dev/full").open("w") as full:
        if where == "stdout":
            run = subprocess.run(
                [*COMMAND, *args], stdout=full, stderr=subprocess.PIPE, text=True, timeout=90, check=False
            )
        else:
            run = iam_guard(*args, "--output", "/dev/full")

    assert run.returncode == 1
    assert "No space left on device" in assert_one_line(run)
    assert Path("/dev/full").is_char_device()


@pytest.fixture
def report_never_ready() -> Iterator[tuple[str, threading.Event]]:
    """IAM building the credential report forever; every other read refused. The event: the first poll."""
    polled = threading.Event()
    building = (
        b'<GenerateCredentialReportResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
        b"<GenerateCredentialReportResult><State>INPROGRESS</State></GenerateCredentialReportResult>"
        b"</GenerateCredentialReportResponse>"
    )
    refused = (
        b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error>"
        b"</ErrorResponse>"
    )

    def answer(request: bytes) -> tuple[int, bytes]:
        if b"Action=GenerateCredentialReport" not in request:
            return 403, refused
        polled.set()
        return 200, building

    with answering(answer) as endpoint:
        yield endpoint, polled


def test_ctrl_c_while_the_report_is_polled_exits_at_once_in_one_line(
    report_never_ready: tuple[str, threading.Event],
) -> None:
    # The account-wide reads go out at once; the report's poll is in a worker thread, sleeping between
    # polls for up to 45 s. An operator's Ctrl-C must not wait for it.
    endpoint, polled = report_never_ready
    audit = subprocess.Popen(
        [*COMMAND, "audit", "--endpoint-url", endpoint],
        env=os.environ.copy(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert polled.wait(30)
    time.sleep(0.5)  # within the wait between two polls
    interrupted = time.monotonic()
    audit.send_signal(signal.SIGINT)
    out, err = audit.communicate(timeout=60)

    assert time.monotonic() - interrupted < 5
    assert audit.returncode == 130
    assert "Traceback" not in err
    assert err.strip().splitlines() == ["iam-guard: interrupted"]
    assert out == ""
