"""L2 order books as numba kernels over preallocated, price-indexed arrays.

Layout (one set of arrays holds the books of every instrument):

* ``qty[instrument, side, i]`` (int64 lots): the size at price ``base_tick + i``; ``side`` is
  ``BookSide.BID`` (0) or ``BookSide.ASK`` (1); 0 means no level. The window has ``W`` slots.
* ``state[instrument, field]`` (int64): the fields ``ST_*`` below: window base, best bid and ask
  (``NO_BID`` / ``NO_ASK`` when a side is empty), level counts, counters and the sync flag.

Setting or deleting a level is O(1); the best price is kept at all times (a delete of the best
level scans towards worse prices to the next level, which on a real book is a step or two).

Window policy (prices beyond the preallocated ``W`` ticks):

* a cleared book (new, or before a snapshot) centres its window on the first level that
  arrives, so after a snapshot the window sits around the touch; a book emptied by deletes
  re-bases for free when a level arrives outside its window;
* a level *far from the touch* that falls outside the window (a bid below it, an ask above it)
  is dropped and counted in ``ST_DROPPED`` (strategies use the top of book; far levels that come
  back into range are restored by the next update or snapshot of that level);
* a level *at the touch* outside the window (a bid above it, an ask below it: the market moved
  more than ``W/2`` ticks) re-centres the window on that price: the arrays shift in place, levels
  pushed off the far end are dropped and counted, ``ST_RECENTRES`` counts the move.

Crossed or locked books: a venue message can cross the book transiently while its levels are
applied one by one, so crossing is checked at message boundaries (``check_book``, or rows with
``EventFlag.BATCH_END`` in ``apply_events``) and reported as a ``BookCheck`` code. The caller
(ingest, backtest) decides: mark the book invalid and resync. Nothing is silently kept.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.core.nrt import borrow

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


class BookStatus(IntEnum):
    """Result of applying one level."""

    OK = 0
    DROPPED_FAR = 1
    """The level lay beyond the window on the far side and was dropped (counted)."""
    RECENTRED = 2
    """The window moved to take the level; levels pushed off were dropped (counted)."""
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


@njit(cache=True, nogil=True, inline="always")
def check_book(state: np.ndarray, inst: int) -> int:
    """Return the BookCheck of ``inst``'s book: OK, CROSSED, LOCKED, EMPTY_SIDE or INVALID."""
    if state[inst, ST_VALID] == 0:
        return 4
    bid = state[inst, ST_BEST_BID]
    ask = state[inst, ST_BEST_ASK]
    if bid == NO_BID or ask == NO_ASK:
        return 3
    if bid > ask:
        return 1
    if bid == ask:
        return 2
    return 0


@njit(cache=True, nogil=True, inline="always")
def level_qty(qty: np.ndarray, state: np.ndarray, inst: int, side: int, price_tick: int) -> int:
    """Return the size at ``price_tick`` on ``side`` (0 if absent or outside the window)."""
    idx = price_tick - state[inst, ST_BASE]
    if idx < 0 or idx >= qty.shape[2]:
        return 0
    return qty[inst, side, idx]


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
    count = 0
    levels = state[inst, ST_BID_LEVELS + side]
    if levels == 0 or n <= 0:
        return 0
    n = min(n, levels)  # never scan past the last level
    base = state[inst, ST_BASE]
    row = qty[inst, side]
    window = qty.shape[2]
    if side == 0:
        i = state[inst, ST_BEST_BID] - base
        while i >= 0 and count < n:
            if row[i] != 0:
                out_price_tick[count] = base + i
                out_qty_lot[count] = row[i]
                count += 1
            i -= 1
    else:
        i = state[inst, ST_BEST_ASK] - base
        while i < window and count < n:
            if row[i] != 0:
                out_price_tick[count] = base + i
                out_qty_lot[count] = row[i]
                count += 1
            i += 1
    return count


@njit(cache=True, nogil=True)
def depth_sum(qty: np.ndarray, state: np.ndarray, inst: int, side: int, n: int) -> int:
    """Return the total size of the best ``n`` levels of ``side`` (no output arrays needed)."""
    total = 0
    count = 0
    levels = state[inst, ST_BID_LEVELS + side]
    if levels == 0 or n <= 0:
        return 0
    n = min(n, levels)  # never scan past the last level
    base = state[inst, ST_BASE]
    row = qty[inst, side]
    window = qty.shape[2]
    step = -1 if side == 0 else 1
    i = (state[inst, ST_BEST_BID] if side == 0 else state[inst, ST_BEST_ASK]) - base
    while 0 <= i < window and count < n:
        if row[i] != 0:
            total += row[i]
            count += 1
        i += step
    return total


@njit(cache=True, nogil=True, inline="always")
def apply_event(qty: np.ndarray, state: np.ndarray, ev: np.ndarray, i: int) -> int:
    """Apply event row ``ev[i]`` if it is a book row; return a BookStatus (non-book rows: OK).

    ``BOOK_CLEAR`` empties the book and marks it valid again (a snapshot follows).
    """
    kind = ev[i]["kind"]
    inst = ev[i]["instrument"]
    if kind in (_BOOK_BID, _BOOK_ASK):
        state[inst, ST_LAST_TS] = ev[i]["ts_local_ns"]
        return apply_level(qty, state, inst, kind - 1, ev[i]["price_tick"], ev[i]["qty_lot"])
    if kind == _BOOK_CLEAR:
        clear_book(qty, state, inst)
        state[inst, ST_LAST_TS] = ev[i]["ts_local_ns"]
    return 0


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
            if check == 1 or check == 2:
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
            apply_level(qty, state, inst, 0, bid_price_tick[k], bid_qty_lot[k])
    for k in range(ask_price_tick.shape[0]):
        if ask_qty_lot[k] > 0:
            apply_level(qty, state, inst, 1, ask_price_tick[k], ask_qty_lot[k])
    return check_book(state, inst)


class Book:
    """Python handle on the books of ``n_instruments`` (tests, demo, tools; not the hot path)."""

    def __init__(self, n_instruments: int = 1, window: int = DEFAULT_WINDOW) -> None:
        self.qty, self.state = new_books(n_instruments, window)

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
        prices = np.empty(n, dtype=np.int64)
        sizes = np.empty(n, dtype=np.int64)
        count = depth(self.qty, self.state, inst, side, n, prices, sizes)
        return [(int(prices[k]), int(sizes[k])) for k in range(count)]

    def counters(self, inst: int = 0) -> dict[str, int]:
        """Return the book's counters (for metrics)."""
        row = self.state[inst]
        return {
            "bid_levels": int(row[ST_BID_LEVELS]),
            "ask_levels": int(row[ST_ASK_LEVELS]),
            "dropped_levels": int(row[ST_DROPPED]),
            "recentres": int(row[ST_RECENTRES]),
        }
