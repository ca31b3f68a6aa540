"""Slack direct messages to owners: ``chat.postMessage`` to a member ID with a bot token (``chat:write``).

Posting to a member ID opens the DM with that person. 429 answers are retried after their
``Retry-After`` (slack_sdk's rate-limit handler, at most twice); Slack's error codes
(``channel_not_found``, ``invalid_auth``...) become one-line ``DeliveryError``s. The token is a secret:
never logged, never in an error, hidden from ``repr``; it comes from a Secrets Manager secret
``{"token": "xoxb-..."}``.
"""

from __future__ import annotations

from typing import Any

from core.model.errors import DeliveryError, SettingsError
from core.report.slack import _silent_sdk_logger

RATE_LIMIT_RETRIES = 2


class SlackBotSender:
    def __init__(
        self, token: str, *, base_url: str | None = None, client: Any = None, timeout: int = 5
    ) -> None:
        if not token.startswith("xox"):
            raise SettingsError("the Slack bot secret does not hold a bot token (xoxb-...; value not shown)")
        self._token = token
        self._base_url = base_url
        self._client = client
        self.timeout = timeout

    def __repr__(self) -> str:
        return "SlackBotSender(<token hidden>)"

    @property
    def client(self) -> Any:
        if self._client is None:
            from slack_sdk import WebClient
            from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

            kwargs: dict[str, Any] = {"base_url": self._base_url} if self._base_url else {}
            self._client = WebClient(
                token=self._token,
                timeout=self.timeout,
                logger=_silent_sdk_logger(),
                retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
                **kwargs,
            )
        return self._client

    def send(self, member_id: str, text: str) -> None:
        from slack_sdk.errors import SlackApiError

        try:
            self.client.chat_postMessage(channel=member_id, text=text, unfurl_links=False)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "")) if exc.response is not None else ""
            status = getattr(exc.response, "status_code", "?")
            raise DeliveryError(f"Slack chat.postMessage failed: HTTP {status} {code or 'error'}") from None
        except Exception as exc:  # timeouts, connection errors
            raise DeliveryError(f"Slack chat.postMessage failed: {type(exc).__name__}") from None
