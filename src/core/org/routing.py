"""An IAM client that reads with one role and writes with another, assumed only when a write comes.

``core.sweep.run`` and ``core.guardrail.state`` call IAM through ``IamGateway``, which looks each operation
up on
its client by name. This object stands in for that client: reads (``Get*``, ``List*``,
``GenerateCredentialReport``) go to the audit role's client; the first write assumes the write role in
the same account, and every later write uses it. A read-only run therefore costs one ``AssumeRole``,
whatever the sweep does, and the sweep's own code stays the single copy of the logic.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

READ_PREFIXES = ("Get", "List", "Generate")
_READ_METHOD_PREFIXES = ("get_", "list_", "generate_")


def is_read_action(action: str) -> bool:
    """``iam:GetUser`` -> True; ``iam:AddUserToGroup`` -> False (the audit role gets only reads)."""
    return action.split(":", 1)[-1].startswith(READ_PREFIXES)


class RoutingIamClient:
    def __init__(self, read_client: Any, write_client_factory: Callable[[], Any]) -> None:
        self._read = read_client
        self._write_factory = write_client_factory
        self._write: Any = None
        self._write_error: Exception | None = None
        self._lock = threading.Lock()

    @property
    def wrote(self) -> bool:
        """Whether a write came (the write role was assumed, or its assumption failed)."""
        return self._write is not None or self._write_error is not None

    def write_client(self) -> Any:
        with self._lock:
            if self._write_error is not None:  # assume once: a denied write role stays denied this run
                raise self._write_error
            if self._write is None:
                try:
                    self._write = self._write_factory()
                except Exception as exc:
                    self._write_error = exc
                    raise
            return self._write

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name.startswith(_READ_METHOD_PREFIXES) or name in {"meta", "exceptions"}:
            return getattr(self._read, name)
        return getattr(self.write_client(), name)
