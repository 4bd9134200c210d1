"""The terminal view shows the book top, our quotes, position and the latency line."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

import strategies
from bot.backtest.engine import EngineOptions
from bot.config.schema import RiskSection
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID
from bot.core.instruments import InstrumentSpec
from bot.runtime.core import TradingCore
from bot.runtime.export import Totals
from bot.runtime.setup import limits_for
from bot.runtime.view import TerminalView


def test_view_renders_book_quotes_position_and_latency() -> None:
    spec = InstrumentSpec(venue="sim", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    module = strategies.load("fixed_spread")
    risk = RiskSection(
        max_position_lot=5,
        max_order_lot=1,
        max_notional_quote=1e5,
        price_band_bps=100,
        max_open_orders=4,
        orders_per_s=10,
        burst=10,
    )
    core = TradingCore(
        [spec],
        module,
        module.Params(),
        [0],
        limits_for(risk, 1, [0]),
        EngineOptions(),
        apply_books=True,
        venue_local_clock=False,
    )
    core.lstate[0, ST_BEST_BID], core.lstate[0, ST_BEST_ASK], core.lstate[0, ST_VALID] = (
        600000,
        600002,
        1,
    )
    core.view[0] = (2, 1, 1, 0, 0, 7, 599998, 1, 0, 0)
    core.pos_local[0] = -3
    totals = Totals(
        orders=12,
        fills=4,
        t2t_p50_s=11e-6,
        t2t_p99_s=20e-6,
        realized_pnl_quote=[1.5],
        unrealized_pnl_quote=[0.25],
        fees_quote=[0.0],
    )
    out = io.StringIO()
    view = TerminalView(
        core,
        lambda: totals,
        lambda: 100,
        lambda: {"sim": True},
        Console(file=out, width=140, force_terminal=False),
    )
    Console(file=out, width=140).print(view.render())
    text = out.getvalue()
    assert "60000.0" in text
    assert "60000.2" in text
    assert "59999.8" in text  # our bid
    assert "-3" in text
    assert "1.75" in text
    assert "p50 11.0 us p99 20.0 us" in text
    assert "sim up" in text
    assert np.count_nonzero(core.view["status"]) == 1
