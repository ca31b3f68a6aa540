"""The CloudWatch dashboard graphs only what the functions emit: every metric in its body is a name of
core.model.metric_names, in the namespace and with the one dimension (Powertools' ``service``) the functions'
environment gives them; and the handlers' real EMF output uses exactly that vocabulary."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tests.conftest import load_event
from tests.harness.metrics import EmittedMetrics, pin_lambda_metrics
from tests.template.template_model import STACK, load_template, resolve

from core.model import metric_names as names
from core.model import naming
from core.model.alerts import RecordingSink
from demo.lambda_context import FakeLambdaContext

ALARM = "AWS::CloudWatch::Alarm"


def environment() -> dict[str, Any]:
    variables: dict[str, Any] = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return variables


def dashboard() -> dict[str, Any]:
    resources = load_template()["Resources"]
    (logical,) = [k for k, v in resources.items() if v["Type"] == "AWS::CloudWatch::Dashboard"]
    resource: dict[str, Any] = resources[logical]
    return resource


def body(*, slack: bool) -> dict[str, Any]:
    """The DashboardBody as CloudFormation would render it, with the Slack notifier or without."""
    raw = copy.deepcopy(dashboard()["Properties"]["DashboardBody"])

    def choose(node: Any) -> Any:
        if isinstance(node, list):
            return [choose(n) for n in node]
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                condition, yes, no = node["Fn::If"]
                assert condition == "HasSlack"  # the only optional part: the notifier's alarms
                return choose(yes if slack else no)
            return {k: choose(v) for k, v in node.items()}
        return node

    text = resolve(choose(raw))
    assert isinstance(text, str)
    document: dict[str, Any] = json.loads(text)
    return document


def metric_lines(document: dict[str, Any]) -> Iterator[list[Any]]:
    for widget in document["widgets"]:
        if widget["type"] == "metric":
            yield from widget["properties"]["metrics"]


def graphed(document: dict[str, Any]) -> set[str]:
    return {line[1] for line in metric_lines(document)}


def test_the_dashboard_is_named_after_the_stack() -> None:
    name = dashboard()["Properties"]["DashboardName"]

    assert name == {"Fn::Sub": f"${{AWS::StackName}}{naming.SEPARATOR}{naming.DASHBOARD}"}
    assert resolve(name) == naming.resource_name(STACK, naming.DASHBOARD)


@pytest.mark.parametrize("slack", [True, False])
def test_every_metric_is_one_the_functions_emit_in_their_namespace_and_dimension(slack: bool) -> None:
    env = environment()
    namespace, service = env["POWERTOOLS_METRICS_NAMESPACE"], env["POWERTOOLS_SERVICE_NAME"]
    assert (namespace, service) == (names.NAMESPACE, names.SERVICE)

    lines = list(metric_lines(body(slack=slack)))

    assert lines
    for line in lines:
        assert line[0] == namespace, line  # written out in full: no "..." shorthand to misread
        assert line[1] in names.emitted(), f"{line[1]} is graphed but no function emits it"
        assert line[2:4] == [names.SERVICE_DIMENSION, service], line  # Powertools' only dimension
        assert len(line) == 5, line
        assert set(line[4]) == {"label", "stat"}, line


def test_the_widgets_show_what_the_issue_asks_for() -> None:
    shown = graphed(body(slack=True))

    assert {
        names.USERS_WITHOUT_MFA,
        *(names.findings_metric(kind) for kind in names.mfa_finding_kinds()),  # users without MFA, by kind
        names.USERS_OUTSIDE_GROUP,
        names.ENFORCER_ENROLLED,
        names.SWEEP_ENROLLED,  # enrolments
        names.ENFORCER_HEALED,  # heals
        names.USERS_KEYS_DEACTIVATED,
        names.ENFORCEMENT_FAILED,
        names.SWEEP_FAILURES,  # enforcement failures
        names.SWEEP_DURATION,
        names.SWEEP_IAM_CALLS,
    } <= shown


def test_levels_show_their_maximum_and_events_their_sum() -> None:
    for line in metric_lines(body(slack=True)):
        assert line[4]["stat"] == ("Sum" if line[1] in names.EVENTS else "Maximum"), line


@pytest.mark.parametrize("slack", [True, False])
def test_the_alarm_widget_lists_every_alarm_of_the_stack(slack: bool) -> None:
    resources = load_template()["Resources"]
    alarms = {
        logical
        for logical, resource in resources.items()
        if resource["Type"] == ALARM and (slack or resource.get("Condition") != "HasSlack")
    }
    (widget,) = [w for w in body(slack=slack)["widgets"] if w["type"] == "alarm"]

    listed = widget["properties"]["alarms"]

    assert sorted(listed) == sorted(resolve({"Fn::GetAtt": [a, "Arn"]}) for a in alarms)
    assert {r.get("Condition") for r in resources.values() if r["Type"] == ALARM} <= {None, "HasSlack"}


def test_every_widget_is_in_the_stacks_region_and_fits_the_grid() -> None:
    for widget in body(slack=True)["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "us-east-1"  # ${AWS::Region}, resolved


# --- what the handlers really emit (EMF) ----------------------------------------------------------------


def check_points(emitted: EmittedMetrics) -> None:
    """Every point is in the dashboard's namespace, with the one ``service`` dimension."""
    assert emitted.points()
    for point in emitted.points():
        assert point.namespace == names.NAMESPACE
        assert point.dimensions == {names.SERVICE_DIMENSION: names.SERVICE}


@pytest.fixture
def powertools(monkeypatch: pytest.MonkeyPatch) -> Iterator[EmittedMetrics]:
    from handlers import common

    emitted = pin_lambda_metrics(monkeypatch, namespace=names.NAMESPACE, service=names.SERVICE)
    monkeypatch.setenv("IAM_GUARD_ALLOWED_CIDRS", "203.0.113.0/24")
    monkeypatch.setenv("IAM_GUARD_GRACE_DAYS", "0")
    common.reset_caches()
    yield emitted
    common.reset_caches()


def test_the_sweep_emits_every_gauge_once_per_run(
    powertools: EmittedMetrics, mock_iam: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handlers.sweep import lambda_handler

    mock_iam.create_group(GroupName="IAMGuardSecuredUsers")
    mock_iam.create_user(UserName="alice")
    mock_iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-Battery")
    monkeypatch.setattr("handlers.sweep.alert_sink", RecordingSink)

    lambda_handler(load_event("sweep-schedule.json"), FakeLambdaContext("iam-guard-sweep"))

    check_points(powertools)
    got = set(powertools.names())
    # every gauge, and the heartbeat the <stack>_sweep-missing alarm watches
    assert got == {
        *names.SWEEP_GAUGES,
        *(names.findings_metric(k) for k in names.finding_kinds()),
        names.SWEEP_COMPLETED,
    }
    assert got <= names.emitted()
    values = powertools.values
    assert values(names.USERS_WITHOUT_MFA) == [2.0]  # alice and moto's root user
    assert values(names.findings_metric("console-without-mfa")) == [1.0]
    assert values(names.USERS_OUTSIDE_GROUP) == [0.0]  # alice was enrolled by this very sweep
    assert values(names.SWEEP_ENROLLED) == [1.0]
    assert values(names.SWEEP_IAM_CALLS)[0] >= 4  # the handler's own IAM client, counted


def test_the_enforcer_emits_the_enrolment_and_heal_metrics_the_dashboard_graphs(
    powertools: EmittedMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.aws.iam import IamGateway
    from core.guardrail.apply import ensure_guardrail
    from core.model.settings import build_settings
    from handlers import enforcer

    monkeypatch.setattr("handlers.enforcer.alert_sink", RecordingSink)
    enforcer.guardrail_cache.cache_clear()
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        ensure_guardrail(
            IamGateway(client), build_settings(allowed_cidrs=("203.0.113.0/24",)), "123456789012"
        )
        client.create_user(UserName="dev-bob")
        context = FakeLambdaContext("iam-guard-enforcer")
        actions = [
            enforcer.lambda_handler(load_event(f"enforcer-{name}.json"), context)["action"]
            for name in ("create-user", "remove-user-from-group")
        ]
    enforcer.guardrail_cache.cache_clear()

    check_points(powertools)
    assert actions == ["enrolled", "healed"]
    assert set(powertools.names()) == {names.ENFORCER_ENROLLED, names.ENFORCER_HEALED}
