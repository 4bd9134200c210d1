"""Exact L2 order books as numba kernels over preallocated arrays.

**Invariant.** Every level the venue has sent and not deleted since the last clear is in the
book, at any price path: exactly once, with its last size. Best bid and ask are the maximum
bid and minimum ask over all of them. Nothing is dropped when the price moves; the only
refusal is a side whose overflow is full (``BookStatus.OVERFLOW_FULL``): the level is counted in
``ST_DROPPED`` and the book is marked invalid (``ST_VALID`` = 0) until the next clear, so a
strategy never quotes on a book that misses a level.

Layout (one pair of arrays holds the books of every instrument):

* ``qty[instrument, side, i]`` (int64 lots): the *window*, the size at price ``base_tick + i``
  for the ``W`` ticks around the touch; ``side`` is ``BookSide.BID`` (0) or ``ASK`` (1); 0 means
  no level. Updates here are O(1) (the hot path, ~8 ns).
* ``state[instrument, :N_STATE]`` (int64): the fields ``ST_*``: window base, best bid and ask
  (``NO_BID`` / ``NO_ASK`` when a side is empty), level counts, counters, the sync flag.
* ``state[instrument, N_STATE:]``: the *overflow*, the levels of each side outside the window in
  two sorted stacks (``bot.core.book_overflow``), up to ``overflow`` levels a side.

The window follows the touch: when a best price leaves it, the window is re-centred (on the mid
when the spread is at most ``W/2``, else on the best bid) and the levels it leaves go to the
overflow, the levels it reaches come back from it. A move costs O(W) for the array shift plus
O(1) per level carried (``ST_MOVED``), and happens once per ``W/4`` ticks of drift at most.

Memory per instrument, fixed at allocation: ``16 * W`` bytes for the window and
``32 * overflow`` bytes for the overflow (price and size, two sides): 1 MiB + 1 MiB with the
defaults. The overflow holds exactly the live levels outside the window (a delete frees its
slot), so a book needs ``overflow`` >= its live levels outside the window per side.

Crossed or locked books: a venue message can cross the book transiently while its levels are
applied one by one, so crossing is checked at message boundaries (``check_book``, or rows with
``EventFlag.BATCH_END`` in ``apply_events``) and reported as a ``BookCheck`` code. The caller
(ingest, backtest) decides: mark the book invalid and resync. Nothing is silently kept.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.core.book_overflow import (
    ASK,
    BID,
    N_SIDES,
    N_STATE,
    NO_ASK,
    NO_BID,
    OVF_SLOTS_PER_LEVEL,
    ST_ASK_ABOVE,
    ST_ASK_BELOW,
    ST_ASK_LEVELS,
    ST_BASE,
    ST_BEST_ASK,
    ST_BEST_BID,
    ST_BID_ABOVE,
    ST_BID_BELOW,
    ST_BID_LEVELS,
    ST_DROPPED,
    ST_LAST_TS,
    ST_MOVED,
    ST_RECENTRES,
    ST_VALID,
    clear_levels,
    follow_touch,
    next_best,
    overflow_capacity,
    overflow_qty,
    overflow_set,
    overflow_walk,
)
from bot.core.dtypes import EventFlag, EventKind
from bot.core.nrt import borrow

__all__ = [
    "ASK",
    "BID",
    "DEFAULT_OVERFLOW",
    "DEFAULT_WINDOW",
    "NO_ASK",
    "NO_BID",
    "N_STATE",
    "ST_ASK_ABOVE",
    "ST_ASK_BELOW",
    "ST_ASK_LEVELS",
    "ST_BASE",
    "ST_BEST_ASK",
    "ST_BEST_BID",
    "ST_BID_ABOVE",
    "ST_BID_BELOW",
    "ST_BID_LEVELS",
    "ST_DROPPED",
    "ST_LAST_TS",
    "ST_MOVED",
    "ST_RECENTRES",
    "ST_VALID",
    "Book",
    "BookCheck",
    "BookStatus",
    "apply_event",
    "apply_events",
    "apply_level",
    "check_book",
    "clear_book",
    "depth",
    "depth_sum",
    "level_qty",
    "load_snapshot",
    "new_books",
    "next_level",
]

DEFAULT_WINDOW = 1 << 16
"""Default window: 65,536 ticks (BTC at tick 0.1: +-3,277 USD around the touch)."""
DEFAULT_OVERFLOW = 1 << 15
"""Default overflow: 32,768 levels per side outside the window."""
MIN_WINDOW = 4


class BookStatus(IntEnum):
    """Result of applying one level."""

    OK = 0
    OVERFLOW_FULL = 1
    """The side's overflow had no slot for a new level outside the window: the level is counted
    in ``ST_DROPPED`` and the book is marked invalid until the next clear."""
    RECENTRED = 2
    """Applied, and the window moved to follow the touch (no level is lost by a move)."""
    INVALID = 3
    """Negative size or an out-of-range price: the update was not applied."""


class BookCheck(IntEnum):
    """Consistency of a book at a message boundary."""

    OK = 0
    CROSSED = 1
    """Best bid above best ask."""
    LOCKED = 2
    """Best bid equal to best ask."""
    EMPTY_SIDE = 3
    """One side has no level (not an error for the book, but no mid exists)."""
    INVALID = 4
    """Marked out of sync by the feed (``ST_VALID`` = 0)."""


# Kernels take plain ints: numba folds these module constants.
_OK = int(BookStatus.OK)
_OVERFLOW_FULL = int(BookStatus.OVERFLOW_FULL)
_RECENTRED = int(BookStatus.RECENTRED)
_INVALID = int(BookStatus.INVALID)
_CHECK_OK = int(BookCheck.OK)
_CHECK_CROSSED = int(BookCheck.CROSSED)
_CHECK_LOCKED = int(BookCheck.LOCKED)
_CHECK_EMPTY_SIDE = int(BookCheck.EMPTY_SIDE)
_CHECK_INVALID = int(BookCheck.INVALID)
_BOOK_BID = int(EventKind.BOOK_BID)
_BOOK_ASK = int(EventKind.BOOK_ASK)
_BOOK_CLEAR = int(EventKind.BOOK_CLEAR)
_FLAG_BATCH_END = int(EventFlag.BATCH_END)
_OVF_ADDED = 1
_OVF_DELETED = -1
_OVF_FULL = 2


def new_books(
    n_instruments: int, window: int = DEFAULT_WINDOW, overflow: int = DEFAULT_OVERFLOW
) -> tuple[np.ndarray, np.ndarray]:
    """Allocate empty books: ``(qty[n, 2, window], state[n, N_STATE + 4 * overflow])``."""
    if n_instruments < 1 or window < MIN_WINDOW or overflow < 1:
        raise ValueError(
            f"need at least one instrument, a window of at least {MIN_WINDOW} ticks"
            " and an overflow of at least one level"
        )
    qty = np.zeros((n_instruments, N_SIDES, window), dtype=np.int64)
    width = N_STATE + N_SIDES * OVF_SLOTS_PER_LEVEL * overflow
    state = np.zeros((n_instruments, width), dtype=np.int64)
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
    state[inst, ST_BID_BELOW] = 0
    state[inst, ST_BID_ABOVE] = 0
    state[inst, ST_ASK_BELOW] = 0
    state[inst, ST_ASK_ABOVE] = 0
    state[inst, ST_VALID] = 1


@njit(cache=True, nogil=True)
def clear_book(qty: np.ndarray, state: np.ndarray, inst: int) -> None:
    """Remove every level of ``inst`` (before a snapshot). Counters are kept."""
    clear_levels(qty, state, inst)
    _reset_state(state, inst)


@njit(cache=True, nogil=True)
def _after_best_delete(qty: np.ndarray, state: np.ndarray, inst: int, side: int, old: int) -> int:
    """The best level of ``side`` at ``old`` went: find the next one, follow it; a BookStatus."""
    state[inst, ST_BEST_BID + side] = next_best(qty, state, inst, side, old)
    return _RECENTRED if follow_touch(qty, state, inst) else _OK


@njit(cache=True, nogil=True, inline="always")
def _set_level(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, idx: int, qty_lot: int
) -> int:
    """Set window slot ``idx``, keep counts and best prices: the hot path. Return a BookStatus."""
    # index qty directly: a row view (qty[inst, side]) costs a reference-count round trip
    old = qty[inst, side, idx]
    qty[inst, side, idx] = qty_lot
    price = state[inst, ST_BASE] + idx
    if side == BID:
        if qty_lot > 0:
            if old == 0:
                state[inst, ST_BID_LEVELS] += 1
            if price > state[inst, ST_BEST_BID]:
                state[inst, ST_BEST_BID] = price
        elif old != 0:
            n = state[inst, ST_BID_LEVELS] - 1
            state[inst, ST_BID_LEVELS] = n
            if price == state[inst, ST_BEST_BID]:
                if state[inst, ST_BID_ABOVE] == 0 and n > state[inst, ST_BID_BELOW]:
                    i = idx - 1  # the next bid is in the window: scan to it, as before
                    while qty[inst, BID, i] == 0:
                        i -= 1
                    state[inst, ST_BEST_BID] = price - idx + i
                    return _OK
                return _after_best_delete(qty, state, inst, BID, price)
    elif qty_lot > 0:
        if old == 0:
            state[inst, ST_ASK_LEVELS] += 1
        if price < state[inst, ST_BEST_ASK]:
            state[inst, ST_BEST_ASK] = price
    elif old != 0:
        n = state[inst, ST_ASK_LEVELS] - 1
        state[inst, ST_ASK_LEVELS] = n
        if price == state[inst, ST_BEST_ASK]:
            if state[inst, ST_ASK_BELOW] == 0 and n > state[inst, ST_ASK_ABOVE]:
                i = idx + 1
                while qty[inst, ASK, i] == 0:
                    i += 1
                state[inst, ST_BEST_ASK] = price - idx + i
                return _OK
            return _after_best_delete(qty, state, inst, ASK, price)
    return _OK


@njit(cache=True, nogil=True)
def _apply_outside(
    qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int, qty_lot: int
) -> int:
    """Slow path: validate, place the first level, or set a level in the overflow."""
    if qty_lot < 0 or price_tick <= NO_BID or price_tick >= NO_ASK:
        return _INVALID
    window = qty.shape[2]
    idx = price_tick - state[inst, ST_BASE]
    if 0 <= idx < window:  # reached only for a negative size, handled above
        return _set_level(qty, state, inst, side, idx, qty_lot)
    if qty_lot == 0 and state[inst, ST_BID_LEVELS + side] == 0:
        return _OK  # deleting a level of an empty side
    if state[inst, ST_BID_LEVELS] == 0 and state[inst, ST_ASK_LEVELS] == 0:
        state[inst, ST_BASE] = price_tick - window // 2  # empty book: free re-base
        return _set_level(qty, state, inst, side, window // 2, qty_lot)
    change = overflow_set(state, inst, side, price_tick, qty_lot, idx >= window)
    if change == _OVF_FULL:
        state[inst, ST_DROPPED] += 1
        state[inst, ST_VALID] = 0
        return _OVERFLOW_FULL
    if change == _OVF_DELETED:
        state[inst, ST_BID_LEVELS + side] -= 1
        if price_tick == state[inst, ST_BEST_BID + side]:
            return _after_best_delete(qty, state, inst, side, price_tick)
        return _OK
    if change == _OVF_ADDED:
        state[inst, ST_BID_LEVELS + side] += 1
    if qty_lot > 0:
        if side == BID and price_tick > state[inst, ST_BEST_BID]:
            state[inst, ST_BEST_BID] = price_tick
        elif side == ASK and price_tick < state[inst, ST_BEST_ASK]:
            state[inst, ST_BEST_ASK] = price_tick
        else:
            return _OK
        return _RECENTRED if follow_touch(qty, state, inst) else _OK
    return _OK


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
    return _set_level(qty, state, inst, side, idx, qty_lot)


@njit(cache=True, nogil=True, inline="always")
def check_book(state: np.ndarray, inst: int) -> int:
    """Return the BookCheck of ``inst``'s book: OK, CROSSED, LOCKED, EMPTY_SIDE or INVALID."""
    if state[inst, ST_VALID] == 0:
        return _CHECK_INVALID
    bid = state[inst, ST_BEST_BID]
    ask = state[inst, ST_BEST_ASK]
    if bid == NO_BID or ask == NO_ASK:
        return _CHECK_EMPTY_SIDE
    if bid > ask:
        return _CHECK_CROSSED
    if bid == ask:
        return _CHECK_LOCKED
    return _CHECK_OK


@njit(cache=True, nogil=True, inline="always")
def level_qty(qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int) -> int:
    """Return the size at ``price_tick`` on ``side`` (0 if absent), window or overflow."""
    idx = price_tick - state[inst, ST_BASE]
    if 0 <= idx < qty.shape[2]:
        return qty[inst, side, idx]
    if state[inst, ST_BID_LEVELS + side] == 0:
        return 0
    return overflow_qty(state, inst, side, price_tick, idx >= qty.shape[2])


@njit(cache=True, nogil=True)
def next_level(qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int) -> int:
    """Return the next price with a level on ``side`` strictly worse than ``price_tick``.

    Worse is lower for bids, higher for asks; ``NO_BID`` / ``NO_ASK`` when there is none. Walking
    from the best price with this visits the whole side in order, window and overflow alike.
    """
    cap = overflow_capacity(state)
    window = qty.shape[2]
    base = state[inst, ST_BASE]
    nb = state[inst, ST_BID_BELOW + 2 * side]
    na = state[inst, ST_BID_ABOVE + 2 * side]
    n_win = state[inst, ST_BID_LEVELS + side] - nb - na
    col = N_STATE + side * OVF_SLOTS_PER_LEVEL * cap
    if side == BID:
        for j in range(cap - 1, cap - na - 1, -1):  # above stack, descending
            if state[inst, col + j] < price_tick:
                return state[inst, col + j]
        if n_win > 0:
            for i in range(min(price_tick - base - 1, window - 1), -1, -1):
                if qty[inst, BID, i] != 0:
                    return base + i
        for j in range(nb - 1, -1, -1):
            if state[inst, col + j] < price_tick:
                return state[inst, col + j]
        return NO_BID
    for j in range(nb):  # below stack, ascending
        if state[inst, col + j] > price_tick:
            return state[inst, col + j]
    if n_win > 0:
        for i in range(max(price_tick - base + 1, 0), window):
            if qty[inst, ASK, i] != 0:
                return base + i
    for j in range(cap - na, cap):
        if state[inst, col + j] > price_tick:
            return state[inst, col + j]
    return NO_ASK


@njit(cache=True, nogil=True)
def depth(
    qty: np.ndarray,
    state: np.ndarray,
    inst: int,
    side: int,
    n: int,
    out_price_tick: np.ndarray,
    out_qty_lot: np.ndarray,
) -> int:
    """Write up to ``n`` levels of ``side``, best first, into the out arrays; return the count."""
    count, _total = overflow_walk(qty, state, inst, side, n, out_price_tick, out_qty_lot, True)
    return count


@njit(cache=True, nogil=True)
def _depth_sum_walk(qty: np.ndarray, state: np.ndarray, inst: int, side: int, n: int) -> int:
    none = qty[inst, side, :0]
    _count, total = overflow_walk(qty, state, inst, side, n, none, none, False)
    return total


@njit(cache=True, nogil=True)
def depth_sum(qty: np.ndarray, state: np.ndarray, inst: int, side: int, n: int) -> int:
    """Return the total size of the best ``n`` levels of ``side`` (no output arrays needed).

    Sums inside the window when the best ``n`` levels are there (the usual case), else walks
    the overflow too.
    """
    n = min(n, state[inst, ST_BID_LEVELS + side])
    if n <= 0:
        return 0
    window = qty.shape[2]
    total = 0
    count = 0
    if side == BID:
        i = state[inst, ST_BEST_BID] - state[inst, ST_BASE]
        if state[inst, ST_BID_ABOVE] == 0 and i < window:
            while i >= 0 and count < n:
                if qty[inst, BID, i] != 0:
                    total += qty[inst, BID, i]
                    count += 1
                i -= 1
    else:
        i = state[inst, ST_BEST_ASK] - state[inst, ST_BASE]
        if state[inst, ST_ASK_BELOW] == 0 and i >= 0:
            while i < window and count < n:
                if qty[inst, ASK, i] != 0:
                    total += qty[inst, ASK, i]
                    count += 1
                i += 1
    if count == n:
        return total
    return _depth_sum_walk(qty, state, inst, side, n)


@njit(cache=True, nogil=True, inline="always")
def apply_event(qty: np.ndarray, state: np.ndarray, ev: np.ndarray, i: int) -> int:
    """Apply event row ``ev[i]`` if it is a book row; return a BookStatus (non-book rows: OK).

    ``BOOK_CLEAR`` empties the book and marks it valid again (a snapshot follows). BBO rows are
    not book rows: a venue's best-bid/offer stream never writes into the L2 book.
    """
    kind = ev[i]["kind"]
    inst = ev[i]["instrument"]
    if kind in (_BOOK_BID, _BOOK_ASK):
        state[inst, ST_LAST_TS] = ev[i]["ts_local_ns"]
        side = BID if kind == _BOOK_BID else ASK
        return apply_level(qty, state, inst, side, ev[i]["price_tick"], ev[i]["qty_lot"])
    if kind == _BOOK_CLEAR:
        clear_book(qty, state, inst)
        state[inst, ST_LAST_TS] = ev[i]["ts_local_ns"]
    return _OK


@njit(cache=True, nogil=True)
def apply_events(qty: np.ndarray, state: np.ndarray, ev: np.ndarray, counts: np.ndarray) -> int:
    """Apply a batch of event rows; return the number of crossed or locked batch ends.

    ``counts[BookStatus]`` accumulates per-status totals. At each row flagged ``BATCH_END`` the
    instrument's book is checked; a crossed or locked book is marked invalid (``ST_VALID`` = 0)
    so that strategies stop quoting it until the next ``BOOK_CLEAR`` (snapshot).
    """
    qty = borrow(qty)
    state = borrow(state)
    ev = borrow(ev)
    counts = borrow(counts)
    bad = 0
    for i in range(ev.shape[0]):
        status = apply_event(qty, state, ev, i)
        counts[status] += 1
        if ev[i]["flags"] & _FLAG_BATCH_END:
            inst = ev[i]["instrument"]
            check = check_book(state, inst)
            if check in (_CHECK_CROSSED, _CHECK_LOCKED):
                state[inst, ST_VALID] = 0
                bad += 1
    return bad


@njit(cache=True, nogil=True)
def load_snapshot(
    qty: np.ndarray,
    state: np.ndarray,
    inst: int,
    bid_price_tick: np.ndarray,
    bid_qty_lot: np.ndarray,
    ask_price_tick: np.ndarray,
    ask_qty_lot: np.ndarray,
) -> int:
    """Replace ``inst``'s book with the given levels; return its BookCheck afterwards."""
    clear_book(qty, state, inst)
    for k in range(bid_price_tick.shape[0]):
        if bid_qty_lot[k] > 0:
            apply_level(qty, state, inst, BID, bid_price_tick[k], bid_qty_lot[k])
    for k in range(ask_price_tick.shape[0]):
        if ask_qty_lot[k] > 0:
            apply_level(qty, state, inst, ASK, ask_price_tick[k], ask_qty_lot[k])
    return check_book(state, inst)


class Book:
    """Python handle on the books of ``n_instruments`` (tests, demo, tools; not the hot path)."""

    def __init__(
        self, n_instruments: int = 1, window: int = DEFAULT_WINDOW, overflow: int = DEFAULT_OVERFLOW
    ) -> None:
        self.qty, self.state = new_books(n_instruments, window, overflow)

    def set(self, side: int, price_tick: int, qty_lot: int, inst: int = 0) -> BookStatus:
        """Set one level (0 deletes)."""
        return BookStatus(apply_level(self.qty, self.state, inst, side, price_tick, qty_lot))

    def clear(self, inst: int = 0) -> None:
        """Remove every level of ``inst``."""
        clear_book(self.qty, self.state, inst)

    def best_bid_tick(self, inst: int = 0) -> int | None:
        """Return the best bid, or None when the bid side is empty."""
        value = int(self.state[inst, ST_BEST_BID])
        return None if value == NO_BID else value

    def best_ask_tick(self, inst: int = 0) -> int | None:
        """Return the best ask, or None when the ask side is empty."""
        value = int(self.state[inst, ST_BEST_ASK])
        return None if value == NO_ASK else value

    def check(self, inst: int = 0) -> BookCheck:
        """Return the book's consistency."""
        return BookCheck(check_book(self.state, inst))

    def levels(self, side: int, n: int, inst: int = 0) -> list[tuple[int, int]]:
        """Return the best ``n`` levels of ``side`` as ``(price_tick, qty_lot)``."""
        prices = np.empty(max(n, 0), dtype=np.int64)
        sizes = np.empty(max(n, 0), dtype=np.int64)
        count = depth(self.qty, self.state, inst, side, n, prices, sizes)
        return [(int(prices[k]), int(sizes[k])) for k in range(count)]

    def size(self, side: int, price_tick: int, inst: int = 0) -> int:
        """Return the size at ``price_tick`` on ``side`` (0 if absent)."""
        return int(level_qty(self.qty, self.state, inst, side, price_tick))

    def counters(self, inst: int = 0) -> dict[str, int]:
        """Return the book's counters (for metrics)."""
        row = self.state[inst]
        overflow = int(
            row[ST_BID_BELOW] + row[ST_BID_ABOVE] + row[ST_ASK_BELOW] + row[ST_ASK_ABOVE]
        )
        return {
            "bid_levels": int(row[ST_BID_LEVELS]),
            "ask_levels": int(row[ST_ASK_LEVELS]),
            "overflow_levels": overflow,
            "dropped_levels": int(row[ST_DROPPED]),
            "recentres": int(row[ST_RECENTRES]),
            "moved_levels": int(row[ST_MOVED]),
        }
