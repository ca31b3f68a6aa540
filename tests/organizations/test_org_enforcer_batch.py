"""The org enforcer's partial batch response (SQS ``ReportBatchItemFailures``), record by record.

The records' own work (assume the member role, enforce) is covered against moto in test_hub_runtime.py;
here ``handle_record`` is replaced by one that fails on command, so the loop's contract is what is tested:
every record is tried, exactly the ones that raised go back to the queue, and a malformed batch is one line.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tests.harness.metrics import pin_lambda_metrics

from core.model.errors import InvalidEventError, ThrottledError
from core.model.metric_names import ENFORCEMENT_FAILED
from demo.lambda_context import FakeLambdaContext
from handlers import org_enforcer


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "body": body, "eventSource": "aws:sqs", "receiptHandle": "r"}
            for i, body in enumerate(bodies)
        ]
    }


@pytest.fixture
def handled(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Bodies handled, in order; a body names what the record does: ok, throttled or bug."""
    seen: list[str] = []

    def handle(message: org_enforcer.SqsMessage) -> dict[str, Any]:
        seen.append(message.body)
        if message.body == "throttled":
            raise ThrottledError("AssumeRole", "Throttling", "slow down")
        if message.body == "bug":
            raise KeyError("a bug in our code")
        return {"action": "enrolled"}

    monkeypatch.setattr(org_enforcer, "handle_record", handle)
    return seen


def invoke(event: Any) -> Any:
    return org_enforcer.lambda_handler(event, FakeLambdaContext("org-enforcer"))


def test_every_record_is_tried_and_only_those_that_raised_go_back(handled: list[str]) -> None:
    response = invoke(sqs_event("ok", "throttled", "ok", "bug", "ok"))

    assert handled == ["ok", "throttled", "ok", "bug", "ok"]
    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m3"}]}
    json.dumps(response)  # what Lambda serializes back to SQS


def test_a_batch_where_nothing_fails_returns_no_failures(handled: list[str]) -> None:
    assert invoke(sqs_event("ok", "ok")) == {"batchItemFailures": []}


def test_a_bug_is_counted_as_an_enforcement_failure(
    handled: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    emitted = pin_lambda_metrics(monkeypatch, namespace="IAMGuard", service="org-enforcer")
    invoke(sqs_event("bug", "ok"))
    assert emitted.total(ENFORCEMENT_FAILED) == 1


@pytest.mark.parametrize(
    ("event", "says"),
    [
        ({}, "Records: field required"),
        ({"Records": "x"}, "Records: should be a list"),
        ({"Records": [{"messageId": "m0", "body": "{}", "eventSource": "aws:sns"}]}, "eventSource"),
        ({"Records": [{"body": "{}", "eventSource": "aws:sqs"}]}, "Records.0.messageId: field required"),
        ({"Records": [{"messageId": "m0", "body": 7, "eventSource": "aws:sqs"}]}, "body: should be a string"),
    ],
)
def test_a_malformed_batch_is_one_line_and_handles_nothing(
    handled: list[str], event: dict[str, Any], says: str
) -> None:
    with pytest.raises(InvalidEventError, match=r"^not an SQS event: ") as refused:
        invoke(event)
    assert says in str(refused.value)
    assert handled == []
