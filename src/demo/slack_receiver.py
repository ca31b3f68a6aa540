"""A local HTTP server standing in for a Slack incoming webhook and for CloudFormation's response URL.

Bound to 127.0.0.1 on an ephemeral port; records every POST (Slack) and PUT (the pre-signed S3 URL a
custom resource replies to, ``response_url``) and answers ``200 ok`` like Slack does. Lets the demo and
the tests prove that an alert or a reply really left the process and what it said. Tests script other
answers (``script``: status, body, headers, a delay for timeouts). The one local receiver of the
project: the demo, the end-to-end tests and the delivery tests all use it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer: HTTP status, body and headers, sent after ``delay`` seconds."""

    status: int = 200
    body: str = "ok"
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class ReceivedPost:
    """One request as it arrived (POST or PUT)."""

    path: str
    body: bytes
    method: str = "POST"
    content_type: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


class SlackReceiver:
    """Use as a context manager; ``url`` is the webhook URL to configure, ``received()`` what arrived.

    ``token`` is the last part of the webhook URL (the secret part of a real one).
    """

    def __init__(self, token: str = "demo") -> None:  # noqa: S107 - a stand-in, not a credential
        self.token = token
        self.posts: list[ReceivedPost] = []
        self._replies: list[Reply] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self._record("POST")

            def do_PUT(self) -> None:
                self._record("PUT")

            def _record(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                received = ReceivedPost(self.path, body, method, self.headers.get("Content-Type"))
                with receiver._lock:
                    receiver.posts.append(received)
                    reply = receiver._replies.pop(0) if receiver._replies else Reply()
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body.encode()
                try:
                    self.send_response(reply.status)
                    if "Content-Type" not in reply.headers:
                        self.send_header("Content-Type", "text/plain")
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet: the demo prints what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The Slack incoming-webhook URL to configure."""
        return f"{self.base_url}/services/T000DEMO/B000DEMO/{self.token}"

    @property
    def response_url(self) -> str:
        """Where a custom resource's reply to CloudFormation goes (PUT), shaped like a pre-signed URL."""
        return f"{self.base_url}/cloudformation-response?X-Amz-Signature=0123456789abcdef"

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def script(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order; then ``200 ok`` again."""
        with self._lock:
            self._replies[:] = list(replies)

    def received(self, method: str = "POST") -> list[ReceivedPost]:
        """The Slack posts (or the requests of another method), in order."""
        with self._lock:
            return [p for p in self.posts if p.method == method]

    def payloads(self) -> list[Any]:
        """The JSON body of every Slack post, in order."""
        return [post.json() for post in self.received()]

    def cloudformation_replies(self) -> list[ReceivedPost]:
        return self.received("PUT")

    def clear(self) -> None:
        with self._lock:
            self.posts.clear()
