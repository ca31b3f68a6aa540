"""sts:AssumeRoot (centralized root access): a high alert naming the caller and the member account.

The sample (events/enforcer-assume-root.json) follows STS's AssumeRoot request shape
(``targetPrincipal``, ``taskPolicyArn`` as the API's ``{"arn": ...}`` structure); no recorded event.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.enforce.conftest import Harness, make_settings, sample

from core.enforce.commands import Ignore, RootSessionAssumed
from core.enforce.events import parse_event
from core.enforce.routes import command_for
from core.model.alerts import AlertKind, Severity


@pytest.fixture
def harness(mock_iam: Any) -> Harness:
    h = Harness(mock_iam)
    h.deploy()
    return h


def test_the_alert_names_caller_member_and_task_and_nothing_is_changed(harness: Harness) -> None:
    result = harness.run(sample("assume-root"))

    assert result.action == "root-session-alerted"
    (alert,) = harness.sink.alerts
    assert (alert.kind, alert.severity) == (AlertKind.ROOT_SESSION_ASSUMED, Severity.HIGH)
    assert "111122223333" in alert.title
    assert "alice@example.com" in alert.summary
    assert "IAMAuditRootUserCredentials" in alert.summary
    assert harness.counter.total == 0  # an alert only: no IAM call


def test_the_task_policy_may_be_a_plain_string() -> None:
    event = sample("assume-root")
    event["detail"]["requestParameters"]["taskPolicyArn"] = (
        "arn:aws:iam::aws:policy/root-task/S3UnlockBucketPolicy"
    )

    command = command_for(parse_event(event), make_settings())

    assert isinstance(command, RootSessionAssumed)
    assert command.task_policy.endswith("S3UnlockBucketPolicy")


def test_a_failed_assume_root_is_ignored() -> None:
    command = command_for(parse_event(sample("assume-root", errorCode="AccessDenied")), make_settings())

    assert isinstance(command, Ignore)


def test_an_assume_root_claiming_another_event_source_is_not_routed() -> None:
    command = command_for(
        parse_event(sample("assume-root", eventSource="iam.amazonaws.com")), make_settings()
    )

    assert isinstance(command, Ignore)
