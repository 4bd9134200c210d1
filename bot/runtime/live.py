"""Live order entry for ``TradingCore``: risk-checked intents to the router, its rows back.

In ``live`` mode the simulated venue is not used. Per decision, ``live_dispatch`` (one kernel)
passes each intent through pre-trade risk exactly as the backtest's dispatch does, takes a slot
of the strategy's order view for each NEW and copies what passed into a preallocated buffer;
``Router.send`` (synchronous; its first await is the venue write) gives each NEW its
``client_order_id`` in place and ``live_commit`` writes the ids into the view (or frees the slot
of a NEW the router refused: its REJECTED row follows).

From ``send`` on, the router owns the risk state (``bot.execution``): fills, closes and amends
move ``rstate`` there, never here. The rows it hands back (``ORDER_UPDATE_DTYPE``,
``FILL_DTYPE``) only move the strategy's view and local position (``live_update``,
``live_fill``), and wake an order-driven strategy. Fills also feed a small per-instrument
account (average cost, realised PnL, fees) for the metrics.
"""

from __future__ import annotations

import numpy as np

from bot.backtest import _loop as lp
from bot.backtest.sim_types import kernel
from bot.core import risk

check_intent = risk.check_intent
on_order_closed = risk.on_order_closed
view_slot = lp._view_slot
local_mid = lp._local_mid

_NEW, _CANCEL, _AMEND, _CANCEL_ALL = 1, 2, 3, 4
_PENDING_NEW, _PARTIAL, _PENDING_CANCEL = 1, 3, 5
_FILLED, _CANCELLED, _REJECTED, _EXPIRED = 4, 6, 7, 8

# per-instrument live account columns (float64): what the metrics read
L_POSITION = 0
L_COST_TL = 1
"""Signed cost of the position in tick*lot units (average-cost accounting)."""
L_REALISED_TL = 2
L_FEES = 3
L_FILLS = 4
"""Fill counts from here on: buy/maker, buy/taker, sell/maker, sell/taker."""
N_LIVE_ACCT = 8
FILL_LABELS = (("buy", "maker"), ("buy", "taker"), ("sell", "maker"), ("sell", "taker"))
_MAKER = 1


@kernel
def live_dispatch(
    n_int, intents, now, es, lstate, view, limits, rstate, rcounts, qptl, passed, slots
) -> int:  # fmt: skip
    """Risk-check ``intents[:n_int]``; copy what passed into ``passed``; return how many.

    ``slots[j]`` is the view slot of ``passed[j]`` (a NEW's new slot, PENDING_NEW with id 0).
    """
    n_inst = lstate.shape[0]
    n_out = 0
    for j in range(n_int):
        it = intents[j]
        action = it["action"]
        inst = it["instrument"]
        if inst >= n_inst or action < 1 or action > 4:
            es[lp.ES_DROPPED] += 1
            continue
        slot = -1
        if action in (_CANCEL, _AMEND):
            slot = view_slot(view, it["client_order_id"])
            if slot < 0 or view[slot]["status"] == _PENDING_CANCEL:
                es[lp.ES_DROPPED] += 1
                continue
        mid = local_mid(lstate, inst)
        reason = check_intent(limits, rstate, rcounts, intents, j, mid, qptl[inst], now)
        if reason != 0:
            es[lp.ES_RISK_REJECTS] += 1
            continue
        if action == _NEW:
            for s in range(view.shape[0]):
                if view[s]["status"] == 0:
                    slot = s
                    break
            if slot < 0:  # no room to track it: undo the reservation, count, skip
                on_order_closed(rstate, inst, it["side"], it["qty_lot"])
                es[lp.ES_DROPPED] += 1
                continue
            v = view[slot]
            v["status"] = _PENDING_NEW
            v["side"] = it["side"]
            v["flags"] = it["flags"]
            v["instrument"] = inst
            v["client_order_id"] = 0
            v["price_tick"] = it["price_tick"]
            v["qty_lot"] = it["qty_lot"]
            v["filled_lot"] = 0
            v["ts_sent_ns"] = now
            es[lp.ES_ORDERS] += 1
            es[lp.ES_SUBMITTED_LOT] += it["qty_lot"]
        elif action == _CANCEL:
            view[slot]["status"] = _PENDING_CANCEL
            es[lp.ES_CANCELS] += 1
        elif action == _AMEND:
            es[lp.ES_AMENDS] += 1
        else:
            for s in range(view.shape[0]):
                if view[s]["status"] != 0 and view[s]["instrument"] == inst:
                    view[s]["status"] = _PENDING_CANCEL
            es[lp.ES_CANCELS] += 1
        out = passed[n_out]
        out["action"] = action
        out["side"] = it["side"]
        out["flags"] = it["flags"]
        out["instrument"] = inst
        out["client_order_id"] = it["client_order_id"]
        out["price_tick"] = it["price_tick"]
        out["qty_lot"] = it["qty_lot"]
        out["ts_local_ns"] = it["ts_local_ns"]
        slots[n_out] = slot
        n_out += 1
    return n_out


@kernel
def live_commit(passed, n, slots, view) -> None:
    """Write the router's ids of ``passed[:n]``'s NEWs into the view; free refused ones."""
    for j in range(n):
        if passed[j]["action"] == _NEW:
            s = slots[j]
            coid = passed[j]["client_order_id"]
            if coid == 0:
                view[s]["status"] = 0
            else:
                view[s]["client_order_id"] = coid


@kernel
def live_update(row, view) -> int:
    """Apply one order update to the view; return its instrument."""
    r = row[0]
    slot = view_slot(view, r["client_order_id"])
    if slot >= 0:
        status = r["status"]
        v = view[slot]
        if status in (_FILLED, _CANCELLED, _REJECTED, _EXPIRED):
            v["status"] = 0
        else:
            v["status"] = status
            v["price_tick"] = r["price_tick"]
            v["qty_lot"] = r["qty_lot"]
            v["filled_lot"] = r["filled_lot"]
    return r["instrument"]


@kernel
def live_fill(row, view, pos_local, acct) -> int:
    """Apply one fill to the view, the local position and the account; return its instrument."""
    f = row[0]
    inst = f["instrument"]
    side = f["side"]
    q = f["qty_lot"]
    px = f["price_tick"]
    pos_local[inst] += side * q
    a = acct[inst]
    pos = a[L_POSITION]
    dq = float(side * q)
    if pos == 0.0 or (pos > 0.0) == (dq > 0.0):  # opening or adding: cost grows
        a[L_COST_TL] += dq * px
    else:  # reducing (and maybe flipping): realise against the average cost
        closing = min(abs(dq), abs(pos))
        avg = a[L_COST_TL] / pos
        sign = 1.0 if pos > 0.0 else -1.0
        a[L_REALISED_TL] += closing * sign * (px - avg)
        a[L_COST_TL] -= closing * sign * avg
        rest = abs(dq) - closing
        if rest > 0.0:
            a[L_COST_TL] = -sign * rest * px
    a[L_POSITION] = pos + dq
    a[L_FEES] += f["fee_quote"]
    a[L_FILLS + (0 if side > 0 else 2) + (0 if f["liquidity"] == _MAKER else 1)] += 1.0
    slot = view_slot(view, f["client_order_id"]) if f["client_order_id"] != 0 else -1
    if slot >= 0:
        v = view[slot]
        v["filled_lot"] += q
        if f["leaves_lot"] == 0:
            v["status"] = 0
        elif v["status"] != _PENDING_CANCEL:
            v["status"] = _PARTIAL
    return inst


def new_live_account(n: int) -> np.ndarray:
    """Return the per-instrument live account (``L_*`` columns)."""
    return np.zeros((n, N_LIVE_ACCT), dtype=np.float64)
