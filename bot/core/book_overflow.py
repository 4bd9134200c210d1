"""The book's storage layout, its overflow of levels outside the window, and window moves.

``bot.core.book`` keeps the levels near the touch in a price-indexed window (O(1) updates). Every
other level of a side lives here, in two sorted stacks that share one preallocated region of
the instrument's ``state`` row, so the public ``(qty, state)`` pair is all a caller holds:

* the *below* stack: levels priced under the window, ascending from index 0 (its top, the level
  nearest the window, is at ``below - 1``);
* the *above* stack: levels priced at or over the window's end, ascending up to index ``cap - 1``
  (its top, the nearest level, is at ``cap - above``).

The free slots are in the middle, so both stacks grow towards each other and a side holds up to
``cap`` levels outside its window in any split. When the window moves, the levels it leaves are
pushed onto one stack and the levels it reaches are popped off the other: each costs O(1), the
levels far from the window are never touched. Inserting or deleting a level outside the window
is a binary search plus a move of the entries between it and the window.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NO_BID = -(1 << 62)
"""Best bid of an empty bid side (compares below every price)."""
NO_ASK = 1 << 62
"""Best ask of an empty ask side (compares above every price)."""

BID = 0
"""Side index of bids in ``qty`` and the overflow (``BookSide.BID``)."""
ASK = 1
"""Side index of asks."""

# Header columns of the state row. Plain ints: numba folds them as constants.
ST_BASE = 0
"""Price of window slot 0 (``NO_ASK`` while the book is cleared: its first level places it)."""
ST_BEST_BID = 1
ST_BEST_ASK = 2
ST_BID_LEVELS = 3
"""Live bid levels in the whole book (window and overflow)."""
ST_ASK_LEVELS = 4
ST_DROPPED = 5
"""Levels refused because the side's overflow was full (the book is then marked invalid)."""
ST_RECENTRES = 6
"""Window moves."""
ST_LAST_TS = 7
ST_VALID = 8
ST_BID_BELOW = 9
"""Bid levels in the overflow under the window; ``+ 2 * side`` for asks (``ST_ASK_BELOW``)."""
ST_BID_ABOVE = 10
"""Bid levels in the overflow at or over the window's end (``ST_ASK_ABOVE`` for asks)."""
ST_ASK_BELOW = 11
ST_ASK_ABOVE = 12
ST_MOVED = 13
"""Levels carried between the window and the overflow by window moves (their cost)."""
N_STATE = 16
"""Header columns; the overflow region of each side follows (see ``overflow_capacity``)."""

OVF_SLOTS_PER_LEVEL = 2
"""One price and one size per overflow slot."""
N_SIDES = 2


@njit(cache=True, nogil=True, inline="always")
def overflow_capacity(state: np.ndarray) -> int:
    """Return the levels each side can hold outside its window (from the state row width)."""
    return (state.shape[1] - N_STATE) // (N_SIDES * OVF_SLOTS_PER_LEVEL)


@njit(cache=True, nogil=True, inline="always")
def _price_col(cap: int, side: int, j: int) -> int:
    # int(side): callers may pass a row's uint8 side; as plain Python (NUMBA_DISABLE_JIT) NumPy 2
    # would keep uint8 and overflow on ``side * 2 * cap``; compiled, the cast is free
    return N_STATE + int(side) * OVF_SLOTS_PER_LEVEL * cap + j


@njit(cache=True, nogil=True, inline="always")
def _qty_col(cap: int, side: int, j: int) -> int:
    return N_STATE + int(side) * OVF_SLOTS_PER_LEVEL * cap + cap + j


@njit(cache=True, nogil=True, inline="always")
def window_levels(state: np.ndarray, inst: int, side: int) -> int:
    """Return the live levels of ``side`` inside the window."""
    return (
        state[inst, ST_BID_LEVELS + side]
        - state[inst, ST_BID_BELOW + 2 * side]
        - state[inst, ST_BID_ABOVE + 2 * side]
    )


@njit(cache=True, nogil=True)
def _lower_bound(state: np.ndarray, inst: int, side: int, lo: int, hi: int, price: int) -> int:
    """Return the first overflow index in ``[lo, hi)`` whose price is >= ``price``."""
    cap = overflow_capacity(state)
    while lo < hi:
        mid = (lo + hi) >> 1
        if state[inst, _price_col(cap, side, mid)] < price:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def overflow_qty(state: np.ndarray, inst: int, side: int, price: int, above: bool) -> int:
    """Return the size at ``price`` in the overflow stack on that side of the window (0: none)."""
    cap = overflow_capacity(state)
    if above:
        lo, hi = cap - state[inst, ST_BID_ABOVE + 2 * side], cap
    else:
        lo, hi = 0, state[inst, ST_BID_BELOW + 2 * side]
    j = _lower_bound(state, inst, side, lo, hi, price)
    if j < hi and state[inst, _price_col(cap, side, j)] == price:
        return state[inst, _qty_col(cap, side, j)]
    return 0


@njit(cache=True, nogil=True)
def overflow_set(
    state: np.ndarray, inst: int, side: int, price: int, qty_lot: int, above: bool
) -> int:
    """Set (``qty_lot`` > 0) or delete a level outside the window.

    Return 1 if a level was added, -1 if one was deleted, 0 if the count is unchanged, and
    2 if the level could not be added because the side's overflow is full.
    """
    cap = overflow_capacity(state)
    below_col = ST_BID_BELOW + 2 * side
    above_col = ST_BID_ABOVE + 2 * side
    nb = state[inst, below_col]
    na = state[inst, above_col]
    lo, hi = (cap - na, cap) if above else (0, nb)
    j = _lower_bound(state, inst, side, lo, hi, price)
    found = j < hi and state[inst, _price_col(cap, side, j)] == price
    if found and qty_lot > 0:
        state[inst, _qty_col(cap, side, j)] = qty_lot
        return 0
    if found:  # delete: close the gap from the window's side
        if above:
            for k in range(j, cap - na, -1):
                state[inst, _price_col(cap, side, k)] = state[inst, _price_col(cap, side, k - 1)]
                state[inst, _qty_col(cap, side, k)] = state[inst, _qty_col(cap, side, k - 1)]
            state[inst, above_col] = na - 1
        else:
            for k in range(j, nb - 1):
                state[inst, _price_col(cap, side, k)] = state[inst, _price_col(cap, side, k + 1)]
                state[inst, _qty_col(cap, side, k)] = state[inst, _qty_col(cap, side, k + 1)]
            state[inst, below_col] = nb - 1
        return -1
    if qty_lot == 0:
        return 0  # deleting a level we do not hold
    if nb + na >= cap:
        return 2
    if above:  # open a slot at j - 1 by moving the nearer entries one down
        for k in range(cap - na - 1, j - 1):
            state[inst, _price_col(cap, side, k)] = state[inst, _price_col(cap, side, k + 1)]
            state[inst, _qty_col(cap, side, k)] = state[inst, _qty_col(cap, side, k + 1)]
        j -= 1
        state[inst, above_col] = na + 1
    else:
        for k in range(nb, j, -1):
            state[inst, _price_col(cap, side, k)] = state[inst, _price_col(cap, side, k - 1)]
            state[inst, _qty_col(cap, side, k)] = state[inst, _qty_col(cap, side, k - 1)]
        state[inst, below_col] = nb + 1
    state[inst, _price_col(cap, side, j)] = price
    state[inst, _qty_col(cap, side, j)] = qty_lot
    return 1


@njit(cache=True, nogil=True)
def next_best(qty: np.ndarray, state: np.ndarray, inst: int, side: int, from_price: int) -> int:
    """Return the best level of ``side`` once the level at ``from_price`` (the old best) is gone.

    Every remaining level is worse than ``from_price``, so the answer is the nearest overflow
    stack top on the better side of the window, else the first window level, else the other
    stack's top, else ``NO_BID`` / ``NO_ASK``.
    """
    cap = overflow_capacity(state)
    window = qty.shape[2]
    base = state[inst, ST_BASE]
    nb = state[inst, ST_BID_BELOW + 2 * side]
    na = state[inst, ST_BID_ABOVE + 2 * side]
    n_win = window_levels(state, inst, side)
    if side == BID:
        if na > 0:
            return state[inst, _price_col(cap, side, cap - 1)]
        if n_win > 0:
            i = min(from_price - base - 1, window - 1)
            while qty[inst, BID, i] == 0:  # n_win > 0 guarantees a level below
                i -= 1
            return base + i
        if nb > 0:
            return state[inst, _price_col(cap, side, nb - 1)]
        return NO_BID
    if nb > 0:
        return state[inst, _price_col(cap, side, 0)]
    if n_win > 0:
        i = max(from_price - base + 1, 0)
        while qty[inst, ASK, i] == 0:  # n_win > 0 guarantees a level above
            i += 1
        return base + i
    if na > 0:
        return state[inst, _price_col(cap, side, cap - na)]
    return NO_ASK


@njit(cache=True, nogil=True)
def _leaving(qty: np.ndarray, inst: int, side: int, lo: int, hi: int) -> int:
    count = 0
    for i in range(lo, hi):
        if qty[inst, side, i] != 0:
            count += 1
    return count


@njit(cache=True, nogil=True)
def _move_side_up(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, old_base: int, new_base: int
) -> int:
    """Move ``side``'s window up to ``new_base``; return the levels carried."""
    cap = overflow_capacity(state)
    window = qty.shape[2]
    shift = new_base - old_base
    below_col = ST_BID_BELOW + 2 * side
    above_col = ST_BID_ABOVE + 2 * side
    nb = state[inst, below_col]
    na = state[inst, above_col]
    moved = 0
    for i in range(min(shift, window)):  # leaving levels, ascending: push onto the below stack
        q = qty[inst, side, i]
        if q != 0:
            state[inst, _price_col(cap, side, nb)] = old_base + i
            state[inst, _qty_col(cap, side, nb)] = q
            nb += 1
            moved += 1
    if shift < window:
        for i in range(window - shift):
            qty[inst, side, i] = qty[inst, side, i + shift]
        for i in range(window - shift, window):
            qty[inst, side, i] = 0
    else:
        for i in range(window):
            qty[inst, side, i] = 0
    while na > 0:  # above-stack levels the window jumped over, or now reaches
        j = cap - na
        price = state[inst, _price_col(cap, side, j)]
        if price >= new_base + window:
            break
        q = state[inst, _qty_col(cap, side, j)]
        na -= 1
        moved += 1
        if price < new_base:
            state[inst, _price_col(cap, side, nb)] = price
            state[inst, _qty_col(cap, side, nb)] = q
            nb += 1
        else:
            qty[inst, side, price - new_base] = q
    state[inst, below_col] = nb
    state[inst, above_col] = na
    return moved


@njit(cache=True, nogil=True)
def _move_side_down(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, old_base: int, new_base: int
) -> int:
    """Move ``side``'s window down to ``new_base``; return the levels carried."""
    cap = overflow_capacity(state)
    window = qty.shape[2]
    shift = old_base - new_base
    below_col = ST_BID_BELOW + 2 * side
    above_col = ST_BID_ABOVE + 2 * side
    nb = state[inst, below_col]
    na = state[inst, above_col]
    moved = 0
    for i in range(window - 1, max(window - shift, 0) - 1, -1):  # descending onto the above stack
        q = qty[inst, side, i]
        if q != 0:
            na += 1
            state[inst, _price_col(cap, side, cap - na)] = old_base + i
            state[inst, _qty_col(cap, side, cap - na)] = q
            moved += 1
    if shift < window:
        for i in range(window - 1, shift - 1, -1):
            qty[inst, side, i] = qty[inst, side, i - shift]
        for i in range(shift):
            qty[inst, side, i] = 0
    else:
        for i in range(window):
            qty[inst, side, i] = 0
    while nb > 0:
        j = nb - 1
        price = state[inst, _price_col(cap, side, j)]
        if price < new_base:
            break
        q = state[inst, _qty_col(cap, side, j)]
        nb -= 1
        moved += 1
        if price >= new_base + window:
            na += 1
            state[inst, _price_col(cap, side, cap - na)] = price
            state[inst, _qty_col(cap, side, cap - na)] = q
        else:
            qty[inst, side, price - new_base] = q
    state[inst, below_col] = nb
    state[inst, above_col] = na
    return moved


@njit(cache=True, nogil=True)
def move_window(qty: np.ndarray, state: np.ndarray, inst: int, new_base: int) -> bool:
    """Move ``inst``'s window to start at ``new_base``, carrying levels to and from the overflow.

    Return False (nothing changed) when a side's overflow has no room for the levels the window
    would leave: the book stays exact, only its touch is served from the overflow until a later
    move fits.
    """
    cap = overflow_capacity(state)
    window = qty.shape[2]
    old_base = state[inst, ST_BASE]
    shift = new_base - old_base
    if shift == 0:
        return True
    span = min(abs(shift), window)
    lo, hi = (0, span) if shift > 0 else (window - span, window)
    for side in range(N_SIDES):
        used = state[inst, ST_BID_BELOW + 2 * side] + state[inst, ST_BID_ABOVE + 2 * side]
        if used + _leaving(qty, inst, side, lo, hi) > cap:
            return False
    moved = 0
    for side in range(N_SIDES):
        if shift > 0:
            moved += _move_side_up(qty, state, inst, side, old_base, new_base)
        else:
            moved += _move_side_down(qty, state, inst, side, old_base, new_base)
    state[inst, ST_BASE] = new_base
    state[inst, ST_RECENTRES] += 1
    state[inst, ST_MOVED] += moved
    return True


@njit(cache=True, nogil=True)
def follow_touch(qty: np.ndarray, state: np.ndarray, inst: int) -> bool:
    """Move the window if a best price left it; return True if it moved.

    Policy: when both sides have levels and the spread is at most half the window, the window
    is centred on the mid, so either touch can drift a quarter window before the next move;
    otherwise (one side empty, or a spread wider than half the window) it is centred on the
    best bid, or on the best ask if there are no bids. The book is exact either way; the policy
    only keeps updates at the touch on the O(1) path.
    """
    window = qty.shape[2]
    base = state[inst, ST_BASE]
    bid = state[inst, ST_BEST_BID]
    ask = state[inst, ST_BEST_ASK]
    half = window // 2
    if bid != NO_BID and ask != NO_ASK and abs(ask - bid) <= half:
        if base <= bid < base + window and base <= ask < base + window:
            return False
        centre = bid + (ask - bid) // 2
    elif bid != NO_BID:
        if base <= bid < base + window:
            return False
        centre = bid
    elif ask != NO_ASK:
        if base <= ask < base + window:
            return False
        centre = ask
    else:
        return False
    return move_window(qty, state, inst, centre - half)


@njit(cache=True, nogil=True)
def overflow_walk(
    qty: np.ndarray,
    state: np.ndarray,
    inst: int,
    side: int,
    n: int,
    out_price: np.ndarray,
    out_qty: np.ndarray,
    store: bool,
) -> tuple[int, int]:
    """Visit up to ``n`` levels of ``side``, best first, over window and overflow.

    Writes them to the out arrays when ``store``; returns ``(count, total size)``. Bids are
    visited above stack (descending), window, below stack; asks in the mirror order.
    """
    cap = overflow_capacity(state)
    window = qty.shape[2]
    base = state[inst, ST_BASE]
    nb = state[inst, ST_BID_BELOW + 2 * side]
    na = state[inst, ST_BID_ABOVE + 2 * side]
    n_win = window_levels(state, inst, side)
    n = min(n, state[inst, ST_BID_LEVELS + side])
    count = 0
    total = 0
    if n <= 0:
        return 0, 0
    if side == BID:
        first, last, step = cap - 1, cap - na - 1, -1  # above stack, nearest last
    else:
        first, last, step = 0, nb, 1  # below stack ascending
    for j in range(first, last, step):
        if count >= n:
            return count, total
        q = state[inst, _qty_col(cap, side, j)]
        if store:
            out_price[count] = state[inst, _price_col(cap, side, j)]
            out_qty[count] = q
        total += q
        count += 1
    seen = 0
    if side == BID:
        i = min(state[inst, ST_BEST_BID] - base, window - 1)
        wstep = -1
    else:
        i = max(state[inst, ST_BEST_ASK] - base, 0)
        wstep = 1
    while seen < n_win and count < n:
        q = qty[inst, side, i]
        if q != 0:
            if store:
                out_price[count] = base + i
                out_qty[count] = q
            total += q
            count += 1
            seen += 1
        i += wstep
    if side == BID:
        first, last = nb - 1, -1
    else:
        first, last = cap - na, cap
    for j in range(first, last, step):
        if count >= n:
            break
        q = state[inst, _qty_col(cap, side, j)]
        if store:
            out_price[count] = state[inst, _price_col(cap, side, j)]
            out_qty[count] = q
        total += q
        count += 1
    return count, total


@njit(cache=True, nogil=True)
def clear_levels(qty: np.ndarray, state: np.ndarray, inst: int) -> None:
    """Zero every window level of ``inst`` and empty its overflow (walks only live levels)."""
    window = qty.shape[2]
    base = state[inst, ST_BASE]
    for side in range(N_SIDES):
        left = window_levels(state, inst, side)
        if side == BID:
            i = min(state[inst, ST_BEST_BID] - base, window - 1)
            step = -1
        else:
            i = max(state[inst, ST_BEST_ASK] - base, 0)
            step = 1
        while left > 0:
            if qty[inst, side, i] != 0:
                qty[inst, side, i] = 0
                left -= 1
            i += step
        state[inst, ST_BID_BELOW + 2 * side] = 0
        state[inst, ST_BID_ABOVE + 2 * side] = 0
