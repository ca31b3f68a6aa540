"""The demo's Security Hub step checks a promise: it fails when the findings do not reach Security Hub."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import core.report.securityhub_import
from cli.main import main
from core.report.securityhub_import import SecurityHubResult

pytestmark = pytest.mark.e2e


@pytest.fixture
def fresh_emulator() -> Iterator[None]:
    """The demo's in-process moto server shares moto's backends with this process: start and leave clean."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    yield
    moto_api_backend.reset()


def test_the_demo_fails_with_one_line_when_the_findings_do_not_reach_security_hub(
    fresh_emulator: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Fault injection: an import that reports success and sends nothing.
    monkeypatch.setattr(
        core.report.securityhub_import, "import_findings", lambda *_a, **_k: SecurityHubResult()
    )

    code = main(["demo"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == [
        "iam-guard demo: IAM Guard did not keep its promise: "
        "Security Hub holds 0 findings, the sweep reported 9"
    ]
