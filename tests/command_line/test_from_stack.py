"""``--from-stack``: the CLI takes the deployed stack's guardrail and sweep settings (issue 22), never its
write switches or delivery; the installed ``iam-guard`` as a subprocess against a moto server."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from tests.command_line.test_operator_contract import assert_one_line, iam_guard, seeded  # noqa: F401
from tests.e2e.template_env import load_template

from core.model.settings import ENV_VARS
from core.model.stack_settings import IDENTIFYING, NOT_TAKEN, STACK_PARAMETERS, settings_of_stack

pytestmark = pytest.mark.e2e

STACK = "iam-guard"
DEPLOYED = {
    "AllowedCIDRs": "203.0.113.0/24",
    "IpRestriction": "true",
    "MfaMode": "console",
    "GroupName": "IAMGuardSecuredUsers",
    "PolicyName": "IAMGuardSecureIAMPolicy",
    "ExemptUsers": "outsider",
    "ExemptTagKey": "iam-guard:exempt",
    "GraceDays": "0",
    "UnusedDays": "30",
    "KeyMaxAgeDays": "60",
    "DryRun": "false",  # the stack enforces; the CLI must still not write without --apply
    "Remediate": "true",
    "RemediateUnusedKeys": "true",
}


def deploy_stack(endpoint: str, name: str, parameters: dict[str, str]) -> None:
    """A stack with these parameter values (as CloudFormation stores them) and one inert resource."""
    template = {
        "Parameters": {key: {"Type": "String"} for key in parameters},
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
    }
    boto3.client("cloudformation", endpoint_url=endpoint, region_name="us-east-1").create_stack(
        StackName=name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )


@pytest.fixture
def deployed(seeded: str) -> str:  # noqa: F811 - the fixture imported above
    deploy_stack(seeded, STACK, DEPLOYED)
    return seeded


def audit_json(endpoint: str, *args: str, env: dict[str, str] | None = None) -> tuple[Any, dict[str, Any]]:
    run = iam_guard("audit", "--endpoint-url", endpoint, "--format", "json", *args, env=env)
    assert run.returncode in (0, 1), run.stderr
    return run, json.loads(run.stdout)


def test_audit_takes_the_stacks_settings_but_not_its_write_switches(deployed: str) -> None:
    _, doc = audit_json(deployed, "--from-stack", STACK, env={"AWS_REGION": "eu-west-1"})

    statuses = {(f["user"], f["finding"]): f["status"] for f in doc["findings"]}
    assert statuses[("outsider", "exempt")] == "exempt"  # ExemptUsers, not would-enrol
    assert ("outsider", "not-in-secured-group") not in statuses
    assert (doc["grace_days"], doc["unused_days"], doc["key_max_age_days"]) == (0, 30, 60)
    assert doc["dry_run"] is True  # the stack's DryRun=false is never taken
    assert (doc["remediate"], doc["remediate_unused_keys"]) == (False, False)


def test_flags_given_override_the_stack(deployed: str) -> None:
    _, doc = audit_json(deployed, "--from-stack", STACK, "--grace-days", "5", "--exempt-user", "nobody")

    assert doc["grace_days"] == 5
    statuses = {(f["user"], f["finding"]): f["status"] for f in doc["findings"]}
    assert statuses[("outsider", "not-in-secured-group")] == "would-enrol"


def test_the_environment_variable_names_the_stack(deployed: str) -> None:
    _, doc = audit_json(deployed, env={"IAM_GUARD_FROM_STACK": STACK})

    assert doc["grace_days"] == 0


def test_policy_from_stack_renders_the_deployed_policy(deployed: str) -> None:
    run = iam_guard("policy", "--endpoint-url", deployed, "--from-stack", STACK)
    by_flags = iam_guard(
        "policy", "--allowed-cidr", "203.0.113.0/24", "--mfa-mode", "console", "--stack-name", STACK
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout == by_flags.stdout
    assert "DenyChangesToIAMGuard" in run.stdout  # the stack's name is its --stack-name


def test_a_stack_that_is_not_there_is_one_line_exit_2(seeded: str) -> None:  # noqa: F811
    run = iam_guard("audit", "--endpoint-url", seeded, "--from-stack", "no-such-stack")

    assert run.returncode == 2
    assert run.stdout == ""
    assert "no-such-stack" in assert_one_line(run)


def test_a_stack_that_is_not_iam_guard_is_one_line_exit_2(seeded: str) -> None:  # noqa: F811
    deploy_stack(seeded, "someone-else", {"BucketName": "x"})

    run = iam_guard("audit", "--endpoint-url", seeded, "--from-stack", "someone-else", "--apply")

    assert run.returncode == 2
    assert "not an IAM Guard stack" in assert_one_line(run)


# --- the mapping, held to template.yaml ------------------------------------------------------------------


def test_every_parameter_taken_is_the_one_the_functions_read_as_that_setting() -> None:
    template = load_template()
    environment = template["Globals"]["Function"]["Environment"]["Variables"]
    by_parameter = {v["Ref"]: k for k, v in environment.items() if isinstance(v, dict) and "Ref" in v}

    for parameter, field in STACK_PARAMETERS.items():
        assert parameter in template["Parameters"], parameter
        assert ENV_VARS[by_parameter[parameter]] == field, parameter
    assert set(IDENTIFYING) <= set(template["Parameters"])
    assert not NOT_TAKEN & set(STACK_PARAMETERS)


def test_a_value_iam_guard_refuses_is_one_line_naming_the_stack() -> None:
    from core.model.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="stack s: "):
        settings_of_stack("s", {**DEPLOYED, "GraceDays": "999"})


# --- the alert channels' secrets become --protect-secret (issue 22) -------------------------------------

SLACK = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/slack-AbCdEf"
TEAMS = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/teams-AbCdEf"
OTHER = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/other-AbCdEf"
WITH_CHANNELS = {**DEPLOYED, "SlackSecretArn": SLACK, "TeamsWebhookSecretArn": TEAMS, "WebhookSecretArn": ""}


def _policy(*args: str) -> str:
    run = iam_guard("policy", *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def _by_flags(*secrets: str) -> str:
    flags = [f for secret in secrets for f in ("--protect-secret", secret)]
    return _policy("--allowed-cidr", "203.0.113.0/24", "--mfa-mode", "console", "--stack-name", STACK, *flags)


def test_policy_from_stack_protects_the_stacks_channel_secrets(seeded: str) -> None:  # noqa: F811
    deploy_stack(seeded, STACK, WITH_CHANNELS)

    rendered = _policy("--endpoint-url", seeded, "--from-stack", STACK)

    assert rendered == _by_flags(SLACK, TEAMS)
    assert "DenyChangesToProtectedSecrets" in rendered
    assert SLACK in rendered
    assert TEAMS in rendered


def test_protect_secret_given_overrides_the_stacks_secrets(seeded: str) -> None:  # noqa: F811
    deploy_stack(seeded, STACK, WITH_CHANNELS)

    rendered = _policy("--endpoint-url", seeded, "--from-stack", STACK, "--protect-secret", OTHER)

    assert rendered == _by_flags(OTHER)
    assert SLACK not in rendered


def test_a_stack_without_channel_secrets_protects_none(deployed: str) -> None:
    """An older template without the Teams/webhook parameters, and SlackSecretArn absent: nothing added."""
    rendered = _policy("--endpoint-url", deployed, "--from-stack", STACK)

    assert "DenyChangesToProtectedSecrets" not in rendered
    assert rendered == _by_flags()


def test_a_malformed_secret_in_the_stack_is_one_line_exit_2(seeded: str) -> None:  # noqa: F811
    deploy_stack(seeded, STACK, {**DEPLOYED, "SlackSecretArn": "not-an-arn"})

    run = iam_guard("policy", "--endpoint-url", seeded, "--from-stack", STACK)

    assert run.returncode == 2
    assert f"stack {STACK}" in assert_one_line(run)


def test_audit_from_stack_finds_no_drift_in_a_guardrail_that_protects_the_stacks_secrets(
    seeded: str,  # noqa: F811
) -> None:
    """The deployed guardrail protects the Slack secret: --from-stack must render it so, or it would report
    drift (and --heal-guardrail --apply would remove the protection)."""
    from core.aws.iam import IamGateway
    from core.guardrail.apply import ensure_guardrail
    from core.model.settings import build_settings

    deploy_stack(seeded, STACK, WITH_CHANNELS)
    iam = boto3.client("iam", endpoint_url=seeded, region_name="us-east-1")
    stack_settings = build_settings(
        allowed_cidrs=("203.0.113.0/24",),
        mfa_mode="console",
        stack_name=STACK,
        slack_secret_arn=SLACK,
        protect_secrets=(TEAMS,),
    )
    ensure_guardrail(IamGateway(iam), stack_settings, "123456789012")

    _, doc = audit_json(seeded, "--from-stack", STACK)
    _, without = audit_json(seeded, "--from-stack", STACK, "--protect-secret", OTHER)

    assert "guardrail-drift" not in {f["finding"] for f in doc["findings"]}
    assert "guardrail-drift" in {f["finding"] for f in without["findings"]}  # the check can fail


def test_enforce_from_stack_watches_the_stacks_channel_secrets(seeded: str, tmp_path: Any) -> None:  # noqa: F811
    from tests.conftest import EVENTS_DIR

    deploy_stack(seeded, STACK, WITH_CHANNELS)
    event = json.loads((EVENTS_DIR / "enforcer-create-user.json").read_text())
    event["source"] = "aws.secretsmanager"
    event["detail"].update(
        eventSource="secretsmanager.amazonaws.com",
        eventName="PutSecretValue",
        requestParameters={"secretId": SLACK},
    )
    path = tmp_path / "put-secret-value.json"
    path.write_text(json.dumps(event))

    run = iam_guard("enforce", "--endpoint-url", seeded, "--event", str(path), "--from-stack", STACK)

    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["action"] == "infrastructure-tampered"


# --- respond --------------------------------------------------------------------------------------------


def test_respond_from_stack_takes_the_stacks_group_and_exemptions(moto_endpoint: str) -> None:
    iam = boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1")
    iam.create_group(GroupName="StackGroup", Path="/iam-guard/")
    for user in ("build-bot", "breakglass"):
        iam.create_user(UserName=user)
    keys = {
        u: iam.create_access_key(UserName=u)["AccessKey"]["AccessKeyId"] for u in ("build-bot", "breakglass")
    }
    deploy_stack(moto_endpoint, STACK, {**DEPLOYED, "GroupName": "StackGroup", "ExemptUsers": "breakglass"})

    def respond(user: str) -> list[str]:
        run = iam_guard(
            "respond",
            "--endpoint-url",
            moto_endpoint,
            "--access-key-id",
            keys[user],
            "--apply",
            "--from-stack",
            STACK,
        )
        assert run.returncode == 0, run.stderr
        return [a["change"] for a in json.loads(run.stdout)["actions"]]

    assert "added-to-group" in respond("build-bot")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="build-bot")["Groups"]] == [
        "StackGroup"
    ]
    assert "added-to-group" not in respond("breakglass")  # the stack's ExemptUsers
    assert iam.list_groups_for_user(UserName="breakglass")["Groups"] == []


def test_respond_from_a_stack_that_is_not_there_is_one_line_exit_2(moto_endpoint: str) -> None:
    run = iam_guard(
        "respond",
        "--endpoint-url",
        moto_endpoint,
        "--access-key-id",
        "AKIAABCDEFGHIJKLMNOP",
        "--from-stack",
        "no-such-stack",
    )

    assert run.returncode == 2
    assert "no-such-stack" in assert_one_line(run)


SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:iam-guard/"
CHANNELS = {
    "SlackSecretArn": f"{SECRET}slack-webhook",
    "SlackBotTokenSecretArn": f"{SECRET}slack-bot",
    "TeamsWebhookSecretArn": f"{SECRET}teams",
    "WebhookSecretArn": f"{SECRET}webhook",
}


def test_from_stack_protects_every_channel_secret_and_reads_the_notifications_table(seeded: str) -> None:  # noqa: F811
    template = {
        "Parameters": {key: {"Type": "String"} for key in {**DEPLOYED, **CHANNELS}},
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"NotificationsTableName": {"Value": f"{STACK}_notifications"}},
    }
    boto3.client("cloudformation", endpoint_url=seeded, region_name="us-east-1").create_stack(
        StackName=STACK,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in {**DEPLOYED, **CHANNELS}.items()],
    )
    run = iam_guard("policy", "--endpoint-url", seeded, "--from-stack", STACK)
    protect = [flag for arn in CHANNELS.values() for flag in ("--protect-secret", arn)]
    by_flags = iam_guard(
        "policy", "--allowed-cidr", "203.0.113.0/24", "--mfa-mode", "console", "--stack-name", STACK, *protect
    )

    assert run.returncode == 0, run.stderr
    assert run.stdout == by_flags.stdout
    for arn in CHANNELS.values():  # each as given and with Secrets Manager's suffix
        assert f'"{arn}"' in run.stdout
        assert f'"{arn}-??????"' in run.stdout

    settings = settings_of_stack(
        STACK, {**DEPLOYED, **CHANNELS}, {"NotificationsTableName": f"{STACK}_notifications"}
    )
    assert settings["notifications_table"] == f"{STACK}_notifications"  # --send-notifications' --state-table
    assert "slack_secret_arn" not in settings  # protected, never delivered to: delivery stays a flag
    assert "webhook_secret_arn" not in settings
