"""Helpers for router tests on the ``sim`` venue: specs, market rows, a router factory."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.adapters.sim import SimExchange, SimOrderEntry, SimUserStream
from bot.core import risk
from bot.core.dtypes import (
    EVENT_DTYPE,
    EventFlag,
    EventKind,
    OrderAction,
    OrderFlag,
    Side,
    empty_intents,
)
from bot.core.instruments import InstrumentSpec
from bot.execution import Account, AccountSettings, Journal, Router

SPEC = InstrumentSpec(venue="sim", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")


def book(inst: int, bid_tick: int, ask_tick: int, qty_lot: int = 10) -> np.ndarray:
    """Return rows setting one bid and one ask level."""
    rows = np.zeros(2, dtype=EVENT_DTYPE)
    rows[0]["kind"] = EventKind.BOOK_BID
    rows[1]["kind"] = EventKind.BOOK_ASK
    rows["instrument"] = inst
    rows[0]["price_tick"] = bid_tick
    rows[1]["price_tick"] = ask_tick
    rows["qty_lot"] = qty_lot
    rows[1]["flags"] = EventFlag.BATCH_END
    return rows


def trade(inst: int, kind: EventKind, price_tick: int, qty_lot: int) -> np.ndarray:
    """Return one public trade row."""
    rows = np.zeros(1, dtype=EVENT_DTYPE)
    rows[0]["kind"] = kind
    rows[0]["instrument"] = inst
    rows[0]["price_tick"] = price_tick
    rows[0]["qty_lot"] = qty_lot
    rows[0]["flags"] = EventFlag.BATCH_END
    return rows


def intent(
    action: OrderAction, side: Side = Side.NONE, price_tick: int = 0, qty_lot: int = 0,
    coid: int = 0, flags: OrderFlag = OrderFlag.NONE, inst: int = 0,
) -> np.ndarray:  # fmt: skip
    """Return a one-row intent array."""
    it = empty_intents(1)
    it[0]["action"] = action
    it[0]["side"] = side
    it[0]["price_tick"] = price_tick
    it[0]["qty_lot"] = qty_lot
    it[0]["client_order_id"] = coid
    it[0]["flags"] = flags
    it[0]["instrument"] = inst
    return it


@dataclass
class Rows:
    """Collects the rows the router hands to the engine."""

    updates: list[np.void] = field(default_factory=list)
    fills: list[np.void] = field(default_factory=list)

    def on_update(self, rows: np.ndarray) -> None:
        self.updates.extend(r.copy() for r in rows)

    def on_fill(self, rows: np.ndarray) -> None:
        self.fills.extend(r.copy() for r in rows)

    def statuses(self, coid: int) -> list[int]:
        return [int(r["status"]) for r in self.updates if int(r["client_order_id"]) == coid]


def limits(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return open risk limits for ``n`` instruments."""
    lim, state, counts = risk.new_risk(n)
    row = risk.make_limits(
        max_position_lot=10_000, max_order_lot=1_000, max_notional_quote=1e12,
        price_band_bps=10_000, max_open_orders=100, orders_per_s=1e6, burst=1e6,
    )  # fmt: skip
    lim[:] = row
    return lim, state, counts


@dataclass
class Rig:
    """A router on a sim venue, with its journal directory and collected rows."""

    router: Router
    ex: SimExchange
    rows: Rows
    limits: np.ndarray
    state: np.ndarray
    counts: np.ndarray
    journal_dir: Path

    def send(self, it: np.ndarray, mid_tick: float = 10000.0) -> int:
        """Pass ``it`` through the risk kernel like the engine, then to the router."""
        ok = np.zeros(it.shape[0], dtype=bool)
        for i in range(it.shape[0]):
            reason = risk.check_intent(
                self.limits, self.state, self.counts, it, i, mid_tick, 1e-4, 1
            )
            ok[i] = reason == 0
        passed = it[ok]
        self.router.send(passed, passed.shape[0], 0)
        it[ok] = passed
        return int(passed["client_order_id"][0]) if passed.shape[0] else 0


async def crash(rig: Rig, flush: bool = True) -> None:
    """Stop a router as a killed process would: no cancels; the journal as far as flushed."""
    router = rig.router
    tasks = [*router._tasks, *router._bg]
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if flush:
        router.journal.close()
    else:  # drop what was queued but not yet written (a power loss)
        with router.journal._lock:
            router.journal._queue.clear()
        router.journal.close()


def make_rig(
    journal_dir: Path, specs: Sequence[InstrumentSpec] = (SPEC,), *, stream: bool = True,
    ex: SimExchange | None = None, settings: AccountSettings | None = None,
    rotate_bytes: int = 1 << 20,
) -> Rig:  # fmt: skip
    """Build a router on a (new or given) sim exchange."""
    ex = ex or SimExchange(
        specs, entry_latency_ms=0.5, response_latency_ms=0.5, reply_timeout_s=0.5
    )
    acct = Account(
        SimOrderEntry(ex),
        SimUserStream(ex) if stream else None,
        settings or AccountSettings(dead_man_timeout_s=5.0),
    )
    lim, state, counts = limits(len(specs))
    rows = Rows()
    journal = Journal(journal_dir, rotate_bytes=rotate_bytes, fsync_interval_s=0.005)
    router = Router(
        [acct], specs, journal, state, on_order_update=rows.on_update, on_fill=rows.on_fill
    )
    return Rig(router, ex, rows, lim, state, counts, journal_dir)
