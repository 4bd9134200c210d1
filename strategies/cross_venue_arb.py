"""Cross-venue arbitrage: the same perpetual on two venues, bought where cheap, sold where dear.

Two books of one contract (e.g. BTCUSDT on Binance and on Bybit) normally sit within fees of
each other. When the *executable* spread, the price at which ``qty_lot`` can be sold on one venue
(walking its bids) minus the price at which it can be bought on the other (walking its asks),
is worth more than both taker fees plus a safety margin::

    (sell_px - buy_px) / mid * 1e4  >  taker_fee_a_bps + taker_fee_b_bps + margin_bps

it sends both legs at once as IOC limit orders at those worst prices (nothing fills beyond the
prices the edge was computed from). Depth must cover the size within ``depth_levels`` levels on
both sides, or it does not trade. This is the textbook two-venue (spatial) arbitrage, e.g.
Makarov & Schoar 2020, "Trading and arbitrage in cryptocurrency markets", J. Financial Economics
135; the fees here must be the taker fees the venues actually charge (the backtest charges
``backtest.fees.taker_bps``).

Legs can fail: an IOC may fill partly or not at all when the book moved before it arrived. The
strategy keeps the two venues' positions opposite (``position_a + position_b == 0``). When both
legs are done and the net position is not zero, it *hedges* for ``leg_timeout_ms``: it sends the
missing size on the venue whose leg fell short, as an IOC at most ``hedge_slippage_bps`` worse
than that venue's touch. After the timeout it *unwinds* instead: the excess leg is closed with a
market IOC on the venue that holds it. Each venue's position stays within ``max_position_lot``,
so repeated dislocations in one direction stop adding once the bound is reached (and a reverse
dislocation trades it back). Nothing is sent while a book is invalid or trading is halted, and
an order pre-trade risk refused is not resent on the next market event: it waits ``retry_ms``
(doubling while refusals repeat; ``strategies._kernels.retry_gate``).

Both instruments must share tick and lot sizes (``check_instruments``): prices are compared in
ticks. It is woken by every market event and order update, and ``cooldown_ms`` separates two
entries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID
from bot.core.strategy_api import emit_new
from strategies._kernels import (
    BUY,
    IOC,
    MARKET,
    RETRY_SLOTS,
    SELL,
    can_trade,
    live_orders,
    note_sent,
    retry_gate,
    sweep_price,
)

NAME = "cross_venue_arb"
USES_SIGNALS = False
WAKE_ON_EVENT = True
WAKE_ON_ORDER = True


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Two-venue arbitrage parameters (all reloadable: none changes what the state means)."""

    RELOADABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "qty_lot", "taker_fee_a_bps", "taker_fee_b_bps", "margin_bps", "depth_levels",
            "max_position_lot", "leg_timeout_ms", "hedge_slippage_bps", "cooldown_ms",
            "retry_ms",
        }
    )  # fmt: skip

    qty_lot: Annotated[int, msgspec.Meta(gt=0)] = 1
    """Size of each arbitrage (both legs), lots."""
    taker_fee_a_bps: Annotated[float, msgspec.Meta(ge=0, lt=100)] = 5.0
    """Taker fee of the first instrument's venue, basis points."""
    taker_fee_b_bps: Annotated[float, msgspec.Meta(ge=0, lt=100)] = 5.0
    margin_bps: Annotated[float, msgspec.Meta(ge=0, lt=1000)] = 1.0
    """Safety margin over both fees, basis points (latency, slippage, model error)."""
    depth_levels: Annotated[int, msgspec.Meta(ge=1, le=100)] = 5
    """How many levels a leg may walk to fill ``qty_lot``."""
    max_position_lot: Annotated[int, msgspec.Meta(gt=0)] = 10
    """Bound of each venue's position, lots."""
    leg_timeout_ms: Annotated[float, msgspec.Meta(gt=0)] = 500.0
    """How long a failed leg is hedged before the other leg is unwound."""
    hedge_slippage_bps: Annotated[float, msgspec.Meta(ge=0, lt=1000)] = 5.0
    """How much worse than the touch a hedge may fill, basis points."""
    cooldown_ms: Annotated[float, msgspec.Meta(ge=0)] = 50.0
    retry_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] = 500.0
    """After pre-trade risk refuses an order, wait this long before sending again (doubled
    for each refusal in a row, up to 64 times)."""


P_QTY = 0
P_FEE_A = 1
P_FEE_B = 2
P_MARGIN = 3
P_LEVELS = 4
P_MAX_POS = 5
P_TIMEOUT_NS = 6
P_HEDGE_BPS = 7
P_COOLDOWN_NS = 8
P_A = 9
P_B = 10
P_RETRY_NS = 11

I_LEG_NS = 2  # local time both legs were sent (0: not legging)
I_TARGET_A = 3  # positions the legs should leave
I_TARGET_B = 4
I_COOLDOWN_NS = 5
I_HEDGES = 6  # hedge orders sent (counter, inspection)
I_UNWINDS = 7
I_RETRY = 8  # retry_gate's slots
ISTATE_SIZE = I_RETRY + RETRY_SLOTS
F_LAST_EDGE_BPS = 0  # best edge after fees and margin seen last (inspection, tests)
FSTATE_SIZE = 1


def check_instruments(params: Params, specs: Sequence[Any]) -> None:
    """Require two instruments with the same tick and lot sizes."""
    if len(specs) != 2:
        raise ValueError(f"cross_venue_arb trades two instruments, got {len(specs)}")
    a, b = specs
    if Decimal(a.tick_size) != Decimal(b.tick_size) or Decimal(a.lot_size) != Decimal(b.lot_size):
        raise ValueError(
            f"{a.venue}:{a.symbol} and {b.venue}:{b.symbol} must share tick and lot sizes"
        )


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return the params array for ``decide`` (instruments: venue A, venue B)."""
    if len(instruments) != 2:
        raise ValueError(f"cross_venue_arb trades two instruments, got {len(instruments)}")
    p = params
    return np.array(
        [
            p.qty_lot, p.taker_fee_a_bps, p.taker_fee_b_bps, p.margin_bps, p.depth_levels,
            p.max_position_lot, p.leg_timeout_ms * 1e6, p.hedge_slippage_bps,
            p.cooldown_ms * 1e6, instruments[0], instruments[1], p.retry_ms * 1e6,
        ],
        dtype=np.float64,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def edge_bps(buy_px: int, sell_px: int, fee_buy_bps: float, fee_sell_bps: float,
             margin_bps: float) -> float:  # fmt: skip
    """Return the edge of buying at ``buy_px`` and selling at ``sell_px`` after costs, bps."""
    mid = 0.5 * (buy_px + sell_px)
    return (sell_px - buy_px) / mid * 1e4 - fee_buy_bps - fee_sell_bps - margin_bps


@njit(cache=True, nogil=True)
def _repair(now_ns, net, a, b, book_state, position_lot, params, istate, intents) -> int:
    """Bring ``position_a + position_b`` (``net``) back to 0: hedge, then unwind."""
    side = SELL if net > 0 else BUY
    qty = abs(net)
    legging = istate[I_LEG_NS] > 0 and now_ns - istate[I_LEG_NS] < params[P_TIMEOUT_NS]
    if legging:  # complete the leg that fell short, within the slippage bound
        miss_a = abs(position_lot[a] - istate[I_TARGET_A])
        miss_b = abs(position_lot[b] - istate[I_TARGET_B])
        venue = a if miss_a >= miss_b else b
        if side == BUY:
            touch = book_state[venue, ST_BEST_ASK]
            px = math.floor(touch * (1.0 + params[P_HEDGE_BPS] * 1e-4))
        else:
            touch = book_state[venue, ST_BEST_BID]
            px = math.ceil(touch * (1.0 - params[P_HEDGE_BPS] * 1e-4))
        istate[I_HEDGES] += 1
        return emit_new(intents, 0, venue, side, px, qty, IOC, now_ns)
    if now_ns < istate[I_COOLDOWN_NS]:
        return 0  # the last unwind failed: retry after the cooldown
    # unwind on the venue holding the excess (the larger position in the net's direction)
    pa = position_lot[a] * (1 if net > 0 else -1)
    pb = position_lot[b] * (1 if net > 0 else -1)
    venue = a if pa >= pb else b
    istate[I_LEG_NS] = 0
    istate[I_UNWINDS] += 1
    istate[I_COOLDOWN_NS] = now_ns + int(params[P_COOLDOWN_NS])
    return emit_new(intents, 0, venue, side, 0, qty, IOC | MARKET, now_ns)


@njit(cache=True, nogil=True)
def _try_direction(now_ns, buy, sell, fee_buy, fee_sell, book_qty, book_state, position_lot,
                   params, istate, fstate, intents) -> int:  # fmt: skip
    """Send both legs (buy on ``buy``, sell on ``sell``) if the edge is there; return count."""
    qty = int(params[P_QTY])
    levels = int(params[P_LEVELS])
    max_pos = params[P_MAX_POS]
    if position_lot[buy] + qty > max_pos or position_lot[sell] - qty < -max_pos:
        return 0
    buy_px = sweep_price(book_qty, book_state, buy, BUY, qty, levels)
    sell_px = sweep_price(book_qty, book_state, sell, SELL, qty, levels)
    if buy_px <= 0 or sell_px <= 0:
        return 0  # depth does not cover the size
    edge = edge_bps(buy_px, sell_px, fee_buy, fee_sell, params[P_MARGIN])
    fstate[F_LAST_EDGE_BPS] = max(fstate[F_LAST_EDGE_BPS], edge)
    if edge <= 0.0:
        return 0
    a = int(params[P_A])
    istate[I_LEG_NS] = now_ns
    istate[I_TARGET_A] = position_lot[a] + (qty if buy == a else -qty)
    istate[I_TARGET_B] = -istate[I_TARGET_A]
    istate[I_COOLDOWN_NS] = now_ns + int(params[P_COOLDOWN_NS])
    n = emit_new(intents, 0, buy, BUY, buy_px, qty, IOC, now_ns)
    return emit_new(intents, n, sell, SELL, sell_px, qty, IOC, now_ns)


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Repair an unbalanced pair first; otherwise take a positive edge in either direction."""
    a = int(params[P_A])
    b = int(params[P_B])
    live = live_orders(orders, a) + live_orders(orders, b)
    may_send = retry_gate(now_ns, reason, live, istate, I_RETRY, int(params[P_RETRY_NS]))
    if live > 0:
        return 0  # legs in flight: wait for their outcome
    if not (may_send and can_trade(book_state, istate, a) and can_trade(book_state, istate, b)):
        return 0
    net = position_lot[a] + position_lot[b]
    if net != 0:
        n = _repair(now_ns, net, a, b, book_state, position_lot, params, istate, intents)
        return note_sent(istate, I_RETRY, n)
    istate[I_LEG_NS] = 0
    if now_ns < istate[I_COOLDOWN_NS]:
        return 0
    fstate[F_LAST_EDGE_BPS] = -1e300
    n = _try_direction(now_ns, a, b, params[P_FEE_A], params[P_FEE_B], book_qty, book_state,
                       position_lot, params, istate, fstate, intents)  # fmt: skip
    if n == 0:
        n = _try_direction(now_ns, b, a, params[P_FEE_B], params[P_FEE_A], book_qty,
                           book_state, position_lot, params, istate, fstate, intents)  # fmt: skip
    return note_sent(istate, I_RETRY, n)
