"""The signed generic webhook and Microsoft Teams: alerts POSTed as JSON to a URL kept in Secrets Manager.

Generic webhook: the body is the alert envelope (``core.report.envelope``, schema ``iam-guard.alert.v1``),
sent with two headers a receiver checks in a few lines (``docs/alerts.md``):

- ``X-IAM-Guard-Timestamp``: Unix seconds when it was signed (a receiver refuses old ones: replays);
- ``X-IAM-Guard-Signature``: ``sha256=`` + hex HMAC-SHA256 of ``timestamp + "." + body`` with the
  signing key.

Teams: a Power Automate Workflows webhook receiving an Adaptive Card (``core.report.teams_card``).

Both retry 5xx, 429 (``Retry-After`` up to ``max_retry_after`` seconds) and connection failures with
jittered exponential backoff, then raise ``DeliveryError``; other 4xx fail at once. The URL and the
signing key are secrets: never logged, never in an error, hidden from ``repr``. Each sink carries only
alerts at or above its ``min_severity`` (routing by severity per channel).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

from aws_lambda_powertools import Logger

from core.model.alerts import Alert, Severity
from core.model.errors import DeliveryError, SettingsError
from core.report.envelope import alert_envelope
from core.report.slack import _powertools_get_secret, retry_after_seconds

logger = Logger(child=True)

TIMESTAMP_HEADER = "X-IAM-Guard-Timestamp"
SIGNATURE_HEADER = "X-IAM-Guard-Signature"
SIGNATURE_PREFIX = "sha256="
DEFAULT_TIMEOUT = 5.0
MAX_RETRY_AFTER = 10.0
RETRIES = 3
BACKOFF_BASE = 0.5

Sleep = Callable[[float], None]
Clock = Callable[[], float]


def signature(signing_key: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``"<timestamp>." + body`` with the signing key."""
    message = f"{timestamp}.".encode() + body
    return SIGNATURE_PREFIX + hmac.new(signing_key.encode(), message, hashlib.sha256).hexdigest()


def validate_url(url: str, what: str) -> str:
    """An https:// URL with a host (http:// only to loopback, for tests); the message never shows it."""
    parts = urlsplit(url.strip())
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if not parts.netloc or not (parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise SettingsError(f"the {what} URL is not an https:// URL (value not shown: it is a secret)")
    return url.strip()


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP answer: its status, headers and body."""

    status: int
    headers: Mapping[str, str]
    body: str


class JsonPoster:
    """POSTs JSON with retries; ``DeliveryError`` names ``what`` and the status, never the URL."""

    def __init__(
        self,
        url: str,
        what: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = RETRIES,
        max_retry_after: float = MAX_RETRY_AFTER,
        backoff_base: float = BACKOFF_BASE,
        sleep: Sleep = time.sleep,
    ) -> None:
        self._url = validate_url(url, what)
        self.what = what
        self.timeout = timeout
        self.retries = retries
        self.max_retry_after = max_retry_after
        self.backoff_base = backoff_base
        self.sleep = sleep

    def __repr__(self) -> str:
        return f"JsonPoster({self.what}, <url hidden>)"

    def post(self, body: bytes, headers: Callable[[], Mapping[str, str]]) -> None:
        """``headers`` is called for every attempt (a retried signed request gets a fresh timestamp)."""
        problem, attempts = "no attempt", 0
        for attempt in range(self.retries + 1):
            attempts = attempt + 1
            answer = self._attempt(body, headers())
            if answer is not None and 200 <= answer.status < 300:
                logger.info("webhook delivered", extra={"channel": self.what, "status": answer.status})
                return
            wait = self.backoff_base * 2**attempt * (0.5 + random.random() / 2)  # noqa: S311 - jitter
            if answer is None:
                problem = "unreachable (timeout or connection refused)"
            elif answer.status == 429:
                problem, wait = "HTTP 429", retry_after_seconds(answer.headers)
                if wait > self.max_retry_after:
                    problem += f" (Retry-After {wait:.0f} s, longer than we wait)"
                    break
            else:
                problem = f"HTTP {answer.status}"
                if answer.status < 500:
                    break  # a 4xx other than 429 will not change on retry
            if attempt < self.retries:
                self.sleep(wait)
        logger.error("webhook delivery failed", extra={"channel": self.what, "error": problem})
        raise DeliveryError(f"{self.what} delivery failed after {attempts} attempt(s): {problem}")

    def _attempt(self, body: bytes, headers: Mapping[str, str]) -> HttpAnswer | None:
        request = Request(self._url, data=body, method="POST", headers=dict(headers))  # noqa: S310 - validated
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - https (or loopback http)
                return HttpAnswer(response.status, dict(response.headers), "")
        except HTTPError as exc:
            return HttpAnswer(exc.code, dict(exc.headers or {}), "")
        except (URLError, TimeoutError, ConnectionError, OSError):
            return None


def _at_least(alert: Alert, minimum: Severity) -> bool:
    return alert.severity >= minimum


class SignedWebhookSink:
    """The alert envelope, signed, to one URL. Alerts below ``min_severity`` are not sent."""

    def __init__(
        self,
        url: str,
        signing_key: str,
        *,
        min_severity: Severity = Severity.INFO,
        clock: Clock = time.time,
        poster: JsonPoster | None = None,
        sleep: Sleep = time.sleep,
        backoff_base: float = BACKOFF_BASE,
    ) -> None:
        if not signing_key:
            raise SettingsError("the webhook secret has no signing_key (value not shown: it is a secret)")
        self._key = signing_key
        self.min_severity = min_severity
        self.clock = clock
        self.poster = poster or JsonPoster(url, "webhook", sleep=sleep, backoff_base=backoff_base)

    def __repr__(self) -> str:
        return "SignedWebhookSink(<url and signing key hidden>)"

    def send(self, alert: Alert) -> None:
        if not _at_least(alert, self.min_severity):
            return
        body = alert_envelope(alert).encode()

        def headers() -> dict[str, str]:
            stamp = int(self.clock())
            return {
                "Content-Type": "application/json",
                TIMESTAMP_HEADER: str(stamp),
                SIGNATURE_HEADER: signature(self._key, stamp, body),
            }

        self.poster.post(body, headers)


class TeamsWebhookSink:
    """An Adaptive Card per alert to a Teams Workflows webhook. Alerts below ``min_severity`` are not sent."""

    def __init__(
        self,
        url: str,
        *,
        min_severity: Severity = Severity.INFO,
        poster: JsonPoster | None = None,
        sleep: Sleep = time.sleep,
        backoff_base: float = BACKOFF_BASE,
    ) -> None:
        self.min_severity = min_severity
        self.poster = poster or JsonPoster(url, "Teams webhook", sleep=sleep, backoff_base=backoff_base)

    def __repr__(self) -> str:
        return "TeamsWebhookSink(<url hidden>)"

    def send(self, alert: Alert) -> None:
        if not _at_least(alert, self.min_severity):
            return
        from core.report.teams_card import teams_message

        body = json.dumps(teams_message(alert)).encode()
        self.poster.post(body, lambda: {"Content-Type": "application/json"})


def secret_fields(
    secret_arn: str,
    required: tuple[str, ...],
    what: str,
    *,
    fetch: Callable[[str, int], Any] | None = None,
    max_age: int = 300,
) -> dict[str, str]:
    """The JSON secret's string fields (``{"url": ..., "signing_key": ...}``); errors never show values."""
    getter = fetch or _powertools_get_secret
    try:
        value = getter(secret_arn, max_age)
    except Exception as exc:  # the AWS error names the ARN, not the value
        first_line = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DeliveryError(f"cannot read the {what} secret {secret_arn}: {first_line}") from None
    text = value.decode() if isinstance(value, bytes) else str(value)
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    fields = list(required)
    if not isinstance(data, dict) or any(not isinstance(data.get(k), str) or not data[k] for k in fields):
        expected = ", ".join(f'"{k}": ...' for k in fields)
        raise SettingsError(f"the secret {secret_arn} is not {what} JSON {{{expected}}} (value not shown)")
    return {k: str(data[k]) for k in fields}


# What a function delivering to Teams or the webhook needs: the secrets' values (the template grants it
# on the configured secrets only).
REQUIRED_PERMISSIONS = frozenset({"secretsmanager:GetSecretValue"})


class SecretSink:
    """A channel whose URL (and key) is read from its secret on the first alert, not at start-up: a
    secret that cannot be read fails that channel's delivery (one ``DeliveryError`` line, the others go
    on: ``FanOutSink``) and is read again on the next alert."""

    def __init__(self, what: str, build: Callable[[], Any]) -> None:
        self.what = what
        self._build = build
        self._sink: Any = None

    def __repr__(self) -> str:
        return f"SecretSink({self.what})"

    def send(self, alert: Alert) -> None:
        if self._sink is None:
            self._sink = self._build()
        self._sink.send(alert)


def channel_sinks(
    webhook_secret_arn: str | None,
    teams_webhook_secret_arn: str | None,
    *,
    webhook_min_severity: Severity = Severity.INFO,
    teams_min_severity: Severity = Severity.INFO,
) -> list[SecretSink]:
    """The signed webhook and Teams of the settings, each read from its secret when first used."""
    found: list[SecretSink] = []
    if webhook_secret_arn:
        arn = webhook_secret_arn

        def webhook() -> SignedWebhookSink:
            secret = secret_fields(arn, ("url", "signing_key"), "a webhook")
            return SignedWebhookSink(secret["url"], secret["signing_key"], min_severity=webhook_min_severity)

        found.append(SecretSink("webhook", webhook))
    if teams_webhook_secret_arn:
        teams_arn = teams_webhook_secret_arn

        def teams() -> TeamsWebhookSink:
            secret = secret_fields(teams_arn, ("url",), "a Teams webhook")
            return TeamsWebhookSink(secret["url"], min_severity=teams_min_severity)

        found.append(SecretSink("Teams webhook", teams))
    return found
