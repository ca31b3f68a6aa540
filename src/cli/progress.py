"""Progress lines on stderr for the waits an operator would otherwise stare at: the credential report,
each page of IAM's listings (a large account's users, groups and policies), the accounts of ``--org``.

Shown only when stderr is a terminal and neither ``--no-progress`` nor ``-q/--quiet`` is given; stdout
never carries any of it. Each line is overwritten in place and cleared when the wait ends.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    def __init__(
        self, *, enabled: bool, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic
    ):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.clock = clock
        self._started: float | None = None
        self._shown = False
        self._lock = threading.Lock()  # calls are made from worker threads too

    @classmethod
    def for_terminal(cls, *, quiet: bool, no_progress: bool) -> Progress:
        return cls(enabled=not (quiet or no_progress) and sys.stderr.isatty())

    def say(self, text: str) -> None:
        if self.enabled:
            with self._lock:
                self.stream.write(f"\r\033[K{text}")
                self.stream.flush()
                self._shown = True

    def call(self, operation: str, count: int, total: int) -> None:
        """A ``CallCounter`` hook: one line per page of a listing (the report's own wait says the rest)."""
        if operation.startswith("List") or operation == "GetAccountAuthorizationDetails":
            self.say(f"iam-guard: reading IAM: {operation} page {count} ({total} calls so far)")

    def waiting_sleep(self, seconds: float) -> None:
        """A ``sleep`` for the sweep's credential-report polls that says why it waits."""
        if self._started is None:
            self._started = self.clock()
        waited = self.clock() - self._started
        self.say(f"iam-guard: waiting for IAM to generate the credential report ({waited:.0f} s; up to 45 s)")
        time.sleep(seconds)

    def accounts(self, done: int, total: int) -> None:
        """``audit --org``: one line, accounts done of all."""
        self.say(f"iam-guard: {done}/{total} accounts swept")

    def done(self) -> None:
        with self._lock:
            if self.enabled and self._shown:
                self.stream.write("\r\033[K")
                self.stream.flush()
                self._shown = False
