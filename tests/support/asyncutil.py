"""Async test helpers: one scaled time unit and ``eventually`` instead of sleeps."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

MS = 0.001
"""One millisecond of test time; scale every timeout in tests from this."""


async def eventually(cond: Callable[[], bool], timeout_s: float = 5.0, what: str = "") -> None:
    """Wait until ``cond()`` is true; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or cond}")
        await asyncio.sleep(2 * MS)
