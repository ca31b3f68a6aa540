"""`iam-guard demo` as a newcomer runs it: a subprocess, no AWS configuration, exit 0, the story told."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from tests.e2e.template_env import function_environment, load_template

from demo.story import function_environment as demo_environment

pytestmark = pytest.mark.e2e

STORY_USERS = ("alice", "bob", "contractor-carol", "old-ci", "breakglass")


def test_the_demo_plays_the_whole_story_and_exits_0() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_PROFILE"] = "a-profile-that-does-not-exist"  # the demo must not read the user's AWS config

    run = subprocess.run(
        [sys.executable, "-m", "cli.main", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert run.returncode == 0, run.stderr[-2000:]
    for user in STORY_USERS:
        assert user in run.stdout
    assert "healed" in run.stdout  # the removal from the group and the policy edit were undone
    assert "== Findings of the sweep" in run.stdout
    assert "Block Kit messages" in run.stdout
    assert "findings imported into Security Hub; re-run updates, no duplicates" in run.stdout
    assert "Traceback" not in run.stderr
    # The IAM calls of the deploy step (custom resource) and the sweep are counted, not lost.
    calls = run.stdout.split("== AWS calls made by IAM Guard, per step", 1)[1]
    deploy_row = next(line.split() for line in calls.splitlines() if line.split()[:1] == ["1"])
    assert int(deploy_row[1]) > 0
    assert "iam:CreatePolicy" in deploy_row[2:] or "iam:CreatePolicy," in deploy_row[2:]
    assert "iam:GetAccountAuthorizationDetails" in calls


def test_the_demo_gives_the_functions_the_variables_the_template_gives_them() -> None:
    template = load_template()
    resources = {"AlertTopic": "topic", "EnforcerRole.Arn": "role", "PolicyResourceRole.Arn": "role2"}
    demo = demo_environment("arn:aws:sns:us-east-1:123456789012:t", "arn:aws:secretsmanager:x")
    for function in ("EnforcerFunction", "SweepFunction", "SlackNotifierFunction"):
        names = set(
            function_environment(template, function, parameters={"AllowedCIDRs": "x"}, resources=resources)
        )
        missing = {n for n in names if n.startswith("IAM_GUARD_")} - set(demo) - {"IAM_GUARD_OWN_ROLE_ARNS"}
        assert not missing, f"the demo does not set {sorted(missing)} for {function}"


def test_the_demo_fails_with_one_line_when_a_promise_is_not_kept(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import handlers.enforcer
    from cli.main import main

    # Fault injection: an enforcer that does nothing. The demo must notice, not just narrate.
    monkeypatch.setattr(handlers.enforcer, "lambda_handler", lambda _event, _context: {"action": "ignored"})

    code = main(["demo"])

    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == ["iam-guard demo: IAM Guard did not keep its promise: alice is not in the group"]
