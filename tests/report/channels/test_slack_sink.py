"""Slack delivery against a local HTTP receiver: success, 429, 5xx, timeout, revoked webhook; no URL leaks."""

from __future__ import annotations

import logging

import pytest
from tests.report.channels.conftest import SecretCheck, digest, tamper_healed

from core.model.errors import DeliveryError, SettingsError
from core.report.slack import SlackWebhookSink, retry_after_seconds
from core.report.slack_blocks import slack_message
from demo.slack_receiver import Reply, SlackReceiver


class Sleeps(list[float]):
    """Records the waits the sink asks for, without waiting (tests stay fast)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def sink_for(receiver: SlackReceiver, sleeps: Sleeps, timeout: float = 2.0) -> SlackWebhookSink:
    return SlackWebhookSink(receiver.url, timeout=timeout, sleep=sleeps)


def test_success_posts_the_rendered_message(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    alert = digest(3)
    sink_for(receiver, sleeps).send(alert)
    assert receiver.payloads() == [slack_message(alert)]
    assert sleeps == []


def test_429_waits_retry_after_then_succeeds(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    receiver.script(Reply(429, "rate_limited", {"Retry-After": "3"}), Reply(200))
    sink_for(receiver, sleeps).send(tamper_healed())
    assert len(receiver.payloads()) == 2
    assert sleeps == [3.0]


def test_429_with_a_long_retry_after_fails_now_for_lambda(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    receiver.script(Reply(429, "rate_limited", {"Retry-After": "120"}))
    with pytest.raises(DeliveryError, match=r"HTTP 429 .*Retry-After 120 s"):
        sink_for(receiver, sleeps).send(tamper_healed())
    assert len(receiver.payloads()) == 1
    assert sleeps == []


def test_500_retries_with_backoff_then_fails(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    receiver.script(*[Reply(500, "internal_error")] * 5)
    with pytest.raises(DeliveryError, match=r"HTTP 500 \(internal_error\)"):
        sink_for(receiver, sleeps).send(tamper_healed())
    assert len(receiver.payloads()) == 3  # the first try and two retries
    assert len(sleeps) == 2
    assert sleeps[1] > sleeps[0] / 2  # growing (jittered) backoff, never zero
    assert all(s > 0 for s in sleeps)


def test_503_then_success_delivers(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    receiver.script(Reply(503, "service_unavailable"), Reply(200))
    sink_for(receiver, sleeps).send(tamper_healed())
    assert len(receiver.payloads()) == 2


def test_timeout_retries_then_fails(receiver: SlackReceiver, sleeps: Sleeps) -> None:
    receiver.script(*[Reply(200, delay=1.0)] * 3)
    with pytest.raises(DeliveryError, match="unreachable after retries"):
        sink_for(receiver, sleeps, timeout=0.2).send(tamper_healed())
    assert len(receiver.payloads()) == 3
    assert len(sleeps) == 2


def test_revoked_webhook_fails_at_once_logging_the_status_but_never_the_url(
    receiver: SlackReceiver, sleeps: Sleeps, webhook_kept_secret: SecretCheck
) -> None:
    receiver.script(Reply(404, "no_service"))
    with pytest.raises(DeliveryError) as caught:
        sink_for(receiver, sleeps).send(tamper_healed())
    assert len(receiver.payloads()) == 1
    assert "HTTP 404 (no_service)" in str(caught.value)
    assert "revoked" in str(caught.value)
    searched = webhook_kept_secret(str(caught.value), repr(caught.value), str(caught.value.__context__))
    assert any("404" in text for text in searched)  # the status is logged
    assert caught.value.__cause__ is None


def test_no_url_in_any_log_line_through_retries_and_timeouts(
    receiver: SlackReceiver,
    sleeps: Sleeps,
    all_log_records: list[logging.LogRecord],
    webhook_kept_secret: SecretCheck,
) -> None:
    receiver.script(Reply(429, "rate_limited", {"Retry-After": "0"}), Reply(500), Reply(200, delay=1.0))
    with pytest.raises(DeliveryError) as caught:
        sink_for(receiver, sleeps, timeout=0.2).send(digest(2))
    assert all_log_records  # something was logged at all, so the check means something
    webhook_kept_secret(str(caught.value))


def test_sink_repr_hides_the_url(receiver: SlackReceiver) -> None:
    assert "SeCrEt" not in repr(SlackWebhookSink(receiver.url))


@pytest.mark.parametrize(
    "url", ["hooks.slack.com/services/TOKEN1", "ftp://hooks.slack.com/TOKEN1", "https:///TOKEN1"]
)
def test_a_bad_url_is_refused_without_repeating_it(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        SlackWebhookSink(url)
    assert "TOKEN1" not in str(caught.value)


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [({"Retry-After": "7"}, 7.0), ({"retry-after": ["2"]}, 2.0), ({}, 1.0), ({"Retry-After": "soon"}, 1.0)],
)
def test_retry_after_parsing(headers: dict[str, object], seconds: float) -> None:
    assert retry_after_seconds(headers) == seconds
