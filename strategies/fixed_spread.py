"""Fixed-spread market maker: the benchmark strategy, and the smallest complete example.

Every ``interval_ms`` of local time it quotes ``qty_lot`` on each side of every instrument it
trades: a bid at floor(mid) - ``offset_ticks`` and an ask at ceil(mid) + ``offset_ticks`` (mid in
ticks), cancelling its quotes at any other price. It keeps a quote that is already at the right
price (so it keeps its queue position), and quotes nothing, cancelling what it has, while the
book is invalid, crossed or one-sided. With ``max_inventory_lot`` set it stops quoting (and
pulls) the side whose fill would take its position beyond that bound, and sends a new quote only
while its position plus every open order of that side (cancels on their way included) stays
within it, as pre-trade risk counts, so it never leans on risk to refuse quotes over and over
(set it at or below ``risk.max_position_lot``).
Quotes are never at or through the opposite touch of the book it sees (``offset_ticks`` >= 0
from floor/ceil of the mid keeps them strictly inside it).

The strategy contract (what ``decide`` receives and returns) is described in
``bot.core.strategy_api``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID, check_book
from bot.core.strategy_api import ISTATE_WAKE_NS, emit_cancel, emit_new
from strategies._kernels import room_lot

NAME = "fixed_spread"
USES_SIGNALS = False
WAKE_ON_EVENT = False
"""It requotes on its timer only: market events and order updates need not wake it."""
WAKE_ON_ORDER = False
ISTATE_SIZE = 1
FSTATE_SIZE = 0


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fixed-spread quoting parameters (all reloadable: they only shape the next quotes)."""

    RELOADABLE: ClassVar[frozenset[str]] = frozenset(
        {"interval_ms", "offset_ticks", "qty_lot", "post_only", "max_inventory_lot"}
    )

    interval_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] = 100.0
    """Time between two requotes, in milliseconds of local time."""
    offset_ticks: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 2
    """Distance from floor(mid) (bid) and ceil(mid) (ask), in ticks."""
    qty_lot: Annotated[int, msgspec.Meta(gt=0)] = 1
    """Size of each quote, in lots."""
    post_only: bool = True
    """Send quotes post-only (GTX): a quote that would cross is rejected, never takes."""
    max_inventory_lot: Annotated[int, msgspec.Meta(ge=0)] = 0
    """Largest absolute position a fill of a quote may reach, in lots (0: no bound here)."""


# params array layout
P_INTERVAL_NS = 0
P_OFFSET_TICKS = 1
P_QTY_LOT = 2
P_POST_ONLY = 3
P_MAX_INV_LOT = 4
P_N_INSTRUMENTS = 5
P_FIRST_INSTRUMENT = 6


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return the params array for ``decide``: the fields, then the instrument ids traded."""
    head = [
        params.interval_ms * 1e6,
        float(params.offset_ticks),
        float(params.qty_lot),
        1.0 if params.post_only else 0.0,
        float(params.max_inventory_lot),
        float(len(instruments)),
    ]
    return np.array(head + [float(i) for i in instruments], dtype=np.float64)


_BUY, _SELL = 1, -1
_PENDING_CANCEL = 5
_POST_ONLY_FLAG = 1
_WAKE_TIMER = 1


@njit(cache=True, nogil=True)
def _quote(now_ns, inst, book_state, orders, position_lot, params, intents, n) -> int:
    bid = book_state[inst, ST_BEST_BID]
    ask = book_state[inst, ST_BEST_ASK]
    ok = check_book(book_state, inst) == 0
    offset = int(params[P_OFFSET_TICKS])
    target_bid = (bid + ask) // 2 - offset
    target_ask = -((-(bid + ask)) // 2) + offset
    qty = int(params[P_QTY_LOT])
    max_inv = int(params[P_MAX_INV_LOT])
    pos = position_lot[inst]
    # a side whose fill would breach the bound is not quoted (what rests there is pulled)
    bid_ok = ok and (max_inv <= 0 or pos + qty <= max_inv)
    ask_ok = ok and (max_inv <= 0 or pos - qty >= -max_inv)
    have_bid = not bid_ok
    have_ask = not ask_ok
    for s in range(orders.shape[0]):
        o = orders[s]
        if o["status"] == 0 or o["status"] == _PENDING_CANCEL or o["instrument"] != inst:
            continue
        if o["side"] == _BUY and bid_ok and not have_bid and o["price_tick"] == target_bid:
            have_bid = True
        elif o["side"] == _SELL and ask_ok and not have_ask and o["price_tick"] == target_ask:
            have_ask = True
        else:
            n = emit_cancel(intents, n, inst, o["client_order_id"], now_ns)
    flags = _POST_ONLY_FLAG if params[P_POST_ONLY] != 0.0 else 0
    # a new quote only where the worst case (every open order of that side filled, the ones
    # being cancelled too: risk releases them on the venue's answer) stays within the bound
    if not have_bid and qty <= room_lot(orders, pos, inst, _BUY, max_inv):
        n = emit_new(intents, n, inst, _BUY, target_bid, qty, flags, now_ns)
    if not have_ask and qty <= room_lot(orders, pos, inst, _SELL, max_inv):
        n = emit_new(intents, n, inst, _SELL, target_ask, qty, flags, now_ns)
    return n


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Requote on the timer (the engine's first wake starts it); ignore other wakes."""
    if reason != _WAKE_TIMER:
        return 0
    n = 0
    for k in range(int(params[P_N_INSTRUMENTS])):
        n = _quote(now_ns, int(params[P_FIRST_INSTRUMENT + k]), book_state, orders,
                   position_lot, params, intents, n)  # fmt: skip
    istate[ISTATE_WAKE_NS] = now_ns + int(params[P_INTERVAL_NS])
    return n
