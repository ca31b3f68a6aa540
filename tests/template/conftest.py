"""Fixtures for the deploy tests: a local receiver standing in for CloudFormation's pre-signed ResponseURL."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class ResponseReceiver:
    """Records every PUT it gets; answers the first ``failures`` of them with HTTP 500."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    content_types: list[str | None] = field(default_factory=list)
    failures: int = 0


@pytest.fixture
def receiver() -> Iterator[ResponseReceiver]:
    state = ResponseReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = self.rfile.read(length)
            if state.failures > 0:
                state.failures -= 1
                self.send_response(500)
                self.end_headers()
                return
            state.bodies.append(json.loads(payload))
            state.content_types.append(self.headers.get("Content-Type"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/response?X-Amz-Signature=secret"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@dataclass
class FakeContext:
    """What Powertools and the watchdog read from Lambda's context object."""

    remaining_ms: int = 120_000
    function_name: str = "iam-guard-PolicyResourceFunction"
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    invoked_function_arn: str = (
        "arn:aws:lambda:us-east-1:123456789012:function:iam-guard-PolicyResourceFunction"
    )

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
