"""``iam-guard policy --allowed-vpce-org / --allowed-vpce-account`` as users run it (a subprocess), and the
same settings from the Lambda functions' environment (template parameters AllowedVpceOrgId,
AllowedVpceAccounts)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.model.errors import SettingsError
from core.model.settings import settings_from_env
from core.policy.document import render_policy


def iam_guard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "policy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_flags_reach_the_network_statement() -> None:
    run = iam_guard("--allowed-vpce-org", "o-a1b2c3d4e5", "--allowed-vpce-account", "111122223333")

    assert run.returncode == 0, run.stderr
    (network,) = [
        s for s in json.loads(run.stdout)["Statement"] if s["Sid"] == "DenyAllOutsideAllowedNetworks"
    ]
    assert network["Condition"]["StringNotEqualsIfExists"] == {
        "aws:VpceOrgID": ["o-a1b2c3d4e5"],
        "aws:VpceAccount": ["111122223333"],
    }
    assert "NotIpAddress" not in network["Condition"]  # an org alone is an allowed network


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--allowed-vpce-org", "o-bad"], "is not an organization ID"),
        (["--allowed-vpce-account", "12345"], "is not an AWS account ID"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], says: str) -> None:
    run = iam_guard(*args)

    assert run.returncode == 2
    assert run.stdout == ""
    assert says in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_the_environment_gives_the_same_policy() -> None:
    settings = settings_from_env(
        {
            "IAM_GUARD_ALLOWED_VPCE_ORG": "o-a1b2c3d4e5",
            "IAM_GUARD_ALLOWED_VPCE_ACCOUNTS": "111122223333, 444455556666",
        }
    )

    condition = render_policy(settings)["Statement"][0]["Condition"]["StringNotEqualsIfExists"]
    assert condition["aws:VpceAccount"] == ["111122223333", "444455556666"]
    with pytest.raises(SettingsError, match="no allowed network"):
        settings_from_env({"IAM_GUARD_ALLOWED_VPCE_ORG": ""})
