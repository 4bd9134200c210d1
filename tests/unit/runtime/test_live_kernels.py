"""Live order entry kernels (``bot.runtime.live``): risk on the way out, router rows on the way in.

What the router relies on: only intents that pass risk reach it, each NEW with a view slot and
its size reserved in the risk state; what it refuses (id 0) frees the slot; its updates and
fills move the strategy's view and position, and the per-instrument account realises PnL at
the average cost.
"""

from __future__ import annotations

import numpy as np

from bot.backtest import _loop as lp
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from bot.core.dtypes import FILL_DTYPE, ORDER_INTENT_DTYPE, ORDER_UPDATE_DTYPE
from bot.core.risk import make_limits, new_risk
from bot.core.strategy_api import new_order_view
from bot.runtime import live

QPTL = np.array([0.0001])  # quote per tick*lot: 0.1 tick x 0.001 lot


def _setup(max_open_orders: int = 10) -> tuple:
    _, lstate = new_books(1, 64)
    lstate[0, ST_VALID] = 1
    lstate[0, ST_BEST_BID] = 600_000
    lstate[0, ST_BEST_ASK] = 600_002
    limits, rstate, rcounts = new_risk(1)
    limits[0] = make_limits(max_position_lot=5, max_order_lot=2, max_notional_quote=1e6,
                            price_band_bps=100, max_open_orders=max_open_orders,
                            orders_per_s=1000, burst=1000)  # fmt: skip
    view = new_order_view(8)
    es = np.zeros(lp.N_ES, dtype=np.int64)
    return lstate, limits, rstate, rcounts, view, es


def _new(it: np.ndarray, j: int, side: int, px: int, qty: int) -> None:
    it[j]["action"] = 1
    it[j]["side"] = side
    it[j]["instrument"] = 0
    it[j]["price_tick"] = px
    it[j]["qty_lot"] = qty


def test_only_intents_that_pass_risk_reach_the_router_and_take_a_slot() -> None:
    lstate, limits, rstate, rcounts, view, es = _setup()
    intents = np.zeros(4, dtype=ORDER_INTENT_DTYPE)
    _new(intents, 0, 1, 599_990, 1)
    _new(intents, 1, -1, 600_010, 9)  # above max_order_lot
    _new(intents, 2, -1, 600_010, 2)
    passed = np.zeros(4, dtype=ORDER_INTENT_DTYPE)
    slots = np.zeros(4, dtype=np.int64)
    n = live.live_dispatch(3, intents, 1, es, lstate, view, limits, rstate, rcounts, QPTL,
                           passed, slots)  # fmt: skip
    assert n == 2
    assert list(passed[:2]["qty_lot"]) == [1, 2]
    assert list(passed[:2]["side"]) == [1, -1]
    assert es[lp.ES_RISK_REJECTS] == 1
    assert rstate[0]["open_buy_lot"] == 1
    assert rstate[0]["open_sell_lot"] == 2
    assert list(view[slots[:2]]["status"]) == [1, 1]  # PENDING_NEW, id not yet known

    passed[0]["client_order_id"] = 77  # the router's id
    passed[1]["client_order_id"] = 0  # refused by the router (rate limit)
    live.live_commit(passed, 2, slots, view)
    assert view[slots[0]]["client_order_id"] == 77
    assert view[slots[1]]["status"] == 0


def test_cancel_of_an_unknown_order_is_dropped_and_a_known_one_goes_pending_cancel() -> None:
    lstate, limits, rstate, rcounts, view, es = _setup()
    view[3]["status"] = 2
    view[3]["client_order_id"] = 5
    intents = np.zeros(2, dtype=ORDER_INTENT_DTYPE)
    intents[0]["action"] = 2
    intents[0]["client_order_id"] = 6
    intents[1]["action"] = 2
    intents[1]["client_order_id"] = 5
    passed = np.zeros(2, dtype=ORDER_INTENT_DTYPE)
    slots = np.zeros(2, dtype=np.int64)
    n = live.live_dispatch(2, intents, 1, es, lstate, view, limits, rstate, rcounts, QPTL,
                           passed, slots)  # fmt: skip
    assert n == 1
    assert passed[0]["client_order_id"] == 5
    assert es[lp.ES_DROPPED] == 1
    assert view[3]["status"] == 5


def test_updates_and_fills_move_the_view_position_and_realised_pnl() -> None:
    view = new_order_view(4)
    view[0]["status"] = 1
    view[0]["client_order_id"] = 9
    view[0]["qty_lot"] = 2
    upd = np.zeros(1, dtype=ORDER_UPDATE_DTYPE)
    upd[0]["status"] = 2
    upd[0]["client_order_id"] = 9
    upd[0]["price_tick"] = 100
    upd[0]["qty_lot"] = 2
    assert live.live_update(upd, view) == 0
    assert view[0]["status"] == 2
    assert view[0]["price_tick"] == 100

    pos = np.zeros(1, dtype=np.int64)
    acct = live.new_live_account(1)
    fill = np.zeros(1, dtype=FILL_DTYPE)
    fill[0]["side"] = 1
    fill[0]["liquidity"] = 1
    fill[0]["client_order_id"] = 9
    fill[0]["price_tick"] = 100
    fill[0]["qty_lot"] = 1
    fill[0]["leaves_lot"] = 1
    fill[0]["fee_quote"] = 0.5
    live.live_fill(fill, view, pos, acct)
    assert pos[0] == 1
    assert view[0]["status"] == 3  # partially filled
    assert view[0]["filled_lot"] == 1
    fill[0]["qty_lot"] = 1
    fill[0]["leaves_lot"] = 0
    live.live_fill(fill, view, pos, acct)
    assert view[0]["status"] == 0  # filled: the slot is free
    # sell 3 at 110 against 2 bought at 100: realise 2 x 10, then short 1 at 110
    fill[0]["side"] = -1
    fill[0]["liquidity"] = 2
    fill[0]["client_order_id"] = 0  # not ours: position and account still move
    fill[0]["price_tick"] = 110
    fill[0]["qty_lot"] = 3
    live.live_fill(fill, view, pos, acct)
    assert pos[0] == -1
    assert acct[0, live.L_POSITION] == -1
    assert acct[0, live.L_REALISED_TL] == 20.0
    assert acct[0, live.L_COST_TL] == -110.0
    assert acct[0, live.L_FEES] == 1.5
    assert list(acct[0, live.L_FILLS : live.L_FILLS + 4]) == [2.0, 0.0, 0.0, 1.0]
    assert live.live_update(upd, view) == 0  # an update for a freed slot changes nothing
    assert view[0]["status"] == 0
