"""The local clock of a live run, and how its nanoseconds map onto the asyncio loop's time.

Paper and live trade on the wall clock (``time.time_ns``: what feeds stamp frames with). ``sim``
runs a synthetic market on its own clock, ``speed`` times faster than the wall, starting at the
market's first timestamp; timers set in market time fire at the right loop time either way.
"""

from __future__ import annotations

import asyncio
import time


class WallClock:
    """Local time is the wall clock (paper, live)."""

    speed = 1.0

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def now_ns(self) -> int:
        """Return the local time in ns."""
        return time.time_ns()

    def loop_time(self, ns: int) -> float:
        """Return the loop time (``loop.time()``) at which local time ``ns`` comes."""
        return self.loop.time() + (ns - time.time_ns()) * 1e-9


class MarketClock:
    """Local time of a synthetic market: ``origin_ns`` at start, ``speed`` x wall time after."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin_ns: int, speed: float) -> None:
        self.loop = loop
        self.origin_ns = origin_ns
        self.speed = speed
        self.t0 = loop.time()

    def restart(self) -> None:
        """Make now the origin again (after slow start-up work)."""
        self.t0 = self.loop.time()

    def now_ns(self) -> int:
        """Return the market's local time in ns."""
        return self.origin_ns + int((self.loop.time() - self.t0) * 1e9 * self.speed)

    def loop_time(self, ns: int) -> float:
        """Return the loop time at which market time ``ns`` comes."""
        return self.t0 + (ns - self.origin_ns) * 1e-9 / self.speed


Clock = WallClock | MarketClock
