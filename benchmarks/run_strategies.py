"""Two event-driven strategies for ``bench_run``'s tick-to-trade figures (never shipped).

* ``touch_maker``: keeps one post-only quote a side ``offset_ticks`` behind the touch; when the
  touch moves it cancels the stale quote and, once the cancel is answered, quotes again: the
  cancel/replace traffic of a real maker, decided on every book message.
* ``fixed_order`` (the floor): on every book message sends the same IOC buy of one lot at the
  best bid (it never fills: it does not cross), with no decision logic at all.

Both follow the strategy contract (``bot.core.strategy_api``) with an empty ``Params``.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID
from bot.core.strategy_api import emit_cancel, emit_new

ISTATE_SIZE = 2
FSTATE_SIZE = 1
USES_SIGNALS = False
WAKE_ON_EVENT = True
WAKE_ON_ORDER = False
_BUY, _SELL = 1, -1
_POST_ONLY, _IOC = 1, 4
_PENDING_CANCEL = 5
_OFFSET = 2


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """No parameters."""


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return an empty params array."""
    return np.zeros(1, dtype=np.float64)


@njit(cache=True, nogil=True)
def touch_maker(now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
                params, istate, fstate, intents) -> int:  # fmt: skip
    """Requote one lot a side, ``_OFFSET`` ticks behind the touch."""
    if inst < 0 or book_state[inst, ST_VALID] == 0:
        return 0
    bid = book_state[inst, ST_BEST_BID] - _OFFSET
    ask = book_state[inst, ST_BEST_ASK] + _OFFSET
    have_bid = False
    have_ask = False
    n = 0
    for s in range(orders.shape[0]):
        o = orders[s]
        if o["status"] == 0 or o["instrument"] != inst:
            continue
        if o["side"] > 0:
            have_bid = True
            if o["price_tick"] != bid and o["status"] != _PENDING_CANCEL:
                n = emit_cancel(intents, n, inst, o["client_order_id"], now_ns)
        else:
            have_ask = True
            if o["price_tick"] != ask and o["status"] != _PENDING_CANCEL:
                n = emit_cancel(intents, n, inst, o["client_order_id"], now_ns)
    if not have_bid:
        n = emit_new(intents, n, inst, _BUY, bid, 1, _POST_ONLY, now_ns)
    if not have_ask:
        n = emit_new(intents, n, inst, _SELL, ask, 1, _POST_ONLY, now_ns)
    return n


@njit(cache=True, nogil=True)
def fixed_order(now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
                params, istate, fstate, intents) -> int:  # fmt: skip
    """One IOC buy of one lot at the best bid on every message."""
    if inst < 0:
        return 0
    return emit_new(intents, 0, inst, _BUY, book_state[inst, ST_BEST_BID], 1, _IOC, now_ns)
