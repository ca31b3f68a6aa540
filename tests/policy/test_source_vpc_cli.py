"""``iam-guard policy --allowed-vpc`` as users run it (a subprocess), the same setting from the functions'
environment (template parameter AllowedVPCs), and bad VPC IDs refused in one line."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from core.model.errors import SettingsError
from core.model.settings import settings_from_env
from core.policy.document import render_policy

pytestmark = pytest.mark.slow  # a process of ours

VPC = "vpc-0a1b2c3d4e5f60718"


def iam_guard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", "policy", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_flag_reaches_the_network_statement_and_a_vpc_alone_is_a_network() -> None:
    run = iam_guard("--allowed-vpc", VPC, "--allowed-vpc", "vpc-1234abcd", "--allowed-vpc", VPC)

    assert run.returncode == 0, run.stderr
    (network,) = [
        s for s in json.loads(run.stdout)["Statement"] if s["Sid"] == "DenyAllOutsideAllowedNetworks"
    ]
    assert network["Condition"]["StringNotEqualsIfExists"] == {"aws:SourceVpc": [VPC, "vpc-1234abcd"]}
    assert "NotIpAddress" not in network["Condition"]


@pytest.mark.parametrize("bad", ["vpc-123", "vpce-0a1b2c3d4e5f60718", "VPC-1234ABCD", "vpc-1234abcd5"])
def test_a_bad_vpc_id_is_one_line_exit_2(bad: str) -> None:
    run = iam_guard("--allowed-vpc", bad)

    assert run.returncode == 2
    assert run.stdout == ""
    assert "is not a VPC ID" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1


def test_the_environment_gives_the_same_policy() -> None:
    settings = settings_from_env({"IAM_GUARD_ALLOWED_VPCS": f" {VPC}, vpc-1234abcd "})

    condition = render_policy(settings)["Statement"][0]["Condition"]["StringNotEqualsIfExists"]
    assert condition == {"aws:SourceVpc": [VPC, "vpc-1234abcd"]}
    with pytest.raises(SettingsError, match="no allowed network"):
        settings_from_env({"IAM_GUARD_ALLOWED_VPCS": ""})
