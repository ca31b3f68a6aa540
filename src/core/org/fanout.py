"""The fan-out driver: run one function per item on a thread pool, never more than N in flight.

The same bound as the hub's Distributed Map (``MaxConcurrency``, see ``core.org.workflow``); the
function must not raise (per-item failures are results), anything it does raise is a bug and surfaces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_MAX_CONCURRENCY = 40
MAX_CONCURRENCY_LIMIT = 1000
DEFAULT_MAX_FAILED_PERCENT = 5.0


@dataclass(frozen=True)
class FanOutSettings:
    """Shared by the CLI driver and the generated state machine (one source for both)."""

    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    max_failed_percent: float = DEFAULT_MAX_FAILED_PERCENT

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrency <= MAX_CONCURRENCY_LIMIT:
            raise ValueError(f"max concurrency {self.max_concurrency} outside 1..{MAX_CONCURRENCY_LIMIT}")
        if not 0 <= self.max_failed_percent <= 100:
            raise ValueError(f"max failed percent {self.max_failed_percent} outside 0..100")


def fan_out(items: Sequence[T], fn: Callable[[T], R], max_concurrency: int) -> list[R]:
    """``[fn(item) for item in items]``, at most ``max_concurrency`` at a time; results in item order."""
    if not items:
        return []
    workers = max(1, min(max_concurrency, len(items)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="iam-guard-account") as pool:
        return list(pool.map(fn, items))
