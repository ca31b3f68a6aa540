"""The CloudFormation custom-resource reply: one PUT of a JSON body to the pre-signed ``ResponseURL``.

The only module that talks to that URL. CloudFormation waits (up to the resource's ServiceTimeout) for
exactly one reply, so ``Replier`` sends at most once, whoever asks first: the handler or its timeout
watchdog. The URL is pre-signed (it carries a signature), so it is never logged.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from core.model.errors import DeliveryError

MAX_BODY_BYTES = 4096  # CloudFormation rejects larger replies
MAX_REASON_CHARS = 1000

Opener = Callable[..., Any]
# CloudFormation's pre-signed response URLs point at its own bucket in the stack's region, e.g.
# https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/...; loopback for emulators.
_RESPONSE_HOST = re.compile(
    r"^cloudformation-custom-resource-response-[a-z0-9]+\.s3(?:[.-][a-z0-9-]+)?\.amazonaws\.com(?:\.cn)?$"
)


def is_response_url(url: str) -> bool:
    """Only CloudFormation's response bucket (https) or a local emulator (http://127.0.0.1) is answered."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "http" and parts.hostname == "127.0.0.1":
        return True
    return parts.scheme == "https" and bool(_RESPONSE_HOST.match(parts.hostname or ""))


def put_json(
    url: str,
    body: dict[str, Any],
    *,
    timeout: float = 10.0,
    attempts: int = 3,
    opener: Opener = urllib.request.urlopen,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """PUT ``body`` to the pre-signed URL; retry network failures; raise ``DeliveryError`` at the end."""
    if not is_response_url(url):
        raise DeliveryError("refusing to reply: the ResponseURL is not CloudFormation's response bucket")
    data = json.dumps(body, separators=(",", ":")).encode()
    # An empty Content-Type is what the pre-signed S3 URL was signed for.
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=data, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(data))}
    )
    last = ""
    for attempt in range(attempts):
        try:
            with opener(request, timeout=timeout) as response:
                status = getattr(response, "status", 200)
                if 200 <= status < 300:
                    return
                last = f"HTTP {status}"
        except OSError as exc:  # URLError, HTTPError, timeouts and connection resets are all OSError
            last = type(exc).__name__ + (f" {exc.code}" if hasattr(exc, "code") else "")
        if attempt + 1 < attempts:
            sleep(0.5 * 2**attempt)
    raise DeliveryError(f"reply to CloudFormation not delivered after {attempts} attempts: {last}")


class Replier:
    """Sends the one reply a custom-resource request gets; later calls are ignored (and say so)."""

    def __init__(self, url: str, *, send: Callable[[str, dict[str, Any]], None] = put_json) -> None:
        self._url = url
        self._send = send
        self._lock = threading.Lock()
        self.sent: dict[str, Any] | None = None

    def reply(self, body: dict[str, Any]) -> bool:
        """Send ``body`` unless a reply already went out; True if this call sent it."""
        with self._lock:
            if self.sent is not None:
                return False
            self.sent = fit_body(body)
            self._send(self._url, self.sent)
            return True


def fit_body(body: dict[str, Any]) -> dict[str, Any]:
    """Keep the reply under CloudFormation's 4 KB: shorten the reason, then drop ``Data`` if needed."""
    fitted = dict(body)
    reason = str(fitted.get("Reason", ""))
    if len(reason) > MAX_REASON_CHARS:
        fitted["Reason"] = reason[: MAX_REASON_CHARS - 3] + "..."
    if len(json.dumps(fitted).encode()) > MAX_BODY_BYTES:
        fitted.pop("Data", None)
    return fitted
