"""Fixtures shared by every test area (the harness: see tests/harness/__init__.py). Areas keep their
own fixtures in their folder's conftest.py."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.harness.metrics import EmittedMetrics, pin_lambda_metrics

from demo.moto_extras import install as install_moto_extras
from demo.slack_receiver import SlackReceiver

pytest_plugins = ["tests.template.call_recorder"]  # least privilege, proven on every recorded AWS call

ROOT = Path(__file__).resolve().parents[1]
EVENTS_DIR = ROOT / "events"

# Powertools reads these when handlers.common creates its Logger/Metrics/Tracer, which may happen while
# test modules are collected, before any fixture runs: set them before any test module is imported.
for _name, _value in {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "IAMGuardTests",
    "POWERTOOLS_SERVICE_NAME": "iam-guard",
}.items():
    os.environ.setdefault(_name, _value)

install_moto_extras()  # moto's IAM lacks ListServiceSpecificCredentials: emulated (demo.moto_extras)


@pytest.fixture(autouse=True)
def fake_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may reach a real AWS account: fake credentials, us-east-1, no shared config files."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "IAMGuardTests")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "iam-guard")


def load_event(name: str) -> dict[str, Any]:
    """A sample event from events/ (the same files `sam local invoke -e` uses)."""
    data: dict[str, Any] = json.loads((EVENTS_DIR / name).read_text())
    return data


@pytest.fixture
def mock_iam() -> Iterator[Any]:
    """A moto-backed IAM client (in-process)."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        yield boto3.client("iam", region_name="us-east-1")


@pytest.fixture
def moto_moves_group_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto ignores an ``UpdateGroup`` that changes only the path (IAM moves the group): make it move it.

    A gap of the emulator, not of IAM Guard: ``tests/aws/test_iam_adapter_update_group.py`` proves with
    botocore's Stubber what IAM Guard sends; this lets the moto tests see IAM's outcome."""
    from moto.iam.models import IAMBackend

    original = IAMBackend.update_group

    def update_group(self: Any, group_name: str, new_group_name: str | None, new_path: str | None) -> None:
        if new_group_name or not new_path:
            original(self, group_name, new_group_name, new_path)
            return
        self.get_group(group_name).path = new_path

    monkeypatch.setattr(IAMBackend, "update_group", update_group)


# --- the harness: one of each stand-in -------------------------------------------------------------


@pytest.fixture
def lambda_metrics(monkeypatch: pytest.MonkeyPatch) -> EmittedMetrics:
    """The handlers' Powertools metrics in this test's namespace and service, and every EMF document
    they publish (``.points(name)``)."""
    return pin_lambda_metrics(
        monkeypatch,
        namespace=os.environ["POWERTOOLS_METRICS_NAMESPACE"],
        service=os.environ["POWERTOOLS_SERVICE_NAME"],
    )


@pytest.fixture
def receiver() -> Iterator[SlackReceiver]:
    """A local HTTP receiver on 127.0.0.1: ``url`` is a Slack webhook (its secret part ``SeCrEtToKeN123``,
    easy to spot if it leaks), ``response_url`` a CloudFormation pre-signed response URL."""
    with SlackReceiver(token="SeCrEtToKeN123") as local:
        yield local


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's threaded server on 127.0.0.1 (``demo.emulator.start_moto_server``), one per test process:
    its endpoint URL. Use ``moto_endpoint`` to get it emptied around a test."""
    from demo.emulator import start_moto_server

    server, endpoint = start_moto_server()
    try:
        yield endpoint
    finally:
        server.stop()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()  # loopback only


@pytest.fixture
def moto_endpoint(moto_server: str) -> Iterator[str]:
    """The moto server, empty: its state is this process's moto backends, shared with in-process
    ``mock_aws`` tests, so it is reset before and after each test."""
    reset_moto(moto_server)
    yield moto_server
    reset_moto(moto_server)


# ``make unit``: every test that needs no moto server, no npm engine and no subprocess of ours.
SERVER_FIXTURES = frozenset({"moto_server", "moto_endpoint"})
NOT_UNIT_MARKERS = ("engine", "e2e", "slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_server = SERVER_FIXTURES & set(getattr(item, "fixturenames", ()))
        if not uses_server and not any(item.get_closest_marker(m) for m in NOT_UNIT_MARKERS):
            item.add_marker(pytest.mark.unit)
