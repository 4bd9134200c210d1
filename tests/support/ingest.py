"""Run a ``FeedSupervisor`` in a test and check what reaches the core."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np

from bot.adapters.base import MarketDataFeed
from bot.ingest.capture import CaptureError, read_capture
from bot.ingest.supervisor import FeedSupervisor, SupervisorOptions
from bot.ingest.transport import DEFAULT_TRANSPORT, TRANSPORTS, TransportName
from tests.support.books import valid_books_uncrossed

SUPERVISOR_TASKS = ("ws-", "snapshot-", "monitor", "watchdog-")
TRANSPORT_ENV = "TICKBOT_TEST_TRANSPORT"
"""Run the loopback tests on this WebSocket transport (default: the product's default)."""


def env_transport() -> TransportName:
    """Return the transport named by ``TICKBOT_TEST_TRANSPORT`` (the default when unset)."""
    name = os.environ.get(TRANSPORT_ENV, DEFAULT_TRANSPORT)
    for known in TRANSPORTS:
        if name == known:
            return known
    raise ValueError(f"{TRANSPORT_ENV}={name!r}: expected one of {', '.join(TRANSPORTS)}")


transport: TransportName = env_transport()
"""The transport ``fast_options`` selects; tests/e2e/conftest.py sets it per test."""


class RecordingSink:
    """Keeps every batch of rows and checks, at every hand-off, that no valid book is crossed."""

    def __init__(self, state: np.ndarray, instruments: Sequence[int]) -> None:
        self.state = state
        self.instruments = list(instruments)
        self.batches: list[np.ndarray] = []
        self.violations = 0

    def __call__(self, rows: np.ndarray) -> None:
        self.batches.append(rows.copy())
        if not valid_books_uncrossed(self.state, self.instruments):
            self.violations += 1

    def rows(self) -> np.ndarray:
        return np.concatenate(self.batches) if self.batches else np.zeros(0)


class LongestJitter(random.Random):
    """Every jittered delay at its ceiling: for a test that needs a backoff to last (full
    jitter draws from zero, and how many draws came before depends on timing)."""

    def uniform(self, a: float, b: float) -> float:
        return b


def fast_options(**overrides: object) -> SupervisorOptions:
    """Options with test-scaled backoffs and periods."""
    from bot.ingest.backoff import Backoff

    base = {
        "backoff": Backoff(base_s=0.01, cap_s=0.05, stable_after_s=5.0),
        "snapshot_backoff": Backoff(base_s=0.01, cap_s=0.05),
        "watchdog_period_s": 0.02,
        "monitor_period_s": 0.05,
        "connect_timeout_s": 2.0,
        "snapshot_min_interval_s": 0.01,
        "transport": transport,
    }
    base.update(overrides)
    return SupervisorOptions(**base)  # type: ignore[arg-type]


def supervisor_tasks() -> list[asyncio.Task]:
    return [
        t for t in asyncio.all_tasks() if not t.done() and t.get_name().startswith(SUPERVISOR_TASKS)
    ]


@contextlib.asynccontextmanager
async def supervised(
    feed: MarketDataFeed,
    state: np.ndarray,
    symbols: dict[int, str],
    options: SupervisorOptions | None = None,
    **kwargs: object,
) -> AsyncIterator[tuple[FeedSupervisor, RecordingSink]]:
    """Run the supervisor for the body of the ``async with``; then cancel it and check leaks."""
    sink = RecordingSink(state, list(symbols))
    sup = FeedSupervisor(
        feed,
        sink,
        state,
        symbols=symbols,
        options=options or fast_options(),
        **{"rng": random.Random(7), **kwargs},
    )  # type: ignore[arg-type]
    task = asyncio.create_task(sup.run(), name="supervisor-under-test")
    try:
        yield sup, sink
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert supervisor_tasks() == [], "supervisor tasks leaked"


def captured_so_far(out: Path) -> list[str | bytes]:
    """Return the WebSocket messages a capture still being written holds on disk so far.

    The recorder flushes every fraction of a second; the unfinished gzip tail is ignored.
    """
    msgs: list[str | bytes] = []
    with contextlib.suppress(CaptureError):  # no file yet, or the end of what is flushed so far
        msgs.extend(line.msg for line in read_capture(out) if line.ch == "ws")
    return msgs
