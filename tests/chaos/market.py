"""One seeded chaos run of the market-data path: the real Bybit feed under its supervisor.

The feed and ``FeedSupervisor`` are the ones ``tickbot run`` builds in paper and live mode
(``bot.app.App._market_data``); they write the book arrays the strategy reads. The venue is
``ChaosBybit`` (the protocol-true synthetic Bybit market of ``tests/chaos/live.py``) on
loopback. Faults from the seed: a skipped sequence number (a gap), a broken frame, a dropped
connection (an outage until the bot notices), a stalled stream (longer or shorter than the
supervisor's staleness limit). After each fault the market runs on, then pauses: once the
feed has caught up, the book the strategy sees (every level and size, from ``depth``) must
equal the venue's, and a gap must have been detected and resynced (the resync counter moved).
At the end no supervisor task is left behind.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import numpy as np

from bot.core.book import ST_ASK_LEVELS, ST_BID_LEVELS, ST_VALID, depth, new_books
from bot.core.instruments import InstrumentSpec
from bot.ingest.venues import build_feed
from tests.chaos.live import ChaosBybit
from tests.chaos.session import Outcome
from tests.support.ingest import fast_options, supervised
from tests.support.synthetic_bybit import SYMBOL

STALE_S = 1.0
"""The supervisor resyncs a book unchanged for this long (a stalled stream)."""
CATCH_UP_S = 15.0
KINDS = ("md_gap", "md_malformed", "md_disconnect", "md_stall")
SPEC = InstrumentSpec(venue="bybit", symbol=SYMBOL, tick_size="0.1", lot_size="0.001")


def book_of(qty: np.ndarray, state: np.ndarray) -> tuple[dict[int, int], dict[int, int]] | None:
    """Return the strategy's book of instrument 0 as {tick: lots} per side (None: invalid)."""
    if state[0, ST_VALID] != 1:
        return None
    sides = []
    for side, col in enumerate((ST_BID_LEVELS, ST_ASK_LEVELS)):
        n = int(state[0, col])
        px = np.zeros(n, dtype=np.int64)
        sz = np.zeros(n, dtype=np.int64)
        depth(qty, state, 0, side, n, px, sz)
        sides.append(dict(zip(px.tolist(), sz.tolist(), strict=True)))
    return sides[0], sides[1]


class MarketSession:
    """The seeded run (``run`` drives it; see the module docstring)."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.out = Outcome(seed, "market", "bybit-md")
        self.trace: list[str] = []
        self.market = ChaosBybit(seed=1 + seed % 7)
        self.feed: Any = None
        self._before = (0, 0)

    def _gaps(self) -> tuple[int, int]:
        """The feed's (gaps detected, resyncs) so far."""
        stats = self.feed.stats
        return stats.gaps, sum(stats.by_reason.values())

    async def run(self) -> Outcome:
        began = time.monotonic()
        market = self.market
        await market.start()
        qty, state = new_books(1)
        feed = self.feed = build_feed("bybit", [SPEC], qty, state, ws_url=market.ws_url,
                                      rest_url=market.rest_url)  # fmt: skip
        try:
            options = fast_options(instrument_stale_s=STALE_S)
            async with supervised(feed, state, {0: SYMBOL}, options) as (sup, sink):
                await self._until(lambda: book_of(qty, state) is not None, "first book")
                for _ in range(self.rng.randint(4, 8)):
                    kind = self.rng.choice(KINDS)
                    self.out.faults[kind] += 1
                    self.trace.append(f"{time.monotonic() - began:6.1f} s {kind}")
                    await self._fault(kind, sup)
                    await self._checkpoint(kind, qty, state)
                if sink.violations:
                    self.out.violations.append(f"{sink.violations} crossed valid books")
        except (AssertionError, TimeoutError) as e:
            self.out.violations.append(f"stuck: {e}")
        except Exception as e:  # a crash of the run is a finding
            self.out.violations.append(f"error: {type(e).__name__}: {e}")
        finally:
            await market.stop()
        self.out.seconds = time.monotonic() - began
        return self.out

    async def _until(self, cond: object, what: str, timeout_s: float = CATCH_UP_S) -> None:
        deadline = time.monotonic() + timeout_s
        while not cond():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out: {what}")
            await asyncio.sleep(0.005)

    async def _fault(self, kind: str, sup: object) -> None:
        market = self.market
        self._before = self._gaps()
        if kind == "md_gap":
            market.skip_next = True
        elif kind == "md_malformed":
            market.malformed_next = True
        elif kind == "md_disconnect":
            await market.disconnect()
            await asyncio.sleep(self.rng.uniform(0.05, 0.5))  # the outage lasts a while
            market.reconnect()
        elif kind == "md_stall":
            market.paused = True
            await asyncio.sleep(self.rng.uniform(0.2, 2.5))  # around the staleness limit
            market.paused = False
        sent = market.messages_sent
        await self._until(
            lambda: market.messages_sent >= sent + self.rng.randint(20, 200), "the market moving"
        )

    async def _checkpoint(self, kind: str, qty: np.ndarray, state: np.ndarray) -> None:
        market = self.market
        market.paused = True
        try:
            venue = (dict(market.bids), dict(market.asks))
            try:
                await self._until(lambda: book_of(qty, state) == venue, "book caught up")
            except AssertionError:
                got = book_of(qty, state)
                self.out.violations.append(
                    f"after {kind}: strategy's book differs from the venue's "
                    f"({'invalid' if got is None else _diff(got, venue)})"
                )
            gaps, resyncs = self._gaps()
            if kind == "md_gap" and (gaps <= self._before[0] or resyncs <= self._before[1]):
                self.out.violations.append("a sequence gap was not detected and resynced")
        finally:
            market.paused = False


def _diff(got: tuple[dict[int, int], dict[int, int]], want: tuple[dict[int, int], ...]) -> str:
    parts = []
    for name, g, w in zip(("bids", "asks"), got, want, strict=True):
        extra = {p: q for p, q in g.items() if w.get(p) != q}
        missing = {p: q for p, q in w.items() if g.get(p) != q}
        if extra or missing:
            parts.append(f"{name}: bot has {extra}, venue has {missing}")
    return "; ".join(parts)
