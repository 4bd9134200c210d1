"""Cross-venue arbitrage over two venues' event files merged by local time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.backtest import session
from bot.backtest.stats import compute_stats
from strategies import cross_venue_arb as arb

from .conftest import A_VENUE, B_VENUE, config

PARAMS = {"qty_lot": 5, "taker_fee_a_bps": 2, "taker_fee_b_bps": 2, "margin_bps": 1,
          "max_position_lot": 50}  # fmt: skip
PAIR = [{"venue": A_VENUE, "symbol": "BTCUSDT"}, {"venue": B_VENUE, "symbol": "BTCUSDT"}]


def _run(a: Path, b: Path) -> tuple[object, dict]:
    return session.run(config("cross_venue_arb", PARAMS, PAIR), session.load_data([a, b]))


def test_arb_profits_from_a_dislocation_and_stays_hedged(two_venues: dict[str, Path]) -> None:
    bt, stats = _run(two_venues["a"], two_venues["b_dislocated"])
    assert stats["pnl_quote"] > 0.0
    fills = bt.venue.fill_rows()
    assert (fills["liquidity"] == 2).all()  # taker legs only
    # it bought the cheap venue and sold the rich one, up to the per-venue bound
    assert int(bt.pos_local[0]) == PARAMS["max_position_lot"]
    assert int(bt.pos_local[1]) == -PARAMS["max_position_lot"]
    # every fill happened while B was rich (local time of the dislocation window)
    start = int(bt.events["ts_local_ns"][0])
    t = (fills["ts_exch_ns"] - start) / 1e9
    assert ((t >= 150.0) & (t < 251.0)).all()
    assert bt.istate[arb.I_UNWINDS] == 0


def test_arb_does_nothing_without_a_dislocation(two_venues: dict[str, Path]) -> None:
    bt, stats = _run(two_venues["a"], two_venues["b_flat"])
    assert stats["fills"] == 0
    assert bt.counters()["orders_sent"] == 0
    assert stats["pnl_quote"] == 0.0
    assert np.all(bt.pos_local == 0)
    assert compute_stats(bt)["pnl_quote"] == 0.0
