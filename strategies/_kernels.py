"""Order-management kernels shared by the strategies (not a strategy: no ``decide`` here).

Small ``@njit`` helpers over the order view and the local book that several strategies need:
whether the strategy may trade now, pulling every order of an instrument, keeping one quote per
side within a tolerance of its target, and the worst price a taker order of a given size reaches.
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
def keep_quote(
    now_ns, inst, side, target_tick, qty_lot, flags, tolerance_ticks, orders, intents, n
) -> int:  # fmt: skip
    """Keep one ``side`` quote within ``tolerance_ticks`` of ``target_tick``; return the count.

    The first live quote of that side whose price is within the tolerance and whose size is
    ``qty_lot`` stays (no cancel/replace churn on small moves, queue position kept); every other
    one is cancelled. If none stays and ``target_tick > 0`` a new quote is sent. A target of 0
    or less means "no quote on this side".
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
    if not kept:
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
