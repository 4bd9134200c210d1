"""The venue's clock as seen from here: offset estimated from server-time round trips.

Signed requests carry the venue's time (``local wall clock + offset``), so a drifting host or a
venue whose clock runs ahead does not make every request fail its receive window. ``sync`` takes
a few samples and keeps the one with the shortest round trip (its midpoint is the tightest
estimate, as in NTP). ``resync`` is what a timestamp rejection calls: many rejections at once
cause one resync, and at most one per ``min_interval_s`` — never a retry storm.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

SAMPLES = 3
MIN_RESYNC_INTERVAL_S = 5.0
_NS_PER_MS = 1_000_000


class ServerClock:
    """Offset (ms) between the venue's clock and ours, and the venue's current time."""

    def __init__(
        self,
        fetch_server_ms: Callable[[], Awaitable[int]],
        *,
        samples: int = SAMPLES,
        min_interval_s: float = MIN_RESYNC_INTERVAL_S,
    ) -> None:
        self._fetch = fetch_server_ms
        self._samples = samples
        self._min_interval_ns = int(min_interval_s * 1e9)
        self._lock = asyncio.Lock()
        self._last_sync_ns: int | None = None
        self.offset_ms = 0
        self.rtt_ms: float | None = None
        self.syncs = 0
        """How many times the offset was measured (tests and metrics read it)."""

    def now_ms(self) -> int:
        """The venue's current time in ms since the epoch, by our estimate."""
        return time.time_ns() // _NS_PER_MS + self.offset_ms

    async def sync(self) -> None:
        """Measure the offset now (a few round trips to the venue's time endpoint)."""
        async with self._lock:
            await self._measure()

    async def resync(self) -> bool:
        """Measure again after a timestamp rejection, unless one just happened; True if it did."""
        seen = self.syncs
        async with self._lock:
            if self.syncs != seen:
                return False  # a concurrent rejection already resynced while we waited
            last = self._last_sync_ns
            if last is not None and time.monotonic_ns() - last < self._min_interval_ns:
                return False
            await self._measure()
            return True

    async def _measure(self) -> None:
        best: tuple[int, int] | None = None  # (rtt_ns, offset_ms)
        for _ in range(self._samples):
            t0 = time.time_ns()
            server_ms = await self._fetch()
            t1 = time.time_ns()
            rtt = t1 - t0
            offset = server_ms - (t0 + rtt // 2) // _NS_PER_MS
            if best is None or rtt < best[0]:
                best = (rtt, offset)
        if best is not None:
            self.rtt_ms = best[0] / _NS_PER_MS
            self.offset_ms = best[1]
        self._last_sync_ns = time.monotonic_ns()
        self.syncs += 1
