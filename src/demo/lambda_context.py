"""A stand-in for the context object AWS Lambda passes to a handler (what Powertools and the custom
resource's watchdog read from it). The one fake context: the demo, the tests and the benchmarks use it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from demo.emulator import ACCOUNT_ID, REGION


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "demo"
    remaining_ms: int = 60_000  # what get_remaining_time_in_millis answers (the function's time left)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms
