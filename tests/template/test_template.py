"""template.yaml against the code: roles grant exactly what each job declares, the rule matches the events
the enforcer handles, every setting is a validated parameter passed to every function."""

from __future__ import annotations

import importlib
import re
import tomllib
from typing import Any

import pytest
from packaging.requirements import Requirement
from tests.template.template_model import (
    FUNCTIONS,
    HUB_FUNCTIONS,
    ROOT,
    TEST_PARAMETERS,
    actions_of,
    as_list,
    condition_holds,
    load_template,
    physical_value,
    resolve,
    role_of,
    role_policies,
    statements,
)

from core.aws import securityhub
from core.enforce import actions as enforcement
from core.enforce import events
from core.guardrail import custom_resource
from core.model.settings import ENV_VARS, Settings, build_settings
from core.report import dead_letter, slack, webhook
from core.report import sns as notify
from core.sweep import owner_delivery
from core.sweep import run as sweep

ALERTS = notify.REQUIRED_PERMISSIONS | notify.ENCRYPTED_TOPIC_KEY_PERMISSIONS
# What each function's "job" policy must grant: what its code declares, nothing more.
DECLARED: dict[str, frozenset[str]] = {
    # Teams' and the webhook's secrets only when set; the owners' channels likewise
    # (tests/template/test_template_channels.py); guardduty:GetFindings only with GuardDutyFindings=true
    # (tests/enforce/test_guardduty.py).
    "EnforcerFunction": enforcement.REQUIRED_PERMISSIONS
    | enforcement.GUARDDUTY_PERMISSIONS
    | ALERTS
    | webhook.REQUIRED_PERMISSIONS
    | dead_letter.REQUIRED_PERMISSIONS,
    # Security Hub's two actions only with SecurityHub=true
    # (tests/report/securityhub/test_template_security_hub.py).
    "SweepFunction": sweep.REQUIRED_PERMISSIONS
    | ALERTS
    | securityhub.REQUIRED_PERMISSIONS
    | owner_delivery.REQUIRED_PERMISSIONS
    | webhook.REQUIRED_PERMISSIONS
    | dead_letter.REQUIRED_PERMISSIONS,
    "SlackNotifierFunction": slack.REQUIRED_PERMISSIONS,
    "PolicyResourceFunction": custom_resource.REQUIRED_PERMISSIONS | ALERTS,
}
# What AWS needs around any function: logs to its own log group, its dead-letter queue. (X-Ray traces:
# TracingPolicy, only when tracing is on.)
PLUMBING = {"logs:CreateLogStream", "logs:PutLogEvents"}
# IAM actions without resource-level permissions (Service Authorization Reference): "*" is the only scope.
NO_RESOURCE_LEVEL = {
    "iam:GenerateCredentialReport",
    "iam:GetCredentialReport",
    "iam:GetAccountAuthorizationDetails",
    "iam:GetAccountSummary",
    "iam:ListVirtualMFADevices",
    "sts:GetAccessKeyInfo",
    "cloudtrail:LookupEvents",
    # GuardDuty's GetFindings has no resource type; the Health API's event type cannot be matched by the
    # IAM engine to Health's real event ARNs (region "global"), so it is granted on "*" (read-only).
    "health:DescribeAffectedEntities",
    "health:DescribeEventDetails",
    "guardduty:GetFindings",
    "iam:GetAccountPasswordPolicy",
    # With AllUsers the listing names no user: granted on "*" (an assumption, docs/status.md).
    "iam:ListServiceSpecificCredentials",
    "iam:UpdateAccountPasswordPolicy",
    "ses:GetAccount",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
# Parameter for each setting (sns_topic_arn is the stack's own topic).
PARAMETER_OF = {
    "IAM_GUARD_ALLOWED_CIDRS": "AllowedCIDRs",
    "IAM_GUARD_ALLOWED_VPCE_IDS": "AllowedVpceIds",
    "IAM_GUARD_ALLOWED_VPCE_ORG": "AllowedVpceOrgId",
    "IAM_GUARD_ALLOWED_VPCE_ACCOUNTS": "AllowedVpceAccounts",
    "IAM_GUARD_ALLOWED_VPCS": "AllowedVPCs",
    "IAM_GUARD_IP_RESTRICTION": "IpRestriction",
    "IAM_GUARD_MFA_MODE": "MfaMode",
    "IAM_GUARD_GROUP_NAME": "GroupName",
    "IAM_GUARD_POLICY_NAME": "PolicyName",
    "IAM_GUARD_EXEMPT_USERS": "ExemptUsers",
    "IAM_GUARD_EXEMPT_TAG_KEY": "ExemptTagKey",
    "IAM_GUARD_GRACE_DAYS": "GraceDays",
    "IAM_GUARD_DRY_RUN": "DryRun",
    "IAM_GUARD_REMEDIATE": "Remediate",
    "IAM_GUARD_QUIET_RUNS": "QuietRuns",
    "IAM_GUARD_SLACK_SECRET_ARN": "SlackSecretArn",
    "IAM_GUARD_MAX_MFA_AGE_HOURS": "MaxMfaAgeHours",
    "IAM_GUARD_SECURITY_HUB": "SecurityHub",
    "IAM_GUARD_UNUSED_DAYS": "UnusedDays",
    "IAM_GUARD_KEY_MAX_AGE_DAYS": "KeyMaxAgeDays",
    "IAM_GUARD_REMEDIATE_UNUSED_KEYS": "RemediateUnusedKeys",
    "IAM_GUARD_REMEDIATE_SERVICE_CREDENTIALS": "RemediateServiceCredentials",
    "IAM_GUARD_MANAGE_PASSWORD_POLICY": "ManagePasswordPolicy",
    "IAM_GUARD_PASSWORD_MAX_AGE_DAYS": "PasswordMaxAgeDays",
    "IAM_GUARD_SSH_KEY_AUDIT_USERS_PER_RUN": "SshKeyAuditUsersPerRun",
    "IAM_GUARD_ORG_EXCLUDE_ACCOUNTS": "OrgExcludeAccounts",
    "IAM_GUARD_OWNER_TAG_KEY": "OwnerTagKey",
    "IAM_GUARD_DEFAULT_OWNER": "DefaultOwner",
    "IAM_GUARD_WARNING_DAYS": "WarningDays",
    "IAM_GUARD_LEAKED_KEY_ACTION": "LeakedKeyAction",
    "IAM_GUARD_LEAKED_KEY_SUMMARY_REGIONS": "LeakedKeySummaryRegions",
    "IAM_GUARD_OWNER_EMAIL_SENDER": "OwnerEmailSender",
    "IAM_GUARD_SLACK_BOT_TOKEN_SECRET_ARN": "SlackBotTokenSecretArn",
    "IAM_GUARD_TEAMS_WEBHOOK_SECRET_ARN": "TeamsWebhookSecretArn",
    "IAM_GUARD_WEBHOOK_SECRET_ARN": "WebhookSecretArn",
    "IAM_GUARD_TEAMS_MIN_SEVERITY": "TeamsMinSeverity",
    "IAM_GUARD_WEBHOOK_MIN_SEVERITY": "WebhookMinSeverity",
    "IAM_GUARD_GUARDDUTY_FINDINGS": "GuardDutyFindings",
    "IAM_GUARD_GUARDDUTY_MIN_SEVERITY": "GuardDutyMinSeverity",
}


def resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_template()["Resources"]
    return resources


# --- least privilege -------------------------------------------------------------------------------


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_job_policy_grants_exactly_what_the_code_declares(function: str) -> None:
    granted = actions_of(role_policies(function)["job"])

    assert sorted(granted - DECLARED[function]) == [], "granted but never declared by the code"
    assert sorted(DECLARED[function] - granted) == [], "declared by the code but not granted"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_role_has_only_its_job_and_plumbing(function: str) -> None:
    role = resources()[role_of(function)]["Properties"]
    policies = role_policies(function)
    log_group = function.removesuffix("Function") + "LogGroup"
    queue = function.removesuffix("Function") + "DeadLetterQueue"

    assert "ManagedPolicyArns" not in role  # no AWS-managed policy: everything is spelled out here
    assert set(policies) == {"job", "plumbing"}
    for statement in statements(policies["plumbing"]):
        for action in as_list(statement["Action"]):
            if action == "sqs:SendMessage":
                assert statement["Resource"] == physical_value(queue, "Arn")
            elif action.startswith("logs:"):
                assert statement["Resource"] == physical_value(log_group, "Arn")
            else:
                assert action in PLUMBING


@pytest.mark.parametrize("function", FUNCTIONS)
def test_wildcard_resources_only_where_iam_offers_no_resource_level_permission(function: str) -> None:
    for document in role_policies(function).values():
        for statement in statements(document):
            assert "*" not in as_list(statement["Action"])
            assert all(not a.endswith(":*") for a in as_list(statement["Action"]))
            if "*" in as_list(statement["Resource"]):
                assert set(as_list(statement["Action"])) <= NO_RESOURCE_LEVEL, statement["Sid"]


OUR_GROUPS = {
    "arn:aws:iam::123456789012:group/iam-guard/*",  # IAM Guard's path (renames stay on it)
    "arn:aws:iam::123456789012:group/Secured",  # the configured name, to move it back onto the path
    "arn:aws:iam::123456789012:group/*/Secured",
}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_no_role_can_write_a_group_or_policy_other_than_iam_guards_own(function: str) -> None:
    names = {"GroupName": "Secured", "PolicyName": "Guardrail"}
    for statement in statements(role_policies(function, names)["job"]):
        resources_ = set(as_list(statement["Resource"]))
        writes = {a for a in as_list(statement["Action"]) if not a.startswith(("iam:Get", "iam:List"))}
        for resource in resources_:
            if ":group/" in resource and writes:
                assert resource in OUR_GROUPS, statement["Sid"]
            if ":policy/" in resource:
                assert resource in {
                    "arn:aws:iam::123456789012:policy/iam-guard/Guardrail",
                    "arn:aws:iam::123456789012:policy/iam-guard/*",  # the custom resource: renames
                    "arn:aws:iam::123456789012:policy/Guardrail",  # the custom resource: the 0.1 upgrade
                }, statement["Sid"]
                if resource != "arn:aws:iam::123456789012:policy/iam-guard/Guardrail":
                    assert function == "PolicyResourceFunction"
        if "arn:aws:iam::123456789012:group/*" in resources_:
            assert set(as_list(statement["Action"])) == {"iam:GetGroup"}  # reading members only


def test_the_roles_trust_only_lambda_in_this_account() -> None:
    for function in FUNCTIONS:
        trust = resolve(resources()[role_of(function)]["Properties"]["AssumeRolePolicyDocument"])
        (statement,) = statements(trust)
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


# --- wiring ----------------------------------------------------------------------------------------


def test_the_rule_matches_exactly_the_events_the_enforcer_handles() -> None:
    rule = resources()["EnforcerFunction"]["Properties"]["Events"]["IamApiCall"]["Properties"]
    pattern = rule["Pattern"]

    assert pattern["source"] == [events.IAM_SOURCE]
    assert pattern["detail-type"] == [events.CLOUDTRAIL_DETAIL_TYPE]
    assert pattern["detail"]["eventSource"] == [events.IAM_EVENT_SOURCE]
    assert sorted(pattern["detail"]["eventName"]) == sorted(events.HANDLED_EVENTS)
    assert pattern["detail"]["errorCode"] == [{"exists": False}]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_handler_exists_and_is_built_with_the_makefile(function: str) -> None:
    resource = resources()[function]
    module, name = resource["Properties"]["Handler"].rsplit(".", 1)

    assert callable(getattr(importlib.import_module(module), name))
    assert resource["Metadata"]["BuildMethod"] == "makefile"
    makefile = (ROOT / "src" / "Makefile").read_text()
    assert re.search(rf"^FUNCTIONS :=.*\b{function}\b", makefile, re.MULTILINE)  # has build-{function}


def test_every_setting_reaches_every_function_from_its_parameter() -> None:
    env = load_template()["Globals"]["Function"]["Environment"]["Variables"]

    assert set(env) >= set(ENV_VARS)
    pseudo = {
        "IAM_GUARD_SNS_TOPIC_ARN",
        "IAM_GUARD_STACK_NAME",
        "IAM_GUARD_PARTITION",
        "IAM_GUARD_NOTIFICATIONS_TABLE",
        "IAM_GUARD_ALERT_DLQ_URL",
    }
    assert set(PARAMETER_OF) | pseudo == set(ENV_VARS)
    for var, parameter in PARAMETER_OF.items():
        assert env[var] == {"Ref": parameter}
    assert env["IAM_GUARD_SNS_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert env["IAM_GUARD_STACK_NAME"] == {"Ref": "AWS::StackName"}
    assert env["IAM_GUARD_PARTITION"] == {"Ref": "AWS::Partition"}  # the ARNs the guardrail names
    assert env["IAM_GUARD_NOTIFICATIONS_TABLE"] == {"Ref": "NotificationsTable"}
    assert env["IAM_GUARD_ALERT_DLQ_URL"] == {
        "Fn::If": ["HasAlertChannelSecret", {"Ref": "AlertDeadLetterQueue"}, ""]
    }


def test_the_guardrail_resource_gets_the_policy_settings_from_the_same_parameters() -> None:
    properties = resources()["Guardrail"]["Properties"]
    settings = {k: v for k, v in properties.items() if k.startswith("IAM_GUARD_")}

    assert set(settings) == set(custom_resource.GUARDRAIL_PROPERTIES)
    assert settings.pop(custom_resource.STACK_NAME_PROPERTY) == {"Ref": "AWS::StackName"}
    assert all(value == {"Ref": PARAMETER_OF[key]} for key, value in settings.items())
    # the custom resource checks a request against the stack's parameters through this same table
    assert {k: PARAMETER_OF[k] for k in settings} == custom_resource.PARAMETER_OF_PROPERTY
    assert properties["ServiceToken"] == {"Fn::GetAtt": ["PolicyResourceFunction", "Arn"]}


def test_only_us_east_1_can_deploy_and_the_reason_is_given() -> None:
    (assertion,) = load_template()["Rules"]["DeployInUsEast1"]["Assertions"]

    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    assert "reach EventBridge only in us-east-1" in " ".join(assertion["AssertDescription"].split())


def test_runtime_is_python_3_13_or_newer_on_arm64() -> None:
    function = load_template()["Globals"]["Function"]
    major, minor = function["Runtime"].removeprefix("python").split(".")

    assert (int(major), int(minor)) >= (3, 13)
    assert function["Architectures"] == ["arm64"]


# --- tracing: off by default, so no function loads the X-Ray SDK -------------------------------------

XRAY = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]


def function_tracing(parameters: dict[str, str]) -> tuple[str, str]:
    """(X-Ray mode, POWERTOOLS_TRACE_DISABLED) that every function gets from Globals."""
    function = resolve(load_template()["Globals"]["Function"], parameters)
    return function["Tracing"], function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"]


def test_tracing_is_off_by_default_and_powertools_is_told() -> None:
    assert load_template()["Parameters"]["Tracing"]["Default"] == "false"
    assert function_tracing({}) == ("PassThrough", "true")
    assert function_tracing({"Tracing": "true"}) == ("Active", "false")
    for function in FUNCTIONS:  # no function overrides what Globals says
        properties = resources()[function]["Properties"]
        assert "Tracing" not in properties
        assert "POWERTOOLS_TRACE_DISABLED" not in properties.get("Environment", {}).get("Variables", {})


def test_only_traced_functions_may_send_traces() -> None:
    tracing = resources()["TracingPolicy"]
    granting = [name for name, r in resources().items() if "xray:" in str(r)]

    assert sorted(granting) == ["OrgWorkflowTracingPolicy", "TracingPolicy"]  # no role grants X-Ray itself
    assert tracing["Condition"] == "TracingOn"
    assert not condition_holds("TracingOn", {})
    assert condition_holds("TracingOn", {"Tracing": "true"})
    policy = resolve(tracing["Properties"], {"Tracing": "true"})
    (statement,) = statements(policy["PolicyDocument"])
    assert (statement["Effect"], sorted(statement["Action"]), statement["Resource"]) == ("Allow", XRAY, "*")
    roles = {physical_value(role_of(function)) for function in FUNCTIONS}
    assert sorted(policy["Roles"]) == sorted(roles)  # every function's role (Slack's when it exists)
    without_slack = resolve(tracing["Properties"]["Roles"], {"Tracing": "true", "SlackSecretArn": ""})
    assert physical_value("SlackNotifierRole") not in without_slack


def test_with_org_mode_the_hubs_functions_and_workflow_are_traced_only_when_tracing_is_on() -> None:
    org = {"Tracing": "true", "OrganizationId": "o-a1b2c3d4e5"}
    roles = resolve(resources()["TracingPolicy"]["Properties"]["Roles"], org)
    hub_roles = {physical_value(role_of(function)) for function in HUB_FUNCTIONS}

    assert hub_roles <= set(roles)
    workflow = resources()["OrgWorkflowTracingPolicy"]
    assert workflow["Condition"] == "OrgTracingOn"
    assert condition_holds("OrgTracingOn", org)
    assert not condition_holds("OrgTracingOn", {"OrganizationId": "o-a1b2c3d4e5"})
    assert not condition_holds("OrgTracingOn", {"Tracing": "true"})
    (statement,) = statements(resolve(workflow["Properties"], org)["PolicyDocument"])
    assert sorted(statement["Action"]) == sorted([*XRAY, "xray:GetSamplingRules", "xray:GetSamplingTargets"])
    machine = resources()["OrgSweepStateMachine"]["Properties"]
    assert resolve(machine["Tracing"], org) == {"Enabled": True}
    assert resolve(machine["Tracing"], {"OrganizationId": "o-a1b2c3d4e5"}) == {"Enabled": False}


# --- parameters fail bad values at deploy time, as the settings model would --------------------------

# Each AllowedPattern's accept/refuse table, and its agreement with the settings model: see
# test_parameter_patterns.py.


def test_parameter_defaults_are_valid_settings() -> None:
    parameters = load_template()["Parameters"]
    defaults = {
        field: parameters[PARAMETER_OF[var]]["Default"]
        for var, field in ENV_VARS.items()
        if var in PARAMETER_OF and "Default" in parameters[PARAMETER_OF[var]]
    }

    for parameter in PARAMETER_OF.values():
        spec = parameters[parameter]
        if "Default" not in spec:  # DryRun only: every deploy must say it (test below)
            assert parameter == "DryRun", parameter
            continue
        default = str(spec["Default"])
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], default), parameter
        if "AllowedValues" in spec:
            assert default in spec["AllowedValues"], parameter
    assert isinstance(build_settings(group_name=defaults["group_name"], ip_restriction=False), Settings)


# --- the dependency layer ---------------------------------------------------------------------------


def test_the_layer_pins_lie_inside_pyprojects_ranges() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    ranges = {
        Requirement(r).name.lower().replace("_", "-"): Requirement(r)
        for r in pyproject["project"]["dependencies"]
    }
    pins = {}
    for line in (ROOT / "layer" / "requirements.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            requirement = Requirement(line)
            pins[requirement.name.lower().replace("_", "-")] = next(iter(requirement.specifier)).version

    for name, requirement in ranges.items():
        if name == "boto3":
            assert name not in pins  # the runtime's; a layer copy of botocore would shadow it
            continue
        assert name in pins, f"{name} missing from layer/requirements.txt"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} outside {requirement}"
    assert "botocore" not in pins


# --- names, watch rules, the alarm that watches the sweep -------------------------------------------------


def test_every_named_resource_of_the_stack_is_named_stack_underscore_something() -> None:
    """The self-protection statement and the watch rules match <stack>_*: every name must fit it."""
    from core.model.naming import owned_prefix

    name_keys = ("FunctionName", "RoleName", "TopicName", "QueueName", "AlarmName", "TrailName", "LayerName")
    named = 0
    for logical_id, resource in resources().items():
        properties = resource.get("Properties", {})
        for key in name_keys:
            if key == "FunctionName" and resource["Type"] == "AWS::Lambda::Permission":
                continue  # names the function the permission is on, not a new resource
            if key in properties:
                assert str(resolve(properties[key])).startswith(owned_prefix("iam-guard")), logical_id
                named += 1
        if resource["Type"] == "AWS::IAM::Role":
            assert resolve(properties["Path"]) == "/iam-guard/iam-guard/", logical_id
        if resource["Type"] == "AWS::Serverless::Function":
            assert "FunctionName" in properties, logical_id
            for event in properties.get("Events", {}).values():
                if event["Type"] not in ("EventBridgeRule", "Schedule"):
                    continue  # an SNS subscription has no name of its own
                name = event["Properties"].get("RuleName") or event["Properties"].get("Name")
                assert str(resolve(name)).startswith("iam-guard_"), logical_id
    assert named >= 20
    alias = resolve(resources()["AlertKeyAlias"]["Properties"]["AliasName"])
    assert alias == "alias/iam-guard_alerts"


def test_each_watch_rule_is_the_pattern_core_watch_builds() -> None:
    from core.enforce.watch import WATCHED, rule_pattern

    events_ = resources()["EnforcerFunction"]["Properties"]["Events"]
    key = {"AlertKey": "1234abcd-key-id", "AlertKey.Arn": "arn:aws:kms:us-east-1:123456789012:key/1234abcd"}
    watched = {}
    for name, event in events_.items():
        if name.startswith("Watch"):
            watched[event["Properties"]["Pattern"]["source"][0]] = resolve(
                event["Properties"]["Pattern"], None, key
            )
    assert set(watched) == {service.source for service in WATCHED}
    secrets = [TEST_PARAMETERS["SlackSecretArn"]]
    for service in WATCHED:
        expected = rule_pattern(service, "iam-guard", [key["AlertKey"], key["AlertKey.Arn"]], secrets)
        assert watched[service.source] == expected, service.source


def test_the_secrets_watch_rule_names_every_channel_secret() -> None:
    from tests.template.template_model import FEATURES_ON

    from core.enforce.watch import WATCHED, rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.secretsmanager"]
    event = resources()["EnforcerFunction"]["Properties"]["Events"]["WatchSecretsManager"]
    names = ("SlackBotTokenSecretArn", "TeamsWebhookSecretArn", "WebhookSecretArn")
    channels = {name: FEATURES_ON[name] for name in names}
    secrets = [TEST_PARAMETERS["SlackSecretArn"], *channels.values()]

    expected = rule_pattern(service, "iam-guard", (), secrets)
    assert resolve(event["Properties"]["Pattern"], channels) == expected


def test_without_slack_the_secrets_watch_rule_names_no_secret() -> None:
    from core.enforce.watch import WATCHED, rule_pattern

    (service,) = [s for s in WATCHED if s.source == "aws.secretsmanager"]
    event = resources()["EnforcerFunction"]["Properties"]["Events"]["WatchSecretsManager"]

    assert resolve(event["Properties"]["Pattern"], {"SlackSecretArn": ""}) == rule_pattern(
        service, "iam-guard"
    )


def test_every_enforcer_rule_may_leave_undelivered_events_in_its_dead_letter_queue() -> None:
    statement = resources()["EnforcerDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    source = resolve(statement["Condition"]["ArnLike"]["aws:SourceArn"])
    assert source == "arn:aws:events:us-east-1:123456789012:rule/iam-guard_*"
    for event in resources()["EnforcerFunction"]["Properties"]["Events"].values():
        assert event["Properties"]["DeadLetterConfig"]["Arn"] == {
            "Fn::GetAtt": ["EnforcerDeadLetterQueue", "Arn"]
        }


def test_an_alarm_fires_when_no_sweep_completes_for_the_configured_hours() -> None:
    alarm = resources()["SweepMissingAlarm"]["Properties"]
    from core.model.metric_names import SWEEP_COMPLETED

    handler_source = (ROOT / "src" / "handlers" / "sweep.py").read_text()

    assert alarm["MetricName"] == SWEEP_COMPLETED == "SweepCompleted"
    assert "name=SWEEP_COMPLETED" in handler_source
    assert (
        alarm["Namespace"]
        == load_template()["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    )
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "iam-guard"}]
    assert alarm["TreatMissingData"] == "breaching"  # an hour with no metric is an hour with no sweep
    assert alarm["ComparisonOperator"] == "LessThanThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == {"Ref": "SweepAlarmHours"}
    assert alarm["Period"] == 3600
    assert load_template()["Parameters"]["SweepAlarmHours"]["Default"] == 36  # 1.5 x the daily default
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}]


def test_the_custom_resource_knows_its_own_stack() -> None:
    env = resources()["PolicyResourceFunction"]["Properties"]["Environment"]["Variables"]
    assert env["IAM_GUARD_STACK_ID"] == {"Ref": "AWS::StackId"}


def test_dry_run_has_no_default_so_a_first_deploy_must_choose() -> None:
    """Issue 22: a create without DryRun fails validation; its description says what to choose."""
    dry_run = load_template()["Parameters"]["DryRun"]

    assert "Default" not in dry_run
    assert "true for the first deploy" in dry_run["Description"]
    assert "false to enforce" in dry_run["Description"]
