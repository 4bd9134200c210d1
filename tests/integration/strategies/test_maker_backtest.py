"""Avellaneda-Stoikov on a mean-reverting market: behaviour, kill switch, hot swap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.backtest import session
from bot.backtest.engine import Backtest, BacktestError
from bot.core.risk import RISK_LIMITS_DTYPE
from strategies import avellaneda_stoikov as asm

from .conftest import config

PARAMS: dict[str, Any] = {
    "gamma_per_tick": 0.01, "kappa_per_tick": 1.0, "horizon_s": 30, "qty_lot": 5,
    "max_inventory_lot": 50, "min_spread_ticks": 2, "max_spread_ticks": 20,
    "interval_ms": 100, "vol_floor_bps_per_sqrt_s": 0.01,
}  # fmt: skip
SIM = [{"venue": "sim", "symbol": "BTCUSDT"}]


def _build(market: Path, **overrides: Any) -> Backtest:
    return session.build(
        config("avellaneda_stoikov", {**PARAMS, **overrides}, SIM), session.load_data([market])
    )


def _positions(bt: Backtest) -> np.ndarray:
    return bt.s_pos[: bt.es[bt.loop.ES_N_SAMPLES], 0]


def test_inventory_mean_reverts_and_the_maker_earns_the_spread(ou_market: Path) -> None:
    bt = _build(ou_market)
    bt.run()
    pos = _positions(bt)
    fills = bt.venue.fill_rows()
    assert (fills["liquidity"] == 1).all()  # every fill a maker fill: it earned, never paid
    assert {1, -1} <= set(fills["side"].tolist())
    # inventory keeps coming back: it crosses zero often and sits far from its bound
    assert np.sum(np.diff(np.sign(pos)) != 0) > 100
    assert np.abs(pos).mean() < 0.25 * PARAMS["max_inventory_lot"]
    lag = 20  # 10 s of samples: the skew has pulled inventory back by then
    assert np.corrcoef(pos[:-lag], pos[lag:])[0, 1] < 0.5
    # no maker fee: the whole P&L is spread captured minus inventory losses, and it is positive
    equity = bt.s_equity[: len(pos)]
    assert equity[-1] - equity[0] > 0.0
    assert np.abs(pos).max() <= PARAMS["max_inventory_lot"] + PARAMS["qty_lot"]


def test_kill_switch_mid_run_pulls_quotes_and_sends_no_new_orders(ou_market: Path) -> None:
    bt = _build(ou_market)
    half = bt.events.shape[0] // 2
    bt.run(stop=half)
    assert (bt.view["status"] != 0).any()
    killed = bt.limits.copy()
    killed["kill_switch"] = 1
    bt.swap_limits(killed)
    sent = bt.counters()["orders_sent"]
    bt.run(stop=half + 2000)
    assert bt.counters()["orders_sent"] == sent
    assert bt.counters()["risk_rejects"] == 0  # it did not even ask
    assert not (bt.view["status"] != 0).any()  # its resting quotes were cancelled


def test_hot_swap_quotes_use_only_the_new_params(ou_market: Path) -> None:
    bt = _build(ou_market)
    half = bt.events.shape[0] // 2
    bt.run(stop=half)
    live = bt.view[bt.view["status"] != 0]
    assert (live["qty_lot"] == 5).all()
    bt.swap_params(asm.Params(**{**PARAMS, "qty_lot": 2, "min_spread_ticks": 12}))
    bt.run(stop=half + 50)
    live = bt.view[(bt.view["status"] != 0) & (bt.view["status"] != 5)]
    bids = live[live["side"] == 1]
    asks = live[live["side"] == -1]
    assert len(bids) == 1
    assert len(asks) == 1
    # new size and new minimum spread together: no quote carries one old and one new value
    assert (live["qty_lot"] == 2).all()
    assert asks["price_tick"][0] - bids["price_tick"][0] >= 12
    assert bt.fstate[asm.F_SPREAD] >= 12


def test_hot_swap_refuses_a_field_that_is_not_reloadable(ou_market: Path) -> None:
    bt = _build(ou_market)
    with pytest.raises(BacktestError, match="model"):
        bt.swap_params(asm.Params(**{**PARAMS, "model": "infinite"}))
    assert bt.params[asm.P_MODEL] == 0.0  # the old params stay


def test_limits_swap_checks_the_dtype(ou_market: Path) -> None:
    bt = _build(ou_market)
    with pytest.raises(BacktestError):
        bt.swap_limits(np.zeros(2, dtype=RISK_LIMITS_DTYPE))
