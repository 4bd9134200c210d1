"""Order-management kernels shared by the strategies (not a strategy: no ``decide`` here).

Small ``@njit`` helpers over the order view and the local book that several strategies need:
whether the strategy may trade now, pulling every order of an instrument, keeping one quote per
side within a tolerance of its target (and within an inventory bound counted as pre-trade risk
counts it), the worst price a taker order of a given size reaches, and not resending an order
that pre-trade risk just refused.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bot.core.book import (
    NO_ASK,
    NO_BID,
    ST_BEST_ASK,
    ST_BEST_BID,
    check_book,
    level_qty,
    next_level,
)
from bot.core.strategy_api import ISTATE_HALTED, emit_cancel, emit_new

BUY, SELL = 1, -1
REFUSED_BACKOFF_MAX_SHIFT = 6
"""Refusals in a row double the wait before the next send, up to 2**6 = 64 times ``retry``."""
RETRY_SLOTS = 3
"""istate slots ``retry_gate`` uses from its ``slot``: sent flag, wait-until time, refusals."""
PENDING_CANCEL = 5
POST_ONLY, REDUCE_ONLY, IOC, MARKET = 1, 2, 4, 8
WAKE_EVENT, WAKE_TIMER, WAKE_ORDER = 0, 1, 2


@njit(cache=True, nogil=True)
def can_trade(book_state: np.ndarray, istate: np.ndarray, inst: int) -> bool:
    """Return whether ``inst``'s book is valid and two-sided and trading is not halted."""
    return istate[ISTATE_HALTED] == 0 and check_book(book_state, inst) == 0


@njit(cache=True, nogil=True)
def cancel_all(
    now_ns: int, inst: int, orders: np.ndarray, intents: np.ndarray, n: int
) -> int:  # fmt: skip
    """Cancel every live order of ``inst`` not already being cancelled; return the intent count."""
    for s in range(orders.shape[0]):
        o = orders[s]
        if o["status"] != 0 and o["status"] != PENDING_CANCEL and o["instrument"] == inst:
            n = emit_cancel(intents, n, inst, o["client_order_id"], now_ns)
    return n


@njit(cache=True, nogil=True)
def live_orders(orders: np.ndarray, inst: int) -> int:
    """Return how many orders of ``inst`` are live (sent and not yet closed, cancels included)."""
    count = 0
    for s in range(orders.shape[0]):
        if orders[s]["status"] != 0 and orders[s]["instrument"] == inst:
            count += 1
    return count


@njit(cache=True, nogil=True)
def open_lot(orders: np.ndarray, inst: int, side: int) -> int:
    """Return the unfilled size of every live ``side`` order of ``inst``, cancels on their way
    included (pre-trade risk keeps their reservation until the venue confirms the cancel)."""
    total = 0
    for s in range(orders.shape[0]):
        o = orders[s]
        if o["status"] != 0 and o["instrument"] == inst and o["side"] == side:
            total += max(o["qty_lot"] - o["filled_lot"], 0)
    return total


@njit(cache=True, nogil=True)
def room_lot(orders: np.ndarray, position_lot: int, inst: int, side: int, max_lot: int) -> int:
    """Return how much more a ``side`` order may add before the worst case (position plus every
    open order of that side, filled) passes ``max_lot``; a large number when ``max_lot <= 0``.

    It is pre-trade risk's own ``MAX_POSITION`` test, so a maker whose bound is at or below
    ``risk.max_position_lot`` never sends a quote that risk would refuse for its position.
    """
    if max_lot <= 0:
        return 1 << 62
    if side == BUY:
        return max_lot - (position_lot + open_lot(orders, inst, BUY))
    return max_lot + (position_lot - open_lot(orders, inst, SELL))


@njit(cache=True, nogil=True)
def keep_quote(
    now_ns, inst, side, target_tick, qty_lot, flags, tolerance_ticks, orders, intents, n,
    room=1 << 62,
) -> int:  # fmt: skip
    """Keep one ``side`` quote within ``tolerance_ticks`` of ``target_tick``; return the count.

    The first live quote of that side whose price is within the tolerance and whose size is
    ``qty_lot`` stays (no cancel/replace churn on small moves, queue position kept); every other
    one is cancelled. If none stays, ``target_tick > 0`` and ``qty_lot <= room`` (``room_lot``:
    what the inventory bound still allows, counting the quotes being cancelled) a new quote is
    sent. A target of 0 or less means "no quote on this side".
    """
    kept = target_tick <= 0
    for s in range(orders.shape[0]):
        o = orders[s]
        if o["status"] == 0 or o["status"] == PENDING_CANCEL:
            continue
        if o["instrument"] != inst or o["side"] != side:
            continue
        ok = (
            not kept
            and abs(o["price_tick"] - target_tick) <= tolerance_ticks
            and o["qty_lot"] == qty_lot
        )
        if ok:
            kept = True
        else:
            n = emit_cancel(intents, n, inst, o["client_order_id"], now_ns)
    if not kept and qty_lot <= room:
        n = emit_new(intents, n, inst, side, target_tick, qty_lot, flags, now_ns)
    return n


@njit(cache=True, nogil=True)
def sweep_price(
    book_qty: np.ndarray, book_state: np.ndarray, inst: int, side: int, qty_lot: int, levels: int
) -> int:
    """Return the worst price a taker ``side`` order of ``qty_lot`` reaches, or 0 if the best
    ``levels`` levels of the opposite side do not hold that much (depth does not cover it)."""
    if side == BUY:
        px = book_state[inst, ST_BEST_ASK]
        if px == NO_ASK:
            return 0
        opp, end = 1, NO_ASK
    else:
        px = book_state[inst, ST_BEST_BID]
        if px == NO_BID:
            return 0
        opp, end = 0, NO_BID
    left = qty_lot
    seen = 0
    while px != end and seen < levels:
        seen += 1
        left -= level_qty(book_qty, book_state, inst, opp, px)
        if left <= 0:
            return px
        px = next_level(book_qty, book_state, inst, opp, px)
    return 0


@njit(cache=True, nogil=True)
def touch_qty(book_qty: np.ndarray, book_state: np.ndarray, inst: int, book_side: int) -> int:
    """Return the size at the best level of ``book_side`` (0 bid, 1 ask); 0 if empty."""
    if book_side == 0:
        px = book_state[inst, ST_BEST_BID]
        if px == NO_BID:
            return 0
    else:
        px = book_state[inst, ST_BEST_ASK]
        if px == NO_ASK:
            return 0
    return level_qty(book_qty, book_state, inst, book_side, px)


@njit(cache=True, nogil=True)
def retry_gate(now_ns, reason, live, istate, slot, retry_ns) -> bool:  # fmt: skip
    """Return whether a taker may send an order now, learning what became of its last one.

    The strategy must wake on order updates (``WAKE_ON_ORDER``). An order that passed pre-trade
    risk is in the order view at once and the venue's answer wakes the strategy, so when a wake
    that is not an order update finds the order sent last (``note_sent``) neither live nor
    answered, risk refused it: the strategy then waits ``retry_ns`` before sending again,
    doubling the wait while refusals repeat (up to ``REFUSED_BACKOFF_MAX_SHIFT`` doublings)
    instead of resending on every market event. ``live``: its orders live now (``live_orders``).
    Uses ``istate[slot:slot + RETRY_SLOTS]``.
    """
    if reason == WAKE_ORDER or live > 0:
        if istate[slot] != 0:  # it reached the venue
            istate[slot] = 0
            istate[slot + 2] = 0
    elif istate[slot] != 0:
        istate[slot] = 0
        shift = min(istate[slot + 2], REFUSED_BACKOFF_MAX_SHIFT)
        istate[slot + 2] += 1
        istate[slot + 1] = now_ns + (retry_ns << shift)
    return now_ns >= istate[slot + 1]


@njit(cache=True, nogil=True)
def note_sent(istate: np.ndarray, slot: int, n: int) -> int:
    """Remember that an order was sent (``n`` intents written) for ``retry_gate``; return ``n``."""
    if n > 0:
        istate[slot] = 1
    return n
