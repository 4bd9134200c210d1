"""Matching, queue positions and accounting of the simulated venue (see ``sim_venue``)."""

from __future__ import annotations

import numpy as np

from bot.backtest.sim_types import (
    _FILLED,
    _MAKER,
    _MARKET,
    _PARTIAL,
    _TAKER,
    A_CASH,
    A_COST_TL,
    A_EDGE_TL,
    A_FEES,
    A_FUNDING,
    A_MARK_TICK,
    A_QWAIT_NS,
    A_REALISED_TL,
    A_VOLUME_QUOTE,
    I_FILLS,
    I_MAKER_LOT,
    I_POSITION,
    I_QWAIT_N,
    I_TAKER_LOT,
    N_VENUE_REJECT_REASONS,
    NO_TIME,
    VENUE_REJECT_BASE,
    VI_MAKER_FEE,
    VI_QUOTE_PER_TICK_LOT,
    VI_TAKER_FEE,
    VP_FUNDING,
    VP_POWER,
    VP_QUEUE_MODEL,
    VS_ERROR,
    VS_LAST_RESP_TS,
    VS_LAT_OUT_IDX,
    VS_MAX_BUY,
    VS_MAX_SELL,
    VS_MIN_BUY,
    VS_MIN_SELL,
    VS_N_ACTIVE,
    VS_N_FILLS,
    VS_NOW_NS,
    VS_REJECT_REASON0,
    VS_RESP_HEAD,
    VS_RESP_TAIL,
    fast,
    inline_kernel,
    kernel,
)
from bot.core import book
from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID

apply_level = fast(book.apply_level)
clear_book = fast(book.clear_book)


@kernel
def latency(vs: np.ndarray, slot: int, lat: np.ndarray) -> int:
    k = vs[slot]
    vs[slot] = k + 1
    return lat[k % lat.shape[0]]


@inline_kernel
def arrival_ns(vs: np.ndarray, now_ns: int, lat_slot: int, last_slot: int, lat: np.ndarray) -> int:
    """Return when a message sent at ``now_ns`` arrives over one ordered connection.

    The latency is the next of ``lat`` (index in ``vs[lat_slot]``), and the arrival is never
    before the previous message's (``vs[last_slot]``, updated): messages are never reordered.
    """
    ts = max(now_ns + latency(vs, lat_slot, lat), vs[last_slot])
    vs[last_slot] = ts
    return ts


@inline_kernel
def next_ns(vs: np.ndarray, ring: np.ndarray, head_slot: int, tail_slot: int) -> int:
    """Return the ``ts_ns`` of the oldest message in a ring queue (``NO_TIME`` if empty)."""
    if vs[head_slot] == vs[tail_slot]:
        return NO_TIME
    return ring[vs[head_slot] & (ring.shape[0] - 1)]["ts_ns"]


@kernel
def respond(
    vs: np.ndarray,
    resp: np.ndarray,
    lat_out: np.ndarray,
    kind: int,
    o: np.void,
    status: int,
    reason: int,
) -> np.void:
    """Queue a response about order ``o`` at venue time ``vs[VS_NOW_NS]``; return its row."""
    cap = resp.shape[0]
    tail = vs[VS_RESP_TAIL]
    if tail - vs[VS_RESP_HEAD] >= cap:
        vs[VS_ERROR] = 2  # RESPONSE_QUEUE_FULL: the engine stops and reports it
        tail = vs[VS_RESP_HEAD] + cap - 1  # overwrite the newest slot rather than corrupt
    now = vs[VS_NOW_NS]
    ts = arrival_ns(vs, now, VS_LAT_OUT_IDX, VS_LAST_RESP_TS, lat_out)
    r = resp[tail & (cap - 1)]
    r["ts_ns"] = ts
    r["ts_exch_ns"] = now
    r["kind"] = kind
    r["status"] = status
    r["reason"] = reason
    if VENUE_REJECT_BASE <= reason < VENUE_REJECT_BASE + N_VENUE_REJECT_REASONS:
        vs[VS_REJECT_REASON0 + reason - VENUE_REJECT_BASE] += 1
    r["liquidity"] = 0
    r["instrument"] = o["instrument"]
    r["side"] = o["side"]
    r["client_order_id"] = o["client_order_id"]
    r["price_tick"] = o["price_tick"]
    r["qty_lot"] = o["qty_lot"]
    r["leaves_lot"] = o["leaves_lot"]
    r["filled_lot"] = o["filled_lot"]
    r["fee_quote"] = 0.0
    vs[VS_RESP_TAIL] = tail + 1
    return r


@kernel
def _book_money(acct: np.ndarray, iacct: np.ndarray, inst: int, side: int, px: int, q: int) -> None:
    """Move position and average-cost PnL for a fill of ``q`` lots at ``px`` ticks."""
    pos = iacct[inst, I_POSITION]
    remaining = q
    if pos != 0 and (pos > 0) != (side > 0):
        close = min(q, abs(pos))
        avg = acct[inst, A_COST_TL] / pos
        sign = 1.0 if pos > 0 else -1.0
        acct[inst, A_REALISED_TL] += (px - avg) * close * sign
        acct[inst, A_COST_TL] -= avg * close * sign
        pos += side * close
        remaining -= close
        if pos == 0:
            acct[inst, A_COST_TL] = 0.0  # no residue from float division
    if remaining > 0:
        acct[inst, A_COST_TL] += float(side) * px * remaining
        pos += side * remaining
    iacct[inst, I_POSITION] = pos


@kernel
def fill(
    vs: np.ndarray,
    o: np.void,
    px: int,
    q: int,
    liquidity: int,
    mid: float,
    resp: np.ndarray,
    lat_out: np.ndarray,
    vinst: np.ndarray,
    acct: np.ndarray,
    iacct: np.ndarray,
    fills: np.ndarray,
) -> None:
    """Execute ``q`` lots of order ``o`` at ``px``: accounts, fill record, response.

    ``mid`` is the venue's mid as the fill happens (NaN: none): the fill's spread capture.
    """
    inst = o["instrument"]
    side = o["side"]
    qptl = vinst[inst, VI_QUOTE_PER_TICK_LOT]
    notional = float(px) * q * qptl
    rate = vinst[inst, VI_MAKER_FEE] if liquidity == _MAKER else vinst[inst, VI_TAKER_FEE]
    fee = notional * rate
    acct[inst, A_CASH] -= side * notional + fee
    acct[inst, A_FEES] += fee
    acct[inst, A_VOLUME_QUOTE] += notional
    _book_money(acct, iacct, inst, side, px, q)
    if liquidity == _MAKER:
        iacct[inst, I_MAKER_LOT] += q
        if o["filled_lot"] == 0:
            acct[inst, A_QWAIT_NS] += vs[VS_NOW_NS] - o["ts_rest_ns"]
            iacct[inst, I_QWAIT_N] += 1
    else:
        iacct[inst, I_TAKER_LOT] += q
    iacct[inst, I_FILLS] += 1
    if mid == mid:
        acct[inst, A_EDGE_TL] += side * (mid - px) * q
    o["leaves_lot"] -= q
    o["filled_lot"] += q
    status = _FILLED if o["leaves_lot"] == 0 else _PARTIAL
    o["status"] = status
    r = respond(vs, resp, lat_out, 2, o, status, 0)
    r["price_tick"] = px
    r["qty_lot"] = q
    r["liquidity"] = liquidity
    r["fee_quote"] = fee
    n = vs[VS_N_FILLS]
    if n < fills.shape[0]:
        f = fills[n]
        f["side"] = side
        f["liquidity"] = liquidity
        f["instrument"] = inst
        f["client_order_id"] = o["client_order_id"]
        f["ts_exch_ns"] = vs[VS_NOW_NS]
        f["ts_local_ns"] = r["ts_ns"]
        f["price_tick"] = px
        f["qty_lot"] = q
        f["leaves_lot"] = o["leaves_lot"]
        f["fee_quote"] = fee
        f["mid_tick"] = mid
        f["ts_rest_ns"] = o["ts_rest_ns"]
    else:
        vs[VS_ERROR] = 3  # FILLS_FULL (the engine keeps headroom, so this is a bug if seen)
    vs[VS_N_FILLS] = n + 1


@inline_kernel
def remove_active(vs: np.ndarray, active: np.ndarray, orders: np.ndarray, k: int) -> None:
    """Drop position ``k`` of the active list (swap with the last)."""
    n = vs[VS_N_ACTIVE] - 1
    active[k] = active[n]
    vs[VS_N_ACTIVE] = n
    refresh_bounds(vs, active, orders)


@inline_kernel
def refresh_bounds(vs: np.ndarray, active: np.ndarray, orders: np.ndarray) -> None:
    """Recompute the price range of our resting orders (after any change to the active list)."""
    min_buy = NO_ASK
    max_buy = NO_BID
    min_sell = NO_ASK
    max_sell = NO_BID
    for k in range(vs[VS_N_ACTIVE]):
        o = orders[active[k]]
        px = o["price_tick"]
        if o["side"] == 1:
            min_buy = min(min_buy, px)
            max_buy = max(max_buy, px)
        else:
            min_sell = min(min_sell, px)
            max_sell = max(max_sell, px)
    vs[VS_MIN_BUY] = min_buy
    vs[VS_MAX_BUY] = max_buy
    vs[VS_MIN_SELL] = min_sell
    vs[VS_MAX_SELL] = max_sell


@kernel
def take(
    vs: np.ndarray,
    o: np.void,
    xqty: np.ndarray,
    xstate: np.ndarray,
    resp: np.ndarray,
    lat_out: np.ndarray,
    vinst: np.ndarray,
    acct: np.ndarray,
    iacct: np.ndarray,
    fills: np.ndarray,
) -> None:
    """Walk the opposite side for a marketable order, filling level by level at their prices."""
    inst = o["instrument"]
    side = o["side"]
    market = (o["flags"] & _MARKET) != 0
    opp = 1 if side == 1 else 0
    if side == 1:
        px = xstate[inst, ST_BEST_ASK]
        end = NO_ASK
    else:
        px = xstate[inst, ST_BEST_BID]
        end = NO_BID
    steps = 0
    mid = mid_tick(xstate, inst)  # the arrival mid: every level we walk is measured from it
    while px != end and o["leaves_lot"] > 0 and steps < 256:
        if not market and (px > o["price_tick"] if side == 1 else px < o["price_tick"]):
            break
        avail = book.level_qty(xqty, xstate, inst, opp, px)
        nxt = book.next_level(xqty, xstate, inst, opp, px)
        q = min(avail, o["leaves_lot"])
        fill(vs, o, px, q, _TAKER, mid, resp, lat_out, vinst, acct, iacct, fills)
        apply_level(xqty, xstate, inst, opp, px, avail - q)
        steps += 1
        px = nxt


@inline_kernel
def level_at(xqty: np.ndarray, xstate: np.ndarray, inst: int, side_idx: int, px: int) -> int:
    return book.level_qty(xqty, xstate, inst, side_idx, px)


@inline_kernel
def _queue_on_depth(o, prev_qty: int, new_qty: int, model: int, power: float) -> None:
    """Move our queue estimate for a size change ``prev_qty -> new_qty`` at our level."""
    chg = prev_qty - new_qty - o["cum_trade_lot"]
    o["cum_trade_lot"] = 0
    front = o["queue_ahead"]
    if chg <= 0 or model == 0:
        o["queue_ahead"] = min(front, float(new_qty))
        return
    back = max(prev_qty - front, 0.0)
    fb = back**power
    ff = front**power
    prob = fb / (fb + ff) if fb + ff > 0.0 else 1.0
    est = front - (1.0 - prob) * chg + min(back - prob * chg, 0.0)
    o["queue_ahead"] = max(0.0, min(est, float(new_qty)))


@kernel
def on_event(
    vs, kind, inst, ts_exch_ns, price_tick, qty_lot, aux,
    orders, active, xqty, xstate, resp, lat_out, vp, vinst, acct, iacct, fills,
) -> None:  # fmt: skip
    """Apply one market event at the venue: queue positions, fills, then the venue's book."""
    vs[VS_NOW_NS] = max(vs[VS_NOW_NS], ts_exch_ns)
    n_active = vs[VS_N_ACTIVE]
    if kind == 1 or kind == 2:  # BOOK_BID / BOOK_ASK
        side_idx = kind - 1
        if side_idx == 0:
            at_ours = vs[VS_MIN_BUY] <= price_tick <= vs[VS_MAX_BUY]
            crossing = qty_lot > 0 and price_tick >= vs[VS_MIN_SELL]
        else:
            at_ours = vs[VS_MIN_SELL] <= price_tick <= vs[VS_MAX_SELL]
            crossing = qty_lot > 0 and price_tick <= vs[VS_MAX_BUY]
        if at_ours:
            prev = level_at(xqty, xstate, inst, side_idx, price_tick)
            own = 1 if side_idx == 0 else -1
            for k in range(n_active):
                o = orders[active[k]]
                if o["instrument"] == inst and o["side"] == own and o["price_tick"] == price_tick:
                    _queue_on_depth(o, prev, qty_lot, int(vp[VP_QUEUE_MODEL]), vp[VP_POWER])
        apply_level(xqty, xstate, inst, side_idx, price_tick, qty_lot)
        if crossing:
            _fill_crossed(
                vs, inst, orders, active, xstate, resp, lat_out, vinst, acct, iacct, fills
            )
    elif kind >= 4 and kind <= 6:  # TRADE_BUY hits our asks, TRADE_SELL hits our bids
        if kind == 6:  # TRADE_UNKNOWN: the side is inferred from the price (see the rule)
            kind = trade_side_kind(xstate, inst, price_tick)
        if (kind == 4 and price_tick >= vs[VS_MIN_SELL]) or (
            kind == 5 and price_tick <= vs[VS_MAX_BUY]
        ):
            target = -1 if kind == 4 else 1
            k = n_active - 1
            while k >= 0:
                o = orders[active[k]]
                if o["instrument"] == inst and o["side"] == target:
                    px = o["price_tick"]
                    through = px < price_tick if target == -1 else px > price_tick
                    q = 0
                    if through:
                        q = o["leaves_lot"]
                    elif px == price_tick:
                        ahead = o["queue_ahead"] - qty_lot
                        o["cum_trade_lot"] += qty_lot
                        if ahead < 0.0:
                            q = min(int(-ahead), o["leaves_lot"])
                            ahead = 0.0
                        o["queue_ahead"] = ahead
                    if q > 0:
                        mid = mid_tick(xstate, inst)
                        fill(vs, o, px, q, _MAKER, mid, resp, lat_out, vinst, acct, iacct, fills)
                        if o["leaves_lot"] == 0:
                            o["status"] = 0
                            remove_active(vs, active, orders, k)
                k -= 1
    elif kind == 3:  # BOOK_CLEAR
        clear_book(xqty, xstate, inst)
    elif kind == 9:  # MARK_PRICE
        acct[inst, A_MARK_TICK] = price_tick
    elif kind == 10 and vp[VP_FUNDING] != 0.0:  # FUNDING_RATE, aux = rate * 1e9
        mark = acct[inst, A_MARK_TICK]
        if mark == 0.0:
            mark = mid_tick(xstate, inst)
        pay = iacct[inst, I_POSITION] * mark * vinst[inst, VI_QUOTE_PER_TICK_LOT] * aux * 1e-9
        if pay == pay:  # no mark at all (NaN): nothing can be charged
            acct[inst, A_CASH] -= pay
            acct[inst, A_FUNDING] += pay


@inline_kernel
def trade_side_kind(xstate: np.ndarray, inst: int, price_tick: int) -> int:
    """Return the trade kind (4 buy, 5 sell, 0 none) of a trade whose aggressor is unknown.

    The rule, against the venue's book before the trade: at or above the best ask a buyer took
    (TRADE_BUY); at or below the best bid a seller did (TRADE_SELL); strictly inside the spread,
    above the mid is a buy and below it a sell. At the mid exactly, or with a side of the book
    empty, nothing is inferred and the trade moves no queue (0).
    """
    bid = xstate[inst, ST_BEST_BID]
    ask = xstate[inst, ST_BEST_ASK]
    if bid == NO_BID or ask == NO_ASK:
        return 0
    if price_tick >= ask:
        return 4
    if price_tick <= bid:
        return 5
    twice = 2 * price_tick
    if twice > bid + ask:
        return 4
    if twice < bid + ask:
        return 5
    return 0


@inline_kernel
def _fill_crossed(vs, inst, orders, active, xstate, resp, lat_out, vinst, acct, iacct, fills):
    """Fill (at their price) our resting orders that the opposite best has moved onto."""
    bid = xstate[inst, ST_BEST_BID]
    ask = xstate[inst, ST_BEST_ASK]
    k = vs[VS_N_ACTIVE] - 1
    while k >= 0:
        o = orders[active[k]]
        if o["instrument"] == inst:
            px = o["price_tick"]
            if (o["side"] == 1 and ask != NO_ASK and ask <= px) or (
                o["side"] == -1 and bid != NO_BID and bid >= px
            ):
                q = o["leaves_lot"]
                mid = mid_tick(xstate, inst)
                fill(vs, o, px, q, _MAKER, mid, resp, lat_out, vinst, acct, iacct, fills)
                o["status"] = 0
                remove_active(vs, active, orders, k)
        k -= 1


@kernel
def mid_tick(xstate: np.ndarray, inst: int) -> float:
    """Return the mid of a book in ticks (NaN when a side is empty)."""
    bid = xstate[inst, ST_BEST_BID]
    ask = xstate[inst, ST_BEST_ASK]
    if bid == NO_BID or ask == NO_ASK:
        return np.nan
    return 0.5 * (bid + ask)
