"""Builders for hand-made event streams and a scripted backtest (scenario tests)."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import numpy as np

from bot.backtest.engine import Backtest, EngineOptions
from bot.backtest.sim_types import QueueModel
from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from bot.core.risk import make_limits, new_risk

SPEC = InstrumentSpec(venue="sim", symbol="TEST", tick_size="0.1", lot_size="0.001")
"""One tick x one lot = 0.0001 quote."""
QPTL = 1e-4

BID, ASK = EventKind.BOOK_BID, EventKind.BOOK_ASK
BUY_TRADE, SELL_TRADE = EventKind.TRADE_BUY, EventKind.TRADE_SELL
NEW, CANCEL, AMEND = 1, 2, 3
POST_ONLY, IOC, MARKET = 1, 4, 8

scripted = importlib.import_module("tests.unit.backtest.scripted")


def events(
    rows: Sequence[tuple[int, int, int, int] | tuple[int, int, int, int, int]],
) -> np.ndarray:
    """Rows of ``(t_ns, kind, price_tick, qty_lot[, feed_latency_ns])``, each its own message."""
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    for i, row in enumerate(rows):
        t, kind, px, qty = row[:4]
        feed = row[4] if len(row) > 4 else 0
        ev[i]["kind"] = kind
        ev[i]["ts_exch_ns"] = t
        ev[i]["ts_local_ns"] = t + feed
        ev[i]["price_tick"] = px
        ev[i]["qty_lot"] = qty
        ev[i]["flags"] = EventFlag.BATCH_END
    return ev


def limits(max_position_lot: int = 1000) -> np.ndarray:
    """Wide-open limits for one instrument."""
    lim, _, _ = new_risk(1)
    lim[0] = make_limits(
        max_position_lot=max_position_lot,
        max_order_lot=1000,
        max_notional_quote=1e12,
        price_band_bps=10_000,
        max_open_orders=100,
        orders_per_s=1e6,
        burst=1e6,
    )
    return lim


def run_script(
    ev: np.ndarray,
    script: Sequence[tuple[int, ...]],
    *,
    latency_ns: int = 1000,
    queue_model: QueueModel = QueueModel.RISK_AVERSE,
    power: float = 1.0,
    maker_fee: float = 0.0,
    taker_fee: float = 0.0,
) -> Backtest:
    """Run ``script`` (rows ``(t, action, side, px, qty, flags, coid)``) over ``ev``."""
    opts = EngineOptions(
        lat_in_ns=np.array([latency_ns]),
        lat_out_ns=np.array([latency_ns]),
        queue_model=queue_model,
        queue_power=power,
        maker_fee=[maker_fee],
        taker_fee=[taker_fee],
        sample_interval_ns=1000,
    )
    bt = Backtest(ev, [SPEC], scripted, list(script), [0], limits(), opts)
    bt.run()
    return bt


def fills(bt: Backtest) -> list[tuple[int, int, int, int, int]]:
    """Return fills as ``(ts_exch_ns, side, price_tick, qty_lot, liquidity)``."""
    return [
        (int(f["ts_exch_ns"]), int(f["side"]), int(f["price_tick"]), int(f["qty_lot"]),
         int(f["liquidity"]))
        for f in bt.venue.fill_rows()
    ]  # fmt: skip
