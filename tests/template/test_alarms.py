"""Failures CloudWatch must see: every function's errors, every dead-letter queue, and the enforcer's
permanent failures, which are not Lambda errors (the handler returns after alerting) but a metric.

The EnforcementFailed alarm is checked against what the enforcer really emits: the handler is invoked
with the template's own Powertools namespace and service, and the EMF document it prints is compared
with the alarm's namespace, metric name and dimensions.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.harness.metrics import pin_lambda_metrics
from tests.template.template_model import load_template

from core.model.metric_names import ENFORCEMENT_FAILED
from demo.lambda_context import FakeLambdaContext

ALARM = "EnforcementFailedAlarm"


def resources() -> dict[str, Any]:
    found: dict[str, Any] = load_template()["Resources"]
    return found


def alarms() -> dict[str, dict[str, Any]]:
    return {k: v for k, v in resources().items() if v["Type"] == "AWS::CloudWatch::Alarm"}


def fires_on_one(alarm: dict[str, Any]) -> bool:
    props = alarm["Properties"]
    return (
        props["Threshold"] == 1
        and props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
        and props["EvaluationPeriods"] == 1
        and props["TreatMissingData"] == "notBreaching"
    )


def test_every_alarm_notifies_the_alert_topic_and_failure_counts_fire_at_the_first() -> None:
    assert alarms()
    for name, alarm in alarms().items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}], name
        if alarm["Properties"]["ComparisonOperator"].startswith("GreaterThan"):  # not a heartbeat
            assert fires_on_one(alarm), name


@pytest.mark.parametrize("function", ["EnforcerFunction", "SweepFunction", "SlackNotifierFunction"])
def test_every_function_with_retries_has_an_errors_alarm(function: str) -> None:
    watching = [
        alarm["Properties"]
        for alarm in alarms().values()
        if alarm["Properties"]["Namespace"] == "AWS/Lambda"
        and alarm["Properties"]["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
    ]
    assert [props["MetricName"] for props in watching] == ["Errors"]
    assert watching[0]["Statistic"] == "Sum"


def test_the_enforcement_failed_alarm_watches_exactly_what_the_enforcer_emits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from handlers import common, enforcer

    environment = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    emitted = pin_lambda_metrics(
        monkeypatch,
        namespace=environment["POWERTOOLS_METRICS_NAMESPACE"],
        service=environment["POWERTOOLS_SERVICE_NAME"],
    )
    monkeypatch.setenv("IAM_GUARD_IP_RESTRICTION", "false")
    common.reset_caches()
    try:
        outcome = enforcer.lambda_handler(
            {"not": "an event"}, FakeLambdaContext("iam-guard-EnforcerFunction")
        )
    finally:
        common.reset_caches()

    assert outcome["action"] == "failed"  # a permanent failure: returned, not raised (no Lambda error)
    [point] = emitted.points(ENFORCEMENT_FAILED)
    props = alarms()[ALARM]["Properties"]
    assert props["MetricName"] == point.name == ENFORCEMENT_FAILED
    assert props["Namespace"] == point.namespace
    assert {d["Name"]: d["Value"] for d in props["Dimensions"]} == point.dimensions
    assert props["Statistic"] == "Sum"
    assert point.value == 1
