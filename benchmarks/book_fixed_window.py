"""The book kernel before issue 9, kept as the peer of ``bench_core``'s book figures.

A fixed window of ``W`` ticks per instrument: levels beyond it on the far side were dropped and
levels pushed off by a re-centre were lost. ``bot.core.book`` replaced it with the exact book
(window plus overflow); this copy exists only so that ``make bench`` measures the touch update
of both kernels in the same run. Do not use it for anything else.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_BID = -(1 << 62)
"""Best bid of an empty bid side (compares below every price)."""
NO_ASK = 1 << 62
"""Best ask of an empty ask side (compares above every price)."""

DEFAULT_WINDOW = 1 << 16
"""Default window: 65,536 ticks (BTC at tick 0.1: +-3,277 USD around the first level)."""

# Columns of the state array. Plain ints: numba folds them as constants.
ST_BASE = 0
ST_BEST_BID = 1
ST_BEST_ASK = 2
ST_BID_LEVELS = 3
ST_ASK_LEVELS = 4
ST_DROPPED = 5
ST_RECENTRES = 6
ST_LAST_TS = 7
ST_VALID = 8
N_STATE = 9

# Event kinds and flags used here (mirrors bot.core.dtypes; kernels take ints).
_BOOK_BID = 1
_BOOK_ASK = 2
_BOOK_CLEAR = 3
_FLAG_BATCH_END = 2


def new_books(n_instruments: int, window: int = DEFAULT_WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Allocate empty books: ``(qty[n, 2, window], state[n, N_STATE])``."""
    if n_instruments < 1 or window < 4:
        raise ValueError("need at least one instrument and a window of at least 4 ticks")
    qty = np.zeros((n_instruments, 2, window), dtype=np.int64)
    state = np.zeros((n_instruments, N_STATE), dtype=np.int64)
    for i in range(n_instruments):
        _reset_state(state, i)
    return qty, state


@njit(cache=True, nogil=True)
def _reset_state(state: np.ndarray, inst: int) -> None:
    state[inst, ST_BASE] = NO_ASK  # no window yet: the first level centres it
    state[inst, ST_BEST_BID] = NO_BID
    state[inst, ST_BEST_ASK] = NO_ASK
    state[inst, ST_BID_LEVELS] = 0
    state[inst, ST_ASK_LEVELS] = 0
    state[inst, ST_VALID] = 1


@njit(cache=True, nogil=True)
def clear_book(qty: np.ndarray, state: np.ndarray, inst: int) -> None:
    """Remove every level of ``inst`` (before a snapshot). Counters are kept."""
    window = qty.shape[2]
    if state[inst, ST_BID_LEVELS] > 0:
        hi = min(window, state[inst, ST_BEST_BID] - state[inst, ST_BASE] + 1)
        qty[inst, 0, :hi] = 0
    if state[inst, ST_ASK_LEVELS] > 0:
        lo = max(0, state[inst, ST_BEST_ASK] - state[inst, ST_BASE])
        qty[inst, 1, lo:window] = 0
    _reset_state(state, inst)


@njit(cache=True, nogil=True)
def _recentre(qty: np.ndarray, state: np.ndarray, inst: int, centre_tick: int) -> None:
    """Shift the window so ``centre_tick`` sits in its middle; count levels pushed off."""
    window = qty.shape[2]
    new_base = centre_tick - window // 2
    shift = new_base - state[inst, ST_BASE]  # slot i now holds what slot i + shift held
    dropped = 0
    for side in range(2):
        row = qty[inst, side]
        if shift >= window or shift <= -window:
            for i in range(window):
                if row[i] != 0:
                    dropped += 1
                    row[i] = 0
        elif shift > 0:
            for i in range(shift):
                if row[i] != 0:
                    dropped += 1
            for i in range(window - shift):
                row[i] = row[i + shift]
            row[window - shift :] = 0
        elif shift < 0:
            s = -shift
            for i in range(window - s, window):
                if row[i] != 0:
                    dropped += 1
            for i in range(window - 1, s - 1, -1):
                row[i] = row[i - s]
            row[:s] = 0
    state[inst, ST_BASE] = new_base
    state[inst, ST_DROPPED] += dropped
    state[inst, ST_RECENTRES] += 1
    # Recount and find best prices: rare (only on large moves), so a full pass is fine.
    best_bid = NO_BID
    best_ask = NO_ASK
    n_bid = 0
    n_ask = 0
    for i in range(window):
        if qty[inst, 0, i] != 0:
            n_bid += 1
            best_bid = new_base + i
        if qty[inst, 1, window - 1 - i] != 0:
            n_ask += 1
            best_ask = new_base + window - 1 - i
    state[inst, ST_BEST_BID] = best_bid
    state[inst, ST_BEST_ASK] = best_ask
    state[inst, ST_BID_LEVELS] = n_bid
    state[inst, ST_ASK_LEVELS] = n_ask


@njit(cache=True, nogil=True, inline="always")
def _set_level(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, idx: int, qty_lot: int
) -> None:
    """Set slot ``idx`` (inside the window) and keep counts and best prices: the hot path."""
    # index qty directly: a row view (qty[inst, side]) costs a reference-count round trip
    old = qty[inst, side, idx]
    qty[inst, side, idx] = qty_lot
    base = state[inst, ST_BASE]
    if side == 0:
        if qty_lot > 0:
            if old == 0:
                state[inst, ST_BID_LEVELS] += 1
            if base + idx > state[inst, ST_BEST_BID]:
                state[inst, ST_BEST_BID] = base + idx
        elif old != 0:
            n = state[inst, ST_BID_LEVELS] - 1
            state[inst, ST_BID_LEVELS] = n
            if base + idx == state[inst, ST_BEST_BID]:
                best = NO_BID
                if n > 0:
                    i = idx - 1
                    while qty[inst, 0, i] == 0:  # n > 0 guarantees a level below
                        i -= 1
                    best = base + i
                state[inst, ST_BEST_BID] = best
    else:
        if qty_lot > 0:
            if old == 0:
                state[inst, ST_ASK_LEVELS] += 1
            if base + idx < state[inst, ST_BEST_ASK]:
                state[inst, ST_BEST_ASK] = base + idx
        elif old != 0:
            n = state[inst, ST_ASK_LEVELS] - 1
            state[inst, ST_ASK_LEVELS] = n
            if base + idx == state[inst, ST_BEST_ASK]:
                best = NO_ASK
                if n > 0:
                    i = idx + 1
                    while qty[inst, 1, i] == 0:  # n > 0 guarantees a level above
                        i += 1
                    best = base + i
                state[inst, ST_BEST_ASK] = best


@njit(cache=True, nogil=True)
def _apply_outside(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int, qty_lot: int
) -> int:
    """Slow path: validate, then re-base, drop or re-centre for a level outside the window."""
    if qty_lot < 0 or price_tick <= NO_BID or price_tick >= NO_ASK:
        return 3  # INVALID
    window = qty.shape[2]
    idx = price_tick - state[inst, ST_BASE]
    if 0 <= idx < window:  # reached only for a negative size, handled above
        _set_level(qty, state, inst, side, idx, qty_lot)
        return 0
    if qty_lot == 0:
        return 0  # deleting a level we do not hold: nothing to do
    status = 0
    if state[inst, ST_BID_LEVELS] == 0 and state[inst, ST_ASK_LEVELS] == 0:
        state[inst, ST_BASE] = price_tick - window // 2  # empty book: free re-base
    elif (side == 0 and idx < 0) or (side == 1 and idx >= window):
        state[inst, ST_DROPPED] += 1
        return 1  # DROPPED_FAR
    else:
        _recentre(qty, state, inst, price_tick)
        status = 2  # RECENTRED
    _set_level(qty, state, inst, side, price_tick - state[inst, ST_BASE], qty_lot)
    return status


@njit(cache=True, nogil=True, inline="always")
def apply_level(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int, qty_lot: int
) -> int:
    """Set the ``side`` level at ``price_tick`` to ``qty_lot`` (0 deletes); return a BookStatus.

    The common case (inside the window, size >= 0) is one bounds test and ``_set_level``;
    everything else takes ``_apply_outside``. A cleared book has its base at ``NO_ASK``, so its
    first level always takes the slow path and centres the window.
    """
    idx = price_tick - state[inst, ST_BASE]
    if idx < 0 or idx >= qty.shape[2] or qty_lot < 0:
        return _apply_outside(qty, state, inst, side, price_tick, qty_lot)
    _set_level(qty, state, inst, side, idx, qty_lot)
    return 0
