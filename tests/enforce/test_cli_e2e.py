"""End to end: the `iam-guard enforce` CLI as a subprocess against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from tests.conftest import EVENTS_DIR
from tests.enforce.conftest import GROUP, POLICY_ARN

pytestmark = pytest.mark.e2e
CLI = [sys.executable, "-m", "cli.main", "enforce"]
CIDR = ["--allowed-cidr", "203.0.113.0/24"]


@pytest.fixture
def iam(moto_endpoint: str) -> Any:
    return boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")


def enforce(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ENDPOINT_URL": endpoint}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


def members(iam: Any) -> list[str]:
    return sorted(u["UserName"] for u in iam.get_group(GroupName=GROUP)["Users"])


def test_create_user_event_enrols_the_user(moto_endpoint: str, iam: Any) -> None:
    iam.create_user(UserName="dev-bob")
    done = enforce(moto_endpoint, "--event", str(EVENTS_DIR / "enforcer-create-user.json"), *CIDR)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["action"], result["user"], result["dry_run"]) == ("enrolled", "dev-bob", False)
    assert {c["change"] for c in result["changes"]} == {
        "policy-created",
        "group-created",
        "policy-attached",
        "added-to-group",
    }
    assert members(iam) == ["dev-bob"]
    assert iam.get_policy(PolicyArn=POLICY_ARN)["Policy"]["DefaultVersionId"] == "v1"


def test_dry_run_changes_nothing(moto_endpoint: str, iam: Any) -> None:
    iam.create_user(UserName="dev-bob")
    done = enforce(
        moto_endpoint, "--event", str(EVENTS_DIR / "enforcer-create-user.json"), *CIDR, "--dry-run"
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["dry_run"] is True
    assert "added-to-group" in {c["change"] for c in result["changes"]}
    assert iam.list_groups()["Groups"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_ignored_event_says_why(moto_endpoint: str, iam: Any) -> None:
    done = enforce(
        moto_endpoint, "--event", str(EVENTS_DIR / "enforcer-failed-call.json"), "--no-ip-restriction"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["reason"] == "the call failed (AccessDenied): nothing changed"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("{not json", "is not JSON"),
        ('{"source": "aws.iam"}', "not an EventBridge event"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    moto_endpoint: str, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)
    done = enforce(moto_endpoint, "--event", str(path), *CIDR)
    assert done.returncode == 2
    assert done.stdout == ""
    assert message in done.stderr
    assert done.stderr.count("\n") == 1


def test_event_from_another_account_is_refused(moto_endpoint: str, iam: Any, tmp_path: Path) -> None:
    event = json.loads((EVENTS_DIR / "enforcer-create-user.json").read_text())
    event["account"] = "999999999999"
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    done = enforce(moto_endpoint, "--event", str(path), *CIDR)
    assert done.returncode == 2
    assert "from account 999999999999" in done.stderr


def test_aws_failure_exits_1_naming_the_call(tmp_path: Path) -> None:
    closed = "http://127.0.0.1:9"  # discard port: nothing listens
    env = {**os.environ, "AWS_ENDPOINT_URL": closed, "AWS_MAX_ATTEMPTS": "1"}
    done = subprocess.run(
        [*CLI, "--event", str(EVENTS_DIR / "enforcer-create-user.json"), *CIDR],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("iam-guard enforce: GetCallerIdentity failed: EndpointConnectionError")
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply to be an EventBridge event"),
        (
            json.dumps(
                {
                    **json.loads((EVENTS_DIR / "enforcer-create-user.json").read_text()),
                    "detail": {
                        **json.loads((EVENTS_DIR / "enforcer-create-user.json").read_text())["detail"],
                        "requestParameters": {"userName": "dev-bob", "tags": "team=payments"},
                    },
                }
            ),
            "requestParameters.tags is not a list",
        ),
    ],
    ids=["100000-nested-arrays", "tags-not-a-list"],
)
def test_malformed_events_exit_2_with_one_line_and_no_traceback(
    moto_endpoint: str, iam: Any, tmp_path: Path, content: str, message: str
) -> None:
    iam.create_user(UserName="dev-bob")
    event = tmp_path / "event.json"
    event.write_text(content)

    done = enforce(moto_endpoint, "--event", str(event), *CIDR)

    assert done.returncode == 2
    assert done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert message in line
    assert "Traceback" not in done.stderr
    assert iam.list_groups()["Groups"] == []  # nothing was created or changed


def test_a_change_to_a_protected_secret_is_tampering_and_the_guardrail_protects_it(
    moto_endpoint: str, iam: Any, tmp_path: Path
) -> None:
    """--protect-secret: the policy the enforcer heals to denies the secret; a call on it is alerted."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/slack-webhook"
    event = json.loads((EVENTS_DIR / "enforcer-create-user.json").read_text())
    event["source"] = "aws.secretsmanager"
    event["detail"].update(
        eventSource="secretsmanager.amazonaws.com",
        eventName="PutSecretValue",
        requestParameters={"secretId": "iam-guard/slack-webhook"},
    )
    path = tmp_path / "put-secret-value.json"
    path.write_text(json.dumps(event))

    done = enforce(moto_endpoint, "--event", str(path), *CIDR, "--protect-secret", secret)

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["action"] == "infrastructure-tampered"
    assert [a["kind"] for a in result["alerts"]] == ["infrastructure-tampered"]
    assert "iam-guard/slack-webhook" in json.dumps(result["alerts"])
