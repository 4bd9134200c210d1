"""Order-book imbalance taker: buy when the book leans up, sell when it leans down.

When the resting size of the best ``levels`` levels is lopsided, the next price move tends to go
towards the thin side: the top-N imbalance ``(B - A) / (B + A)`` (sizes of the best N bid and
ask levels) and the microprice ``(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)``, which
sits closer to the side about to be consumed, both measure it (Cartea, Donnelly & Jaimungal 2018,
"Enhancing trading strategies with order book signals", Applied Math. Finance 25; Stoikov 2018,
"The micro-price", Quantitative Finance 18). When the imbalance reaches ``imbalance_threshold``
*and* the microprice sits at least ``micro_threshold_ticks`` from the mid on the same side, it
takes liquidity: an IOC limit order at the opposite touch plus ``slippage_ticks`` (marketable,
never a market order, so the price it can pay is bounded).

A position is closed, again with an IOC at the touch, when the mid has moved ``target_ticks`` in
its favour or ``stop_ticks`` against it (measured from the touch price it entered at), or after
``max_hold_ms``. After each entry or exit it waits ``cooldown_ms`` before entering again. While
an order is in flight it does nothing else; while the book is invalid or trading is halted it
sends nothing. An order that pre-trade risk refused is not resent on the next market event: it
waits ``retry_ms`` (doubling while refusals repeat; ``strategies._kernels.retry_gate``). It
trades one instrument and is woken by every market event and order update.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID, depth_sum, level_qty
from bot.core.strategy_api import ISTATE_WAKE_NS, emit_new
from strategies._kernels import (
    BUY,
    IOC,
    REDUCE_ONLY,
    RETRY_SLOTS,
    SELL,
    WAKE_TIMER,
    can_trade,
    live_orders,
    note_sent,
    retry_gate,
)

NAME = "imbalance_taker"
USES_SIGNALS = False
"""It reads the imbalance and microprice of its own top N straight from the book."""
WAKE_ON_EVENT = True
WAKE_ON_ORDER = True


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Imbalance-taker parameters (all reloadable: they only shape the next decision)."""

    RELOADABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "levels", "imbalance_threshold", "micro_threshold_ticks", "qty_lot",
            "slippage_ticks", "target_ticks", "stop_ticks", "max_hold_ms", "cooldown_ms",
            "retry_ms",
        }
    )  # fmt: skip

    levels: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    """N: how many levels a side the imbalance sums."""
    imbalance_threshold: Annotated[float, msgspec.Meta(gt=0, lt=1)] = 0.5
    """Enter when ``|imbalance|`` reaches this (and the microprice agrees)."""
    micro_threshold_ticks: Annotated[float, msgspec.Meta(ge=0)] = 0.2
    """Least distance of the microprice from the mid, ticks, on the imbalance's side."""
    qty_lot: Annotated[int, msgspec.Meta(gt=0)] = 1
    slippage_ticks: Annotated[int, msgspec.Meta(ge=0)] = 0
    """How far beyond the touch the IOC limit may fill."""
    target_ticks: Annotated[int, msgspec.Meta(ge=1)] = 3
    stop_ticks: Annotated[int, msgspec.Meta(ge=1)] = 3
    max_hold_ms: Annotated[float, msgspec.Meta(gt=0)] = 5_000.0
    cooldown_ms: Annotated[float, msgspec.Meta(ge=0)] = 1_000.0
    retry_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] = 500.0
    """After pre-trade risk refuses an order, wait this long before sending again (doubled
    for each refusal in a row, up to 64 times)."""


P_LEVELS = 0
P_IMB = 1
P_MICRO = 2
P_QTY = 3
P_SLIP = 4
P_TARGET = 5
P_STOP = 6
P_HOLD_NS = 7
P_COOLDOWN_NS = 8
P_INST = 9
P_RETRY_NS = 10

I_ENTRY_NS = 2
I_ENTRY_TICK = 3
I_COOLDOWN_NS = 4
I_LAST_POS = 5
I_SENT_TICK = 6  # touch price of the last entry order (the entry reference once it fills)
I_RETRY = 7  # retry_gate's slots
ISTATE_SIZE = I_RETRY + RETRY_SLOTS
F_IMBALANCE = 0  # last values seen (tests, inspection)
F_MICRO_DEV = 1
FSTATE_SIZE = 2


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return the params array for ``decide`` (one traded instrument)."""
    if len(instruments) != 1:
        raise ValueError(f"imbalance_taker trades one instrument, got {len(instruments)}")
    p = params
    return np.array(
        [
            p.levels, p.imbalance_threshold, p.micro_threshold_ticks, p.qty_lot,
            p.slippage_ticks, p.target_ticks, p.stop_ticks, p.max_hold_ms * 1e6,
            p.cooldown_ms * 1e6, instruments[0], p.retry_ms * 1e6,
        ],
        dtype=np.float64,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def _exit(now_ns, me, pos, bid, ask, params, istate, intents) -> int:
    """Close ``pos`` with an IOC at the touch; start the cooldown."""
    slip = int(params[P_SLIP])
    side = SELL if pos > 0 else BUY
    px = bid - slip if pos > 0 else ask + slip
    istate[I_COOLDOWN_NS] = now_ns + int(params[P_COOLDOWN_NS])
    return emit_new(intents, 0, me, side, px, abs(pos), IOC | REDUCE_ONLY, now_ns)


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Enter on imbalance plus microprice; exit on target, stop or holding time."""
    me = int(params[P_INST])
    if reason != WAKE_TIMER and inst != me:
        return 0
    live = live_orders(orders, me)
    may_send = retry_gate(now_ns, reason, live, istate, I_RETRY, int(params[P_RETRY_NS]))
    if live > 0:
        return 0  # an IOC is in flight: its outcome decides what comes next
    pos = position_lot[me]
    if pos != istate[I_LAST_POS]:
        if istate[I_LAST_POS] == 0:
            istate[I_ENTRY_NS] = now_ns
            istate[I_ENTRY_TICK] = istate[I_SENT_TICK]
        istate[I_LAST_POS] = pos
    if not can_trade(book_state, istate, me):
        return 0
    if not may_send:
        istate[ISTATE_WAKE_NS] = istate[I_RETRY + 1]  # look again when the wait is over
        return 0
    bid = book_state[me, ST_BEST_BID]
    ask = book_state[me, ST_BEST_ASK]
    mid = 0.5 * (bid + ask)
    if pos != 0:
        moved = (mid - istate[I_ENTRY_TICK]) * (1 if pos > 0 else -1)
        deadline = istate[I_ENTRY_NS] + int(params[P_HOLD_NS])
        if moved >= params[P_TARGET] or moved <= -params[P_STOP] or now_ns >= deadline:
            return note_sent(istate, I_RETRY, _exit(now_ns, me, pos, bid, ask, params, istate,
                                                    intents))  # fmt: skip
        istate[ISTATE_WAKE_NS] = deadline  # exit on time even if the market goes quiet
        return 0
    levels = int(params[P_LEVELS])
    total_bid = depth_sum(book_qty, book_state, me, 0, levels)
    total_ask = depth_sum(book_qty, book_state, me, 1, levels)
    bid_qty = level_qty(book_qty, book_state, me, 0, bid)
    ask_qty = level_qty(book_qty, book_state, me, 1, ask)
    imbalance = (total_bid - total_ask) / (total_bid + total_ask)
    dev = (bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty) - mid
    fstate[F_IMBALANCE] = imbalance
    fstate[F_MICRO_DEV] = dev
    if now_ns < istate[I_COOLDOWN_NS]:
        return 0
    thr = params[P_IMB]
    micro = params[P_MICRO]
    slip = int(params[P_SLIP])
    qty = int(params[P_QTY])
    if imbalance >= thr and dev >= micro:
        istate[I_SENT_TICK] = ask
        istate[I_COOLDOWN_NS] = now_ns + int(params[P_COOLDOWN_NS])
        return note_sent(istate, I_RETRY, emit_new(intents, 0, me, BUY, ask + slip, qty, IOC,
                                                   now_ns))  # fmt: skip
    if imbalance <= -thr and dev <= -micro:
        istate[I_SENT_TICK] = bid
        istate[I_COOLDOWN_NS] = now_ns + int(params[P_COOLDOWN_NS])
        return note_sent(istate, I_RETRY, emit_new(intents, 0, me, SELL, bid - slip, qty, IOC,
                                                   now_ns))  # fmt: skip
    return 0
