"""Helpers for router tests on the ``sim`` venue: specs, market rows, a router factory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.adapters.sim import SimExchange, SimOrderEntry, SimUserStream
from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from bot.execution import Account, AccountSettings
from tests.support.router_rig import RouterRig, build_router, crash, intent

__all__ = ["SPEC", "Rig", "book", "crash", "intent", "make_rig", "trade"]

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


@dataclass
class Rig(RouterRig):
    """A router on a sim venue, with its journal directory and collected rows."""

    ex: SimExchange


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
    router, rows, lim, state, counts = build_router(journal_dir, specs, [acct], rotate_bytes)
    return Rig(router, rows, lim, state, counts, journal_dir, ex)
