"""``KernelBookFeed``: shared bookkeeping of the feeds whose book sync is one numba kernel.

Binance USD-M (``sync.depth_update``) and Bybit (``book.book_message``) keep every instrument's
sync state in one int64 table, a row per instrument, that their kernel reads and writes. This
base builds that table from the instruments' grids, marks every book invalid until it is
synced, and holds what the two feeds did alike: the supervisor's ``resync`` and
``invalid_instruments``, invalidating one book (``BOOK_INVALID`` row, phase back to waiting) and
the counters. How a book recovers (REST snapshot or resubscribe) stays in the venue feed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.adapters.base import ConnectionPolicy, EventBuffer, FeedStats, InstrumentRef
from bot.adapters.common import grid_columns, invalidate
from bot.core.book import ST_VALID
from bot.core.dtypes import VenueId


@dataclass(frozen=True, slots=True)
class SyncLayout:
    """Where a venue kernel keeps things in its sync table and its result array."""

    n_columns: int
    grid: tuple[int, int, int, int]
    """Columns of tick mantissa, tick exponent, lot mantissa, lot exponent."""
    instrument: int
    last_u: int
    """Column of the last applied update id (the ``seq`` of a ``BOOK_INVALID`` row)."""
    phase: int
    phase_wait: int
    """Phase value meaning "waiting for a snapshot"."""
    n_res: int


class KernelBookFeed:
    """Base of ``BinanceUsdmFeed`` and ``BybitFeed``; see the module docstring."""

    venue: VenueId
    layout: SyncLayout
    reconnect_requested = False
    """Set when the venue announces a connection close (see ``MarketDataFeed``)."""

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        policy: ConnectionPolicy,
    ) -> None:
        if not instruments:
            raise ValueError("a feed needs at least one instrument")
        layout = self.layout
        self.stats = FeedStats()
        self.policy = policy
        self._refs = list(instruments)
        self._qty = qty
        self._state = state
        self._local = {ref.spec.symbol: k for k, ref in enumerate(self._refs)}
        self._sync = np.zeros((len(self._refs), layout.n_columns), dtype=np.int64)
        for k, ref in enumerate(self._refs):
            self._sync[k, list(layout.grid)] = grid_columns(ref)
            self._sync[k, layout.instrument] = ref.instrument
            state[ref.instrument, ST_VALID] = 0
        self._res = np.zeros(layout.n_res, dtype=np.int64)

    def invalid_instruments(self) -> Sequence[int]:
        """Return the instruments whose book is not in sync."""
        return [r.instrument for r in self._refs if self._state[r.instrument, ST_VALID] == 0]

    def carries_books(self, url: str) -> bool:
        """Return whether the connection of ``url`` carries book streams (default: yes)."""
        return True

    def on_disconnect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """Invalidate every book the dropped connection carried; they wait for ``on_connect``."""
        if not self.carries_books(url):
            return
        for k in range(len(self._refs)):
            self._invalidate(k, "disconnect", ts_local_ns, out)
        self._forget_recovery()

    def _forget_recovery(self) -> None:
        """Drop recovery in progress (buffers, requests): the next connect starts afresh."""

    def resync(self, instrument: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate one instrument and start its recovery (supervisor: staleness)."""
        for k, ref in enumerate(self._refs):
            if ref.instrument == instrument:
                self._start_resync(k, reason, ts_local_ns, out)
                return

    def _start_resync(self, local: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate the book of sync row ``local`` and ask the venue for a fresh one."""
        raise NotImplementedError

    def _invalidate(self, local: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Mark sync row ``local``'s book invalid (``BOOK_INVALID`` row, counted) and waiting."""
        layout = self.layout
        invalidate(
            out,
            self._state,
            self.stats,
            venue=int(self.venue),
            instrument=self._refs[local].instrument,
            ts_local_ns=ts_local_ns,
            reason=reason,
            seq=int(self._sync[local, layout.last_u]),
        )
        self._sync[local, layout.phase] = layout.phase_wait

    def _malformed(self, reason: str) -> None:
        self.stats.malformed += 1
        self._count(reason)

    def _count(self, reason: str) -> None:
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1
