"""The synthetic market of ``mode: sim``, played in (scaled) real time.

``bot.data.generate`` makes the rows (a seeded random walk with a realistic book, trades and
message ends; with ``informed_share`` some trades know the next move, so makers meet adverse
selection); each message is released at its local receive time on the ``MarketClock``, so a
strategy sees a market that moves like a live one, ``speed`` times faster. Chunks are generated
ahead on a worker thread; one generator per instrument, each with its own seed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import numpy as np

from bot.config.schema import SimMarketSection
from bot.core.dtypes import EventFlag
from bot.core.instruments import InstrumentSpec
from bot.data.generate import START_NS, GenerateParams, generate_chunks

_BATCH_END = int(EventFlag.BATCH_END)
DAY_S = 86_400.0
"""Market time one generator covers (it starts over with the next seed after that)."""

FrameSink = Callable[[np.ndarray, int], None]
"""Called with one message's rows and its receive time on ``time.monotonic_ns``."""


def market_params(section: SimMarketSection, spec: InstrumentSpec) -> GenerateParams:
    """Return the generator's parameters for one instrument of a sim run."""
    return GenerateParams(
        events=max(int(section.events_per_s * DAY_S), 1000),
        symbol=spec.symbol,
        venue=spec.venue,
        tick_size=section.tick_size,
        lot_size=section.lot_size,
        price=section.price,
        levels=section.levels,
        duration_s=DAY_S,
        sigma_bps=section.sigma_bps,
        informed_share=section.informed_share,
        informed_impact_bps=section.informed_impact_bps,
    )


def sim_spec(section: SimMarketSection, venue: str, symbol: str) -> InstrumentSpec:
    """Return the spec of a simulated instrument (the grid of the sim section)."""
    return InstrumentSpec(
        venue=venue, symbol=symbol, tick_size=section.tick_size, lot_size=section.lot_size
    )


class SimMarket:
    """Release one instrument's synthetic messages at their time on the market clock."""

    def __init__(
        self,
        section: SimMarketSection,
        spec: InstrumentSpec,
        instrument: int,
        seed: int,
        loop_time_of: Callable[[int], float],
    ) -> None:
        self.params = market_params(section, spec)
        self.instrument = instrument
        self.seed = seed
        self.loop_time_of = loop_time_of
        self.messages = 0
        self.rows = 0
        self.last_rx_ns = 0
        self._chunks: Iterator[np.ndarray] | None = None
        self._first: np.ndarray | None = None

    def prepare(self) -> None:
        """Generate the first chunk now (start-up: compiles or loads the generator kernels)."""
        self._chunks = generate_chunks(self.params, self.seed)
        self._first = next(self._chunks)

    @staticmethod
    def origin_ns() -> int:
        """Return the market time of the first row (the clock's origin)."""
        return START_NS

    async def run(self, sink: FrameSink) -> None:
        """Play messages until cancelled (a new seed after each simulated day)."""
        loop = asyncio.get_running_loop()
        seed = self.seed
        while True:
            chunks = self._chunks or generate_chunks(self.params, seed)
            first, self._chunks, self._first = self._first, None, None
            while True:
                chunk = first if first is not None else await asyncio.to_thread(next, chunks, None)
                first = None
                if chunk is None:
                    break
                chunk["instrument"] = self.instrument
                await self._play(chunk, sink, loop)
            seed += 1

    async def _play(
        self, chunk: np.ndarray, sink: FrameSink, loop: asyncio.AbstractEventLoop
    ) -> None:
        ends = np.flatnonzero(chunk["flags"] & _BATCH_END)
        times = chunk["ts_local_ns"][ends]
        start = 0
        i = 0
        n = ends.shape[0]
        while i < n:
            wait = self.loop_time_of(int(times[i])) - loop.time()
            await asyncio.sleep(max(wait, 0.0))  # yield even when behind: timers, probes
            # everything due by now goes at once, one message at a time (a fast sim would
            # otherwise spend its time in sleeps)
            now_t = loop.time()
            while i < n and self.loop_time_of(int(times[i])) <= now_t:
                end = int(ends[i]) + 1
                rx = time.monotonic_ns()
                sink(chunk[start:end], rx)
                self.messages += 1
                self.rows += end - start
                self.last_rx_ns = rx
                start = end
                i += 1
