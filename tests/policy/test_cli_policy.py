"""`iam-guard policy`, run as users run it: a separate process, stdout and stderr and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.model.settings import build_settings
from core.policy.compare import policies_equal
from core.policy.document import render_policy

pytestmark = pytest.mark.slow  # runs the CLI or a function in a process of its own


def iam_guard(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *args], capture_output=True, text=True, timeout=60, check=False
    )


def only_document(stdout: str) -> dict[str, object]:
    """The one JSON document stdout holds (fails if there is anything else)."""
    document, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", f"stdout has more than one JSON document: {stdout[end:]!r}"
    assert isinstance(document, dict)
    return document


@pytest.mark.parametrize("mode", ["strict", "console"])
def test_prints_exactly_one_policy_document(mode: str) -> None:
    run = iam_guard(
        "policy",
        "--allowed-cidr", "203.0.113.0/24",
        "--allowed-cidr", "2001:db8::/32",
        "--allowed-vpce", "vpce-0a1b2c3d4e5f60718",
        "--mfa-mode", mode,
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (0, "")
    expected = render_policy(
        build_settings(
            allowed_cidrs=("203.0.113.0/24", "2001:db8::/32"),
            allowed_vpce_ids=("vpce-0a1b2c3d4e5f60718",),
            mfa_mode=mode,
        )
    )
    assert only_document(run.stdout) == expected


def test_strict_is_the_default() -> None:
    default = only_document(iam_guard("policy", "--allowed-cidr", "203.0.113.0/24").stdout)
    assert "BoolIfExists" in json.dumps(default["Statement"])
    strict = render_policy(build_settings(allowed_cidrs=("203.0.113.0/24",), mfa_mode="strict"))
    assert policies_equal(default, strict)


def test_the_guardrail_flags_render_what_the_settings_render() -> None:
    run = iam_guard(
        "policy",
        "--allowed-cidr", "203.0.113.0/24",
        "--group-name", "Secured",
        "--policy-name", "Guardrail",
        "--exempt-tag", "Team:Exempt",
        "--stack-name", "iam-guard-prod",
        "--max-mfa-age-hours", "12",
    )  # fmt: skip
    assert (run.returncode, run.stderr) == (0, "")
    expected = render_policy(
        build_settings(
            allowed_cidrs=("203.0.113.0/24",),
            group_name="Secured",
            policy_name="Guardrail",
            exempt_tag_key="Team:Exempt",
            stack_name="iam-guard-prod",
            max_mfa_age_hours=12,
        )
    )
    assert only_document(run.stdout) == expected
    sids = {s["Sid"] for s in expected["Statement"]}
    assert {"DenyChangesToIAMGuard", "DenyChangesToIAMGuardKey", "DenyAllExceptSelfServiceWithOldMFA"} <= sids
    assert "arn:*:iam::*:group/Secured" in run.stdout
    assert "Team:Exempt" in run.stdout


def test_without_stack_name_no_self_protection_statement_is_rendered() -> None:
    statements = only_document(iam_guard("policy", "--allowed-cidr", "203.0.113.0/24").stdout)["Statement"]
    assert isinstance(statements, list)
    sids = {s["Sid"] for s in statements}
    assert not {"DenyChangesToIAMGuard", "DenyChangesToIAMGuardKey"} & sids
    assert "DenyIAMGuardTags" in sids  # always rendered


def test_the_output_is_deterministic() -> None:
    args = (
        "policy",
        "--allowed-cidr",
        "203.0.113.0/24",
        "--stack-name",
        "iam-guard",
        "--max-mfa-age-hours",
        "1",
    )
    first, second = iam_guard(*args), iam_guard(*args)
    assert first.returncode == 0
    assert first.stdout == second.stdout


def test_help_says_what_each_new_flag_adds() -> None:
    run = iam_guard("policy", "--help")
    assert run.returncode == 0
    text = " ".join(run.stdout.split())
    for flag, says in [
        ("--stack-name NAME", "adds the statements that deny guarded users everything but reads"),
        ("--max-mfa-age-hours H", "adds a statement that denies all but self-service"),
        ("--exempt-tag KEY", "guarded users may not set, remove or create users with"),
        ("--group-name G", "which --stack-name also protects"),
        ("--policy-name P", "which --stack-name also protects"),
    ]:
        assert f"{flag} " in text
        assert says in text, f"{flag}: {says!r} missing from the help"


def test_no_ip_restriction_renders_the_mfa_gate_only() -> None:
    run = iam_guard("policy", "--no-ip-restriction")
    assert run.returncode == 0
    document = only_document(run.stdout)
    assert "aws:SourceIp" not in json.dumps(document)
    assert "aws:MultiFactorAuthPresent" in json.dumps(document)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--allowed-cidr", "0.0.0.0/0"], "allows every address"),
        (["--allowed-cidr", "::/0"], "allows every address"),
        (["--allowed-cidr", "office"], "not a valid IPv4 or IPv6 CIDR"),
        (["--allowed-cidr", "203.0.113.5/24"], "did you mean 203.0.113.0/24?"),
        ([], "no allowed network"),
        (["--allowed-vpce", "vpc-0a1b2c3d"], "is not a VPC endpoint ID"),
        (["--allowed-cidr", "203.0.113.0/24", "--mfa-mode", "lax"], "invalid choice: 'lax'"),
        (["--allowed-cidr", "203.0.113.0/24", "--no-such-flag"], "unrecognized arguments"),
        ([f"--allowed-cidr=10.{i // 256}.{i % 256}.0/24" for i in range(400)], "over IAM's limit of 6,144"),
        (
            [*(f"--allowed-cidr=10.0.{i}.0/24" for i in range(150)), "--stack-name", "s" * 40],
            "or shorten the stack name (each of its 40 characters counts",
        ),
        (["--no-ip-restriction", "--stack-name", "iam_guard"], "is not a valid stack name"),
        (["--no-ip-restriction", "--stack-name", "g" * 49], "at most 48 characters"),
        (["--no-ip-restriction", "--max-mfa-age-hours", "0"], "max_mfa_age_hours"),
        (["--no-ip-restriction", "--max-mfa-age-hours", "8761"], "less than or equal to 8760"),
        (["--no-ip-restriction", "--max-mfa-age-hours", "12h"], "valid integer"),
        (["--no-ip-restriction", "--exempt-tag", "aws:exempt"], "no 'aws:' prefix"),
        (["--no-ip-restriction", "--group-name", "secured users"], "may contain only"),
        (["--no-ip-restriction", "--stack-name"], "expected one argument"),
    ],
    ids=[
        "everything-v4",
        "everything-v6",
        "malformed",
        "host-bits",
        "empty",
        "vpce",
        "mode",
        "flag",
        "size",
        "size-stack",
        "stack-underscore",
        "stack-long",
        "age-zero",
        "age-year",
        "age-unit",
        "tag",
        "group",
        "stack-missing",
    ],
)
def test_bad_input_exits_2_with_one_line_and_no_traceback(args: list[str], says: str) -> None:
    run = iam_guard("policy", *args)
    assert run.returncode == 2
    assert run.stdout == ""
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert says in run.stderr
    assert "Traceback" not in run.stderr


def test_the_installed_console_script_is_the_same_command() -> None:
    script = Path(sys.executable).with_name("iam-guard")
    assert script.exists(), f"{script} missing: install the package (pip install -e .)"
    run = subprocess.run(
        [str(script), "policy", "--allowed-cidr", "203.0.113.0/24"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0
    assert only_document(run.stdout) == render_policy(build_settings(allowed_cidrs=("203.0.113.0/24",)))


def test_the_docs_example_is_what_the_command_prints() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    command = "`iam-guard policy --allowed-cidr 203.0.113.0/24` prints"
    assert command in page
    example = page.split(command)[1].split("```json\n")[1].split("```")[0]
    run = iam_guard("policy", "--allowed-cidr", "203.0.113.0/24")
    assert example == run.stdout, "docs/policy.md's example is stale: regenerate it with the command"


def test_the_docs_self_protection_example_is_what_the_command_prints() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text()
    command = (
        "`iam-guard policy --allowed-cidr 203.0.113.0/24 --stack-name iam-guard` adds these two statements:"
    )
    assert command in page
    example = json.loads(page.split(command)[1].split("```json\n")[1].split("```")[0])
    run = iam_guard("policy", "--allowed-cidr", "203.0.113.0/24", "--stack-name", "iam-guard")
    statements = only_document(run.stdout)["Statement"]
    assert isinstance(statements, list)
    assert example == [s for s in statements if s["Sid"].startswith("DenyChangesToIAMGuard")]
