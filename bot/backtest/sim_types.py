"""Dtypes, enums and array-slot constants of the simulated venue (``bot.backtest.sim_venue``)."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any

import numpy as np
from numba import njit

from bot.core.dtypes import FILL_DTYPE


class QueueModel(IntEnum):
    """How size cancelled at our level moves our queue position."""

    RISK_AVERSE = 0
    PROBABILISTIC = 1


class VenueReject(IntEnum):
    """Venue-side reject classes (``reason`` of responses; above every RiskReason)."""

    POST_ONLY = 64
    """A post-only order would have crossed the book (GTX)."""
    UNKNOWN_ORDER = 65
    """Cancel or amend of an order that is no longer open (it filled first: a lost race)."""
    NO_LIQUIDITY = 66
    """A market order met an empty book."""
    TOO_MANY_ORDERS = 67
    """The venue's order table is full."""


class VenueStatus(IntEnum):
    """Return codes of the venue kernels."""

    OK = 0
    REQUEST_QUEUE_FULL = 1
    RESPONSE_QUEUE_FULL = 2
    FILLS_FULL = 3


class ResponseKind(IntEnum):
    """What a response row carries."""

    ORDER = 1
    """An order state change (ack, cancel, reject, expiry, amend)."""
    FILL = 2
    CANCEL_REJECT = 3
    """A cancel or amend arrived too late or for an unknown order."""


NO_TIME = 1 << 62
"""Timestamp of an empty queue (later than any event)."""

SIM_FILL_DTYPE = np.dtype(
    [
        *FILL_DTYPE.descr,
        ("mid_tick", np.float64),  # the venue's mid as the fill happened (NaN: none)
        ("ts_rest_ns", np.int64),  # exchange time the order started resting (queue wait)
    ],
    align=True,
)
"""A fill as the simulated venue records it: ``FILL_DTYPE``'s fields (by name) and two more for
the report (spread capture per fill, queue wait)."""

VENUE_ORDER_DTYPE = np.dtype(
    [
        ("client_order_id", np.int64),
        ("instrument", np.uint32),
        ("side", np.int8),
        ("flags", np.uint8),
        ("status", np.uint8),
        ("_reserved", np.uint8),
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
        ("leaves_lot", np.int64),
        ("filled_lot", np.int64),
        ("queue_ahead", np.float64),  # model estimate of lots ahead of us at our price
        ("cum_trade_lot", np.int64),  # traded at our level since the last depth update
        ("ts_rest_ns", np.int64),  # exchange time the order started resting (queue wait)
    ],
    align=True,
)
"""An order as the venue holds it."""

REQUEST_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),  # arrival at the venue (exchange clock)
        ("action", np.uint8),
        ("side", np.int8),
        ("flags", np.uint8),
        ("_reserved", np.uint8),
        ("instrument", np.uint32),
        ("client_order_id", np.int64),
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
    ],
    align=True,
)
"""An order-entry request in flight from us to the venue."""

RESPONSE_DTYPE = np.dtype(
    [
        ("ts_ns", np.int64),  # arrival at the local side (local clock)
        ("ts_exch_ns", np.int64),
        ("kind", np.uint8),  # ResponseKind
        ("status", np.uint8),  # OrderStatus after this response
        ("reason", np.uint8),  # VenueReject for rejects
        ("liquidity", np.uint8),  # Liquidity of a fill
        ("instrument", np.uint32),
        ("side", np.int8),
        ("_pad", np.int8, (7,)),
        ("client_order_id", np.int64),
        ("price_tick", np.int64),  # fill price, or the order's price
        ("qty_lot", np.int64),  # fill size, or the order's size
        ("leaves_lot", np.int64),
        ("filled_lot", np.int64),
        ("fee_quote", np.float64),
    ],
    align=True,
)
"""A venue answer in flight back to us."""

# venue scalar state vs[VS_*]
VS_REQ_HEAD = 0
VS_REQ_TAIL = 1
VS_RESP_HEAD = 2
VS_RESP_TAIL = 3
VS_N_ACTIVE = 4
VS_LAT_IN_IDX = 5
VS_LAT_OUT_IDX = 6
VS_LAST_REQ_TS = 7
VS_LAST_RESP_TS = 8
VS_N_FILLS = 9
VS_CANCEL_LOST = 10
VS_REJECTS = 11
VS_ERROR = 12
VS_NOW_NS = 13
# price range of our resting orders (all instruments): events outside it cannot touch them
VS_MIN_BUY = 14
VS_MAX_BUY = 15
VS_MIN_SELL = 16
VS_MAX_SELL = 17
# venue rejects by reason: vs[VS_REJECT_REASON0 + reason - VENUE_REJECT_BASE] (see VenueReject)
VS_REJECT_REASON0 = 18
VENUE_REJECT_BASE = 64
N_VENUE_REJECT_REASONS = 4
N_VS = VS_REJECT_REASON0 + N_VENUE_REJECT_REASONS

# venue parameters vp[VP_*]
VP_QUEUE_MODEL = 0
VP_POWER = 1
VP_FUNDING = 2
N_VP = 3

# per-instrument money vinst[inst, VI_*]
VI_QUOTE_PER_TICK_LOT = 0
VI_MAKER_FEE = 1
VI_TAKER_FEE = 2
N_VI = 3

# per-instrument float accounts acct[inst, A_*] (quote currency unless *_TL: tick x lot units)
A_CASH = 0
A_REALISED_TL = 1
A_COST_TL = 2
A_FEES = 3
A_FUNDING = 4
A_VOLUME_QUOTE = 5
A_MARK_TICK = 6
A_QWAIT_NS = 7
A_EDGE_TL = 8  # spread capture: sum of side * (venue mid - fill price) * qty over our fills
N_ACCT = 9

# per-instrument integer accounts iacct[inst, I_*]
I_POSITION = 0
I_MAKER_LOT = 1
I_TAKER_LOT = 2
I_FILLS = 3
I_QWAIT_N = 4
N_IACCT = 5

# mirrored enum values (kernels take ints)
_NEW, _CANCEL, _AMEND, _CANCEL_ALL = 1, 2, 3, 4
_POST_ONLY, _IOC, _MARKET = 1, 4, 8
_OPEN, _PARTIAL, _FILLED, _CANCELLED, _REJECTED, _EXPIRED = 2, 3, 4, 6, 7, 8
_MAKER, _TAKER = 1, 2


kernel = njit(cache=True, nogil=True, _nrt=False)  # type: ignore[call-overload]  # private option
"""Decorator of the backtest's hot kernels: numba's reference counting switched off.

With the runtime's reference counting on, every call of a kernel with array arguments
increments and decrements each array's refcount atomically (two locked instructions per array
per call, even when inlined): on a 12-array kernel that is ~130 ns of a 160 ns event, measured
with ``_nrt=True`` vs ``_nrt=False``. None of these kernels allocates or returns an array (they
only read and write preallocated ones), which is exactly the case ``_nrt=False`` is safe for.
"""


inline_kernel = njit(inline="always", _nrt=False)  # type: ignore[call-overload]  # private option
"""Decorator of small per-event helpers: inlined into the loop (compiled and cached with it)."""


def fast(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return ``fn`` (a jitted kernel from elsewhere) to be inlined into a ``kernel`` caller.

    A kernel compiled with reference counting (``bot.core``'s, a strategy's ``decide``) increfs
    each array argument on entry; inlining its code into our ``_nrt=False`` caller removes that
    cost. The inlined copy is compiled into (and cached with) the caller, never on its own.
    """
    inline = njit(inline="always", _nrt=False)  # type: ignore[call-overload]  # private option
    return inline(getattr(fn, "py_func", fn))
