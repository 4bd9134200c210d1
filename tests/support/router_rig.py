"""A ``bot.execution.Router`` wired as the engine wires it, for router scenarios on any venue.

``RouterRig.send`` passes intents through the real pre-trade risk kernel first (which reserves
a NEW's size), like the engine; ``Rows`` collects the order-update and fill rows the router
hands back. ``loopback_rig`` builds one on a venue kit's real adapter and user stream against
its loopback order venue (``tests/support/order_venue.py``); ``crash`` stops a router the way a
killed process stops (no cancels, the journal as far as it got).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.core import risk
from bot.core.dtypes import OrderAction, OrderFlag, Side, empty_intents
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import Grid
from bot.execution import Account, AccountSettings, Journal, Router
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import VenueKit

JOURNAL_FSYNC_S = 0.005


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
class RouterRig:
    """A router with its journal directory, risk arrays and collected rows."""

    router: Router
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


def build_router(
    journal_dir: Path, specs: Sequence[InstrumentSpec], accounts: Sequence[Account],
    rotate_bytes: int = 1 << 20,
) -> tuple[Router, Rows, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Return a router over ``accounts`` and the arrays and rows a rig keeps."""
    lim, state, counts = limits(len(specs))
    rows = Rows()
    journal = Journal(journal_dir, rotate_bytes=rotate_bytes, fsync_interval_s=JOURNAL_FSYNC_S)
    router = Router(
        accounts, specs, journal, state, on_order_update=rows.on_update, on_fill=rows.on_fill
    )
    return router, rows, lim, state, counts


async def crash(rig: RouterRig, flush: bool = True) -> None:
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


def venue_name(kit: VenueKit) -> str:
    """Return the config name of a kit's venue (``binance-usdm-ws`` trades ``binance-usdm``)."""
    return kit.name.removesuffix("-ws")


def kit_spec(kit: VenueKit) -> InstrumentSpec:
    """Return the instrument spec of a kit's symbol (its loopback filters' grids)."""
    return InstrumentSpec(
        venue=venue_name(kit), symbol=kit.symbol, tick_size=kit.filters.tick,
        lot_size=kit.filters.lot,
    )  # fmt: skip


@dataclass
class LoopbackRig(RouterRig):
    """A router trading one kit's symbol on its loopback venue, with the real adapter."""

    server: OrderVenueServer
    kit: VenueKit
    entry: Any
    stream: Any

    @property
    def tick(self) -> Grid:
        return Grid.parse(self.kit.filters.tick)

    @property
    def lot(self) -> Grid:
        return Grid.parse(self.kit.filters.lot)

    def ticks(self, price: str) -> int:
        return self.tick.to_units(price)

    def lots(self, qty: str) -> int:
        return self.lot.to_units(qty)


def loopback_rig(
    journal_dir: Path, kit: VenueKit, server: OrderVenueServer, *,
    settings: AccountSettings | None = None, stream: bool = True,
    timeout_s: float | None = None,
) -> LoopbackRig:  # fmt: skip
    """Build a router on ``kit``'s adapter against ``server`` (not started)."""
    entry = kit.entry(server) if timeout_s is None else kit.entry(server, None, timeout_s)
    user_stream = kit.stream(entry, server) if stream else None
    acct = Account(entry, user_stream, settings or AccountSettings(dead_man_timeout_s=60.0))
    router, rows, lim, state, counts = build_router(journal_dir, [kit_spec(kit)], [acct])
    return LoopbackRig(
        router, rows, lim, state, counts, journal_dir, server=server, kit=kit, entry=entry,
        stream=user_stream,
    )  # fmt: skip
