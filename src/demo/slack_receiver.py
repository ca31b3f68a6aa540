"""A local HTTP server standing in for a Slack incoming webhook: it records every POST it receives.

Bound to 127.0.0.1 on an ephemeral port; answers ``ok`` like Slack does. Lets the demo and the tests
prove that an alert really left the process and what it said. It also records PUTs, standing in for
the pre-signed S3 URL a CloudFormation custom resource replies to (``response_url``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class ReceivedPost:
    path: str
    body: bytes
    method: str = "POST"

    def json(self) -> Any:
        return json.loads(self.body)


class SlackReceiver:
    """Use as a context manager; ``url`` is the webhook URL to configure, ``posts`` what arrived."""

    def __init__(self) -> None:
        self.posts: list[ReceivedPost] = []
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
                with receiver._lock:
                    receiver.posts.append(ReceivedPost(self.path, body, method))
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                del format, args  # quiet: the demo prints what matters

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        """The Slack incoming-webhook URL to configure."""
        return f"{self.base_url}/services/T000DEMO/B000DEMO/demo"

    @property
    def response_url(self) -> str:
        """Where a custom resource's reply to CloudFormation goes (PUT)."""
        return f"{self.base_url}/cloudformation-response"

    def __enter__(self) -> SlackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def received(self) -> list[ReceivedPost]:
        """The Slack posts, in order."""
        with self._lock:
            return [p for p in self.posts if p.method == "POST"]

    def cloudformation_replies(self) -> list[ReceivedPost]:
        with self._lock:
            return [p for p in self.posts if p.method == "PUT"]
