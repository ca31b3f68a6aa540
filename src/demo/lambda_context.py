"""A stand-in for the context object AWS Lambda passes to a handler (what Powertools reads from it)."""

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

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000
