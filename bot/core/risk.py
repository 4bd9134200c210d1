"""Pre-trade risk: every order intent is checked here before it can leave the core.

``check_intent`` runs the checks in a fixed order and returns the first failing ``RiskReason``
(``OK`` = pass); every outcome is counted per instrument and reason in ``counts``, so a rejected
intent is never silently dropped. Order of checks: kill switch, malformed intent, max order size,
max position (worst case: position plus all open orders on that side plus this one), reference
price, max notional, price band around mid, max open orders, and last the order-rate token
bucket (so a rejected intent does not spend a token).

Cancels (CANCEL, CANCEL_ALL) always pass: reducing exposure must never be blocked, not even by
the kill switch. A passing NEW reserves its size and an order slot (``open_*_lot``,
``open_orders``) at once, so several intents in one step cannot jointly breach a limit; the
router (or simulated venue) releases reservations through ``on_fill`` / ``on_order_closed`` /
``on_amend``. An AMEND is checked like a NEW with its full new size, but reserves nothing itself:
the caller reports the size change with ``on_amend`` once the venue accepts it.

Limits live in a structured array (one row per instrument) that is passed to every call, never
read from a global, so a hot reload swaps them between two events with ``replace_limits``.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numba import njit

from bot.core.dtypes import N_RISK_REASONS, RiskReason

RISK_LIMITS_DTYPE = np.dtype(
    [
        ("max_position_lot", np.int64),
        ("max_order_lot", np.int64),
        ("max_notional_quote", np.float64),
        ("price_band_bps", np.float64),
        ("max_open_orders", np.int64),
        ("orders_per_s", np.float64),
        ("burst", np.float64),
        ("kill_switch", np.uint8),
    ],
    align=True,
)
"""Per-instrument limits (replaceable at run time)."""

RISK_STATE_DTYPE = np.dtype(
    [
        ("position_lot", np.int64),
        ("open_buy_lot", np.int64),
        ("open_sell_lot", np.int64),
        ("open_orders", np.int64),
        ("tokens", np.float64),
        ("last_refill_ns", np.int64),
        ("halted", np.uint8),
    ],
    align=True,
)
"""Per-instrument exposure and rate state, updated by checks and by order events."""

# action and flag values (mirrors bot.core.dtypes; kernels compare ints)
_NEW = 1
_CANCEL = 2
_AMEND = 3
_CANCEL_ALL = 4
_MARKET = 8


def new_risk(n_instruments: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocate ``(limits, state, counts[n, N_RISK_REASONS])``; limits start fully closed."""
    limits = np.zeros(n_instruments, dtype=RISK_LIMITS_DTYPE)
    state = np.zeros(n_instruments, dtype=RISK_STATE_DTYPE)
    state["last_refill_ns"] = -1  # the bucket starts full at the first order
    counts = np.zeros((n_instruments, N_RISK_REASONS), dtype=np.int64)
    return limits, state, counts


def make_limits(
    *,
    max_position_lot: int,
    max_order_lot: int,
    max_notional_quote: float,
    price_band_bps: float,
    max_open_orders: int,
    orders_per_s: float,
    burst: float,
    kill_switch: bool = False,
) -> np.void:
    """Return one validated limits row (raise ``ValueError`` naming the bad field)."""
    checks = {
        "max_position_lot": max_position_lot >= 0,
        "max_order_lot": max_order_lot > 0,
        "max_notional_quote": max_notional_quote > 0,
        "price_band_bps": price_band_bps > 0,
        "max_open_orders": max_open_orders > 0,
        "orders_per_s": orders_per_s > 0,
        "burst": burst >= 1,
    }
    for name, ok in checks.items():
        if not ok:
            raise ValueError(f"{name}: out of range, got {locals()[name]!r}")
    row = np.zeros((), dtype=RISK_LIMITS_DTYPE)
    row["max_position_lot"] = max_position_lot
    row["max_order_lot"] = max_order_lot
    row["max_notional_quote"] = max_notional_quote
    row["price_band_bps"] = price_band_bps
    row["max_open_orders"] = max_open_orders
    row["orders_per_s"] = orders_per_s
    row["burst"] = burst
    row["kill_switch"] = 1 if kill_switch else 0
    return cast(np.void, row[()])  # a 0-d structured array indexed by () is one record


def replace_limits(limits: np.ndarray, new_limits: np.ndarray) -> None:
    """Copy ``new_limits`` over ``limits`` in place (call between two events)."""
    if new_limits.dtype != RISK_LIMITS_DTYPE or new_limits.shape != limits.shape:
        raise ValueError("new limits must have RISK_LIMITS_DTYPE and the same shape")
    limits[:] = new_limits


@njit(cache=True, nogil=True, inline="always")
def check_intent(
    limits: np.ndarray,
    state: np.ndarray,
    counts: np.ndarray,
    intents: np.ndarray,
    i: int,
    mid_tick: float,
    quote_per_tick_lot: float,
    now_ns: int,
) -> int:
    """Check ``intents[i]``; return a RiskReason (0 = OK) and count it. See the module doc."""
    intent = intents[i]
    inst = intent["instrument"]
    reason = _check(limits, state, intent, inst, mid_tick, quote_per_tick_lot, now_ns)
    counts[inst, reason] += 1
    return reason


@njit(cache=True, nogil=True, inline="always")
def _check(
    limits: np.ndarray,
    state: np.ndarray,
    intent: np.void,
    inst: int,
    mid_tick: float,
    quote_per_tick_lot: float,
    now_ns: int,
) -> int:
    action = intent["action"]
    if action in (_CANCEL, _CANCEL_ALL):
        return 0
    lim = limits[inst]
    st = state[inst]
    if lim["kill_switch"] != 0 or st["halted"] != 0:
        return 1  # KILL_SWITCH
    side = intent["side"]
    qty = intent["qty_lot"]
    market = (intent["flags"] & _MARKET) != 0
    if (action != _NEW and action != _AMEND) or qty <= 0 or (side != 1 and side != -1):
        return 9  # INVALID_ORDER
    if not market and intent["price_tick"] <= 0:
        return 9
    if qty > lim["max_order_lot"]:
        return 2  # MAX_ORDER_QTY
    if side == 1:
        if st["position_lot"] + st["open_buy_lot"] + qty > lim["max_position_lot"]:
            return 3  # MAX_POSITION
    elif st["position_lot"] - st["open_sell_lot"] - qty < -lim["max_position_lot"]:
        return 3
    if not (mid_tick > 0.0):  # also catches NaN
        return 8  # NO_REFERENCE_PRICE
    price = mid_tick if market else float(intent["price_tick"])
    if price * qty * quote_per_tick_lot > lim["max_notional_quote"]:
        return 4  # MAX_NOTIONAL
    if not market and abs(price - mid_tick) * 1e4 > lim["price_band_bps"] * mid_tick:
        return 5  # PRICE_BAND
    if action == _NEW and st["open_orders"] >= lim["max_open_orders"]:
        return 6  # MAX_OPEN_ORDERS
    # token bucket: refill by elapsed time, capped at burst
    if st["last_refill_ns"] < 0:  # first order: a full bucket
        tokens = lim["burst"]
    else:
        elapsed_s = max(0, now_ns - st["last_refill_ns"]) * 1e-9
        tokens = min(lim["burst"], st["tokens"] + elapsed_s * lim["orders_per_s"])
    st["last_refill_ns"] = now_ns
    if tokens < 1.0:
        st["tokens"] = tokens
        return 7  # RATE_LIMIT
    st["tokens"] = tokens - 1.0
    if action == _NEW:
        st["open_orders"] += 1
        if side == 1:
            st["open_buy_lot"] += qty
        else:
            st["open_sell_lot"] += qty
    return 0


@njit(cache=True, nogil=True, inline="always")
def on_fill(state: np.ndarray, inst: int, side: int, qty_lot: int, order_closed: bool) -> None:
    """Record a fill of ``qty_lot`` on our ``side``; ``order_closed`` when nothing is left."""
    st = state[inst]
    st["position_lot"] += side * qty_lot
    if side == 1:
        st["open_buy_lot"] = max(0, st["open_buy_lot"] - qty_lot)
    else:
        st["open_sell_lot"] = max(0, st["open_sell_lot"] - qty_lot)
    if order_closed:
        st["open_orders"] = max(0, st["open_orders"] - 1)


@njit(cache=True, nogil=True, inline="always")
def on_order_closed(state: np.ndarray, inst: int, side: int, leaves_lot: int) -> None:
    """Release an order's reservation (cancelled, rejected or expired with ``leaves_lot`` open)."""
    st = state[inst]
    if side == 1:
        st["open_buy_lot"] = max(0, st["open_buy_lot"] - leaves_lot)
    else:
        st["open_sell_lot"] = max(0, st["open_sell_lot"] - leaves_lot)
    st["open_orders"] = max(0, st["open_orders"] - 1)


@njit(cache=True, nogil=True, inline="always")
def on_amend(
    state: np.ndarray, inst: int, side: int, old_leaves_lot: int, new_leaves_lot: int
) -> None:
    """Move an order's reservation from ``old_leaves_lot`` to ``new_leaves_lot``."""
    st = state[inst]
    delta = new_leaves_lot - old_leaves_lot
    if side == 1:
        st["open_buy_lot"] = max(0, st["open_buy_lot"] + delta)
    else:
        st["open_sell_lot"] = max(0, st["open_sell_lot"] + delta)


def halt(state: np.ndarray, inst: int | None = None) -> None:
    """Trip the kill switch for one instrument or all (broken invariant, operator action)."""
    if inst is None:
        state["halted"] = 1
    else:
        state[inst]["halted"] = 1


def reason_name(reason: int) -> str:
    """Return the metric-label name of a RiskReason value."""
    return RiskReason(reason).name.lower()


__all__ = [
    "RISK_LIMITS_DTYPE",
    "RISK_STATE_DTYPE",
    "check_intent",
    "halt",
    "make_limits",
    "new_risk",
    "on_amend",
    "on_fill",
    "on_order_closed",
    "reason_name",
    "replace_limits",
]
