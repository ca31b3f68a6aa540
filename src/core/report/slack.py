"""Slack delivery: the only module that posts to Slack. The webhook URL is a secret: never logged or raised.

Failure semantics (the notifier Lambda fails the invocation on ``DeliveryError``, so Lambda's async
retries and the dead-letter queue keep the alert):

- 429: wait ``Retry-After`` when it is at most ``max_retry_after`` seconds, then retry; a longer wait
  fails now and is left to Lambda's retries (minutes apart) instead of burning the function's timeout;
- 5xx, timeouts, connection errors: retry with jittered exponential backoff, then fail;
- other 4xx (a revoked or deleted webhook answers 403/404/410): fail at once, logging the status only.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.client import RemoteDisconnected
from typing import Any
from urllib.error import URLError
from urllib.parse import urlsplit

from aws_lambda_powertools import Logger

from core.model.alerts import Alert
from core.model.errors import DeliveryError, SettingsError
from core.report.envelope import alert_from_envelope
from core.report.slack_blocks import slack_alarm_message, slack_message, slack_text_message

logger = Logger(child=True)

# What the Slack notifier function needs (the template's least-privilege policy is checked against this).
# A secret encrypted with a customer managed key also needs kms:Decrypt on that key.
REQUIRED_PERMISSIONS = frozenset({"secretsmanager:GetSecretValue"})

DEFAULT_TIMEOUT = 5.0  # seconds per HTTP attempt; Slack answers webhooks in well under a second
MAX_RETRY_AFTER = 10.0  # longest Retry-After we wait inside one invocation
SERVER_ERROR_RETRIES = 2
CONNECTION_RETRIES = 2
RATE_LIMIT_RETRIES = 2
BACKOFF_BASE = 0.5
SECRET_MAX_AGE = 300  # seconds the webhook URL is cached per container (rotation shows within 5 minutes)

Sleep = Callable[[float], None]


# ------------------------------------------------------------------------------------ retry handlers


def _retry_handlers(sleep: Sleep, max_retry_after: float, backoff_base: float) -> list[Any]:
    """slack_sdk retry handlers with our bounds, and a sleep that tests can make instant."""
    from slack_sdk.http_retry.handler import RetryHandler

    class _Backoff(RetryHandler):  # type: ignore[misc]
        def prepare_for_next_attempt(self, *, state: Any, **_: Any) -> None:
            state.next_attempt_requested = True
            delay = backoff_base * 2**state.current_attempt
            sleep(delay * (0.5 + random.random() / 2))  # noqa: S311 - jitter, not crypto
            state.increment_current_attempt()

    class ServerErrors(_Backoff):
        def _can_retry(self, *, response: Any = None, **_: Any) -> bool:
            return response is not None and 500 <= response.status_code <= 599

    class ConnectionErrors(_Backoff):
        def _can_retry(self, *, response: Any = None, error: Any = None, **_: Any) -> bool:
            return response is None and isinstance(
                error, URLError | TimeoutError | ConnectionError | RemoteDisconnected
            )

    class RateLimited(RetryHandler):  # type: ignore[misc]
        def _can_retry(self, *, response: Any = None, **_: Any) -> bool:
            return (
                response is not None
                and response.status_code == 429
                and retry_after_seconds(response.headers) <= max_retry_after
            )

        def prepare_for_next_attempt(self, *, state: Any, response: Any = None, **_: Any) -> None:
            state.next_attempt_requested = True
            sleep(retry_after_seconds(response.headers))
            state.increment_current_attempt()

    return [
        RateLimited(max_retry_count=RATE_LIMIT_RETRIES),
        ServerErrors(max_retry_count=SERVER_ERROR_RETRIES),
        ConnectionErrors(max_retry_count=CONNECTION_RETRIES),
    ]


def retry_after_seconds(headers: Any) -> float:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); 1 when absent or unreadable."""
    values = {str(k).lower(): v for k, v in dict(headers or {}).items()}
    raw = values.get("retry-after")
    if isinstance(raw, list):
        raw = raw[0] if raw else None
    if raw is None:
        return 1.0
    text = str(raw).strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return 1.0
    return max(0.0, when.timestamp() - time.time())


def _silent_sdk_logger() -> logging.Logger:
    """slack_sdk logs the request URL (= the secret) at debug and, on retries, at info: silence it."""
    quiet = logging.getLogger("iam_guard.slack_sdk")
    quiet.setLevel(logging.CRITICAL + 1)
    quiet.propagate = False
    quiet.disabled = True
    return quiet


# ------------------------------------------------------------------------------------ the sink


def validate_webhook_url(url: str) -> str:
    """An http(s) URL with a host. The message never repeats the URL: it is a credential."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise SettingsError("the Slack webhook URL is not an https:// URL (value not shown: it is a secret)")
    return url.strip()


class SlackWebhookSink:
    """Posts each alert as a Block Kit message to one incoming webhook, through slack_sdk's WebhookClient."""

    def __init__(
        self,
        webhook_url: str,
        client: Any = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retry_after: float = MAX_RETRY_AFTER,
        backoff_base: float | None = None,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._url = validate_webhook_url(webhook_url)
        self._client = client
        self.timeout = timeout
        self.max_retry_after = max_retry_after
        self.backoff_base = BACKOFF_BASE if backoff_base is None else backoff_base  # read late: tunable
        self.sleep = sleep

    def __repr__(self) -> str:  # never show the URL, even in a debugger or a traceback's locals
        return "SlackWebhookSink(<webhook url hidden>)"

    @property
    def client(self) -> Any:
        if self._client is None:
            from slack_sdk.webhook import WebhookClient

            self._client = WebhookClient(
                self._url,
                timeout=self.timeout,  # type: ignore[arg-type]  # urllib accepts float seconds
                logger=_silent_sdk_logger(),
                retry_handlers=_retry_handlers(self.sleep, self.max_retry_after, self.backoff_base),
            )
        return self._client

    def send(self, alert: Alert) -> None:
        self.post(slack_message(alert))

    def post(self, payload: dict[str, Any]) -> None:
        """One message; raises ``DeliveryError`` (status and Slack's error code, never the URL) on failure."""
        try:
            response = self.client.send_dict(payload)
        except Exception as exc:  # timeouts and connection errors, after the retries
            reason = _reason(exc, self._url)
            logger.error("slack delivery failed", extra={"error": reason})
            raise DeliveryError(f"Slack webhook unreachable after retries: {reason}") from None
        status = int(response.status_code)
        if status == 200:
            logger.info("slack message posted", extra={"blocks": len(payload.get("blocks", []))})
            return
        body = _clip_body(str(response.body or ""), self._url)
        logger.error("slack delivery failed", extra={"status": status, "slack_error": body})
        raise DeliveryError(f"Slack webhook answered HTTP {status} ({body}){_hint(status, response)}")


def _hint(status: int, response: Any) -> str:
    if status == 429:
        wait = retry_after_seconds(getattr(response, "headers", {}))
        return f"; rate limited, Retry-After {wait:.0f} s"
    if status in {403, 404, 410}:
        return "; the webhook was probably revoked or its channel deleted: store a new URL in the secret"
    if status >= 500:
        return "; Slack kept failing through every retry"
    return ""


def _reason(exc: Exception, url: str) -> str:
    detail = getattr(exc, "reason", None) or exc
    return _clip_body(f"{type(exc).__name__}: {detail}", url)


def _clip_body(text: str, url: str) -> str:
    """Slack's one-word error codes; anything longer is clipped, and the URL (if echoed) is removed."""
    clean = " ".join(text.replace(url, "<webhook>").split())
    return clean[:100] or "no body"


# ------------------------------------------------------------------------------------ the notifier


@dataclass(frozen=True)
class SnsNotification:
    """What the notifier needs from one SNS record (the handler parses the event into these)."""

    message_id: str
    subject: str | None
    message: str


def slack_payload(notification: SnsNotification) -> dict[str, Any]:
    """Block Kit from the alert envelope, or from a CloudWatch alarm; anything else is posted as text."""
    alert = alert_from_envelope(notification.message)
    if alert is not None:
        return slack_message(alert)
    alarm = slack_alarm_message(notification.message)
    if alarm is not None:
        return alarm
    logger.warning("sns message is not an alert envelope", extra={"message_id": notification.message_id})
    return slack_text_message(notification.subject, notification.message)


def forward_to_slack(notifications: Sequence[SnsNotification], sink: SlackWebhookSink) -> int:
    """Post each notification; the first failure raises (the invocation fails and Lambda retries it)."""
    for notification in notifications:
        sink.post(slack_payload(notification))
        logger.info("alert forwarded to slack", extra={"message_id": notification.message_id})
    return len(notifications)


def webhook_url_from_secret(
    secret_arn: str,
    *,
    fetch: Callable[[str, int], Any] | None = None,
    max_age: int = SECRET_MAX_AGE,
) -> str:
    """The webhook URL stored in Secrets Manager: the plain URL, or JSON with a ``url`` key."""
    getter = fetch or _powertools_get_secret
    try:
        value = getter(secret_arn, max_age)
    except Exception as exc:  # Powertools wraps the AWS error; its text names the ARN, not the value
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DeliveryError(f"cannot read the Slack webhook secret {secret_arn}: {first_line}") from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    if text.lstrip().startswith("{"):
        try:
            text = str(json.loads(text).get("url", ""))
        except (ValueError, AttributeError):
            text = ""
    try:
        return validate_webhook_url(text)
    except SettingsError:
        raise SettingsError(
            f"the secret {secret_arn} does not hold a Slack webhook URL (expected https://hooks.slack.com/...)"
        ) from None


def _powertools_get_secret(secret_arn: str, max_age: int) -> Any:
    from aws_lambda_powertools.utilities import parameters
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    if "secrets" not in DEFAULT_PROVIDERS:  # its client from the one factory (core.aws.clients)
        from core.aws.clients import client

        parts = secret_arn.split(":")
        region = parts[3] if len(parts) > 3 and parts[3] else None  # the secret's own region
        DEFAULT_PROVIDERS["secrets"] = parameters.SecretsProvider(
            boto3_client=client("secretsmanager", region=region)
        )
    # botocore logs every response body at debug level, GetSecretValue's included: mute it for this call.
    with _muted("botocore.parsers"):
        return parameters.get_secret(secret_arn, max_age=max_age)


@contextmanager
def _muted(name: str) -> Iterator[None]:
    muted = logging.getLogger(name)
    was = muted.disabled
    muted.disabled = True
    try:
        yield
    finally:
        muted.disabled = was
