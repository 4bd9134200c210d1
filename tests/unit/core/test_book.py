"""L2 book kernels against the naive dict oracle: hand cases and random delta streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.book import (
    NO_ASK,
    NO_BID,
    ST_VALID,
    Book,
    BookCheck,
    BookStatus,
    apply_events,
    load_snapshot,
    next_level,
)
from bot.core.dtypes import EventFlag, EventKind, empty_events

from .naive import NaiveBook

BID, ASK = 0, 1


def test_best_prices_follow_sets_and_deletes() -> None:
    book = Book(window=64)
    book.set(BID, 1000, 5)
    book.set(BID, 998, 2)
    book.set(ASK, 1003, 4)
    book.set(ASK, 1005, 1)
    assert (book.best_bid_tick(), book.best_ask_tick()) == (1000, 1003)
    book.set(BID, 1000, 0)  # delete the best bid: next level two ticks down
    assert book.best_bid_tick() == 998
    book.set(ASK, 1002, 7)  # improve the ask
    assert book.best_ask_tick() == 1002
    assert book.levels(ASK, 5) == [(1002, 7), (1003, 4), (1005, 1)]
    book.set(BID, 998, 0)
    assert book.best_bid_tick() is None
    assert book.check() is BookCheck.EMPTY_SIDE


def test_deleting_an_absent_level_and_zero_quantities_change_nothing() -> None:
    book = Book(window=64)
    book.set(BID, 1000, 5)
    assert book.set(BID, 999, 0) is BookStatus.OK
    assert book.set(ASK, 5000, 0) is BookStatus.OK  # far outside the window
    assert book.counters()["bid_levels"] == 1
    assert book.set(BID, 1000, -1) is BookStatus.INVALID
    assert book.levels(BID, 3) == [(1000, 5)]


def test_crossed_and_locked_books_are_reported() -> None:
    book = Book(window=64)
    book.set(BID, 100, 1)
    book.set(ASK, 101, 1)
    assert book.check() is BookCheck.OK
    book.set(BID, 101, 1)
    assert book.check() is BookCheck.LOCKED
    book.set(BID, 102, 1)
    assert book.check() is BookCheck.CROSSED


def test_far_levels_are_kept_and_come_back_when_the_touch_returns() -> None:
    book = Book(window=32)  # first level centres the window: [84, 116)
    book.set(BID, 100, 1)
    book.set(ASK, 101, 1)
    assert book.set(BID, 50, 9) is BookStatus.OK  # below the window: kept in the overflow
    assert book.set(ASK, 200, 9) is BookStatus.OK
    assert book.counters()["overflow_levels"] == 2
    assert book.levels(BID, 5) == [(100, 1), (50, 9)]
    assert book.levels(ASK, 5) == [(101, 1), (200, 9)]
    assert book.size(BID, 50) == 9
    # the market falls far: the touch moves, the old levels stay in the book
    book.set(BID, 100, 0)
    book.set(ASK, 101, 0)
    assert book.set(ASK, 60, 3) in (BookStatus.OK, BookStatus.RECENTRED)
    assert book.set(BID, 58, 2) in (BookStatus.OK, BookStatus.RECENTRED)
    assert (book.best_bid_tick(), book.best_ask_tick()) == (58, 60)
    assert book.levels(ASK, 5) == [(60, 3), (200, 9)]
    assert book.levels(BID, 5) == [(58, 2), (50, 9)]
    # and back up: the far ask returns to the window untouched
    book.set(ASK, 60, 0)
    book.set(BID, 58, 0)
    assert book.best_ask_tick() == 200
    assert book.best_bid_tick() == 50
    book.set(BID, 198, 4)
    assert book.levels(ASK, 5) == [(200, 9)]
    assert book.levels(BID, 5) == [(198, 4), (50, 9)]
    assert book.counters()["dropped_levels"] == 0
    assert book.counters()["recentres"] >= 2


def test_a_move_down_and_back_keeps_every_ask() -> None:
    """The issue's case: a 0.75 % move down and back on a fine tick left a book with no asks."""
    tick_window = 1 << 12
    book = Book(window=tick_window)
    naive = NaiveBook()
    mid = 6_000_000  # 60,000.00 at tick 0.01
    asks = [mid + 1 + 37 * k for k in range(11)]
    bids = [mid - 1 - 37 * k for k in range(11)]
    for p in asks:
        book.set(ASK, p, 5)
        naive.set(ASK, p, 5)
    for p in bids:
        book.set(BID, p, 5)
        naive.set(BID, p, 5)
    move = mid * 75 // 10_000  # 0.75 %: 45,000 ticks, ~11 windows
    for price in range(mid, mid - move, -997):  # the touch walks down, one trade level each
        for side, p, q in ((BID, price - 1, 1), (ASK, price + 1, 1)):
            book.set(side, p, q)
            naive.set(side, p, q)
    for price in range(mid - move, mid, 991):  # and back; the walk's levels are deleted
        for side, p in ((BID, price - 1), (ASK, price + 1)):
            book.set(side, p, 0)
            naive.set(side, p, 0)
    compare(book, naive)
    assert len(book.levels(ASK, 100)) == len(naive.asks) >= 11


def test_a_full_overflow_refuses_the_level_and_marks_the_book_invalid() -> None:
    book = Book(window=8, overflow=2)
    book.set(BID, 100, 1)
    assert book.set(BID, 10, 1) is BookStatus.OK
    assert book.set(BID, 11, 1) is BookStatus.OK
    assert book.set(BID, 12, 1) is BookStatus.OVERFLOW_FULL
    assert book.counters()["dropped_levels"] == 1
    assert book.check() is BookCheck.INVALID
    book.set(BID, 11, 0)  # a delete frees its slot
    book.clear()
    assert book.check() is BookCheck.EMPTY_SIDE
    book.set(BID, 100, 1)
    assert book.set(BID, 12, 1) is BookStatus.OK


def test_bbo_rows_never_write_into_the_book() -> None:
    book = Book(window=64)
    ev = empty_events(3)
    ev["kind"] = [EventKind.BOOK_BID, EventKind.BBO_BID, EventKind.BBO_ASK]
    ev["price_tick"] = [100, 105, 99]
    ev["qty_lot"] = [1, 7, 7]
    counts = np.zeros(len(BookStatus), dtype=np.int64)
    apply_events(book.qty, book.state, ev, counts)
    assert book.levels(BID, 5) == [(100, 1)]
    assert book.levels(ASK, 5) == []


def test_batch_end_marks_crossed_books_invalid_until_the_next_clear() -> None:
    book = Book(window=64)
    qty, state = book.qty, book.state
    ev = empty_events(4)
    ev["kind"] = [EventKind.BOOK_BID, EventKind.BOOK_ASK, EventKind.BOOK_BID, EventKind.BOOK_CLEAR]
    ev["price_tick"] = [100, 101, 102, 0]
    ev["qty_lot"] = [1, 1, 1, 0]
    ev["flags"] = [0, EventFlag.BATCH_END, EventFlag.BATCH_END, 0]
    counts = np.zeros(4, dtype=np.int64)
    assert apply_events(qty, state, ev[:2], counts) == 0
    assert apply_events(qty, state, ev[2:3], counts) == 1
    assert state[0, ST_VALID] == 0
    apply_events(qty, state, ev[3:], counts)
    assert state[0, ST_VALID] == 1
    assert counts[BookStatus.OK] == 4


def test_snapshot_load_replaces_the_book() -> None:
    book = Book(window=128)
    book.set(BID, 10, 1)
    i64 = np.int64
    check = load_snapshot(
        book.qty,
        book.state,
        0,
        np.array([500, 499], i64),
        np.array([1, 2], i64),
        np.array([501, 503], i64),
        np.array([3, 0], i64),
    )
    assert check == BookCheck.OK
    assert book.levels(BID, 5) == [(500, 1), (499, 2)]
    assert book.levels(ASK, 5) == [(501, 3)]


def test_books_of_instruments_are_independent() -> None:
    book = Book(n_instruments=2, window=64)
    book.set(BID, 100, 1, inst=0)
    book.set(BID, 7000, 1, inst=1)
    book.clear(inst=0)
    assert book.best_bid_tick(0) is None
    assert book.best_bid_tick(1) == 7000


def compare(book: Book, naive: NaiveBook) -> None:
    """Assert the kernel book holds exactly the oracle's levels, in order, on both sides."""
    assert book.best_bid_tick() == naive.best_bid()
    assert book.best_ask_tick() == naive.best_ask()
    for side in (BID, ASK):
        want = naive.top(side, 1 << 30)
        assert book.levels(side, len(want) + 1) == want
        assert book.levels(side, 3) == want[:3]
        walk = []
        price = want[0][0] if want else None
        while price is not None:
            walk.append((price, book.size(side, price)))
            nxt = int(next_level(book.qty, book.state, 0, side, price))
            price = None if nxt in (NO_BID, NO_ASK) else nxt
        assert walk == want
    counters = book.counters()
    assert counters["bid_levels"] == len(naive.bids)
    assert counters["ask_levels"] == len(naive.asks)
    assert counters["dropped_levels"] == 0


op = st.tuples(
    st.sampled_from([BID, ASK]),
    st.integers(min_value=-40, max_value=40),  # offset from the running centre
    st.sampled_from([0, 0, 1, 2, 5, 100]),  # zeros are deletes, often of absent levels
    st.sampled_from([0] * 30 + [-500, 500, 90, -90]),  # rare jumps beyond the window
    st.sampled_from([0] * 20 + [1]),  # rare clear
)


@settings(max_examples=200, deadline=None)
@given(ops=st.lists(op, min_size=1, max_size=300), window=st.sampled_from([16, 64, 257]))
def test_random_delta_streams_match_the_oracle(
    ops: list[tuple[int, int, int, int, int]], window: int
) -> None:
    book = Book(window=window)
    naive = NaiveBook(window=window)
    centre = 10_000
    for side, offset, size, jump, clear in ops:
        centre += jump
        if clear:
            book.clear()
            naive.clear()
            continue
        # bids mostly below the centre, asks above, so books are mostly uncrossed
        price = centre + (-abs(offset) if side == BID else abs(offset))
        status = book.set(side, price, size)
        if naive.set(side, price, size) is BookStatus.INVALID:
            assert status is BookStatus.INVALID
        else:
            assert status in (BookStatus.OK, BookStatus.RECENTRED)
        compare(book, naive)
        assert book.check() == naive.check()


def test_long_drifting_stream_matches_the_oracle_at_checkpoints() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    sides = rng.integers(0, 2, n)
    offsets = rng.integers(0, 30, n)
    sizes = rng.choice([0, 0, 1, 3, 8], n)
    drift = np.cumsum(rng.choice([-1, 0, 1], n, p=[0.05, 0.9, 0.05]))
    prices = 50_000 + drift + np.where(sides == BID, -offsets - 1, offsets + 1)
    book = Book(window=1024)
    naive = NaiveBook(window=1024)
    for k in range(n):
        book.set(int(sides[k]), int(prices[k]), int(sizes[k]))
        naive.set(int(sides[k]), int(prices[k]), int(sizes[k]))
        if k % 20_000 == 0:
            compare(book, naive)
    compare(book, naive)


@pytest.mark.parametrize("window", [4, 5])
def test_tiny_windows_keep_every_level(window: int) -> None:
    book = Book(window=window)
    naive = NaiveBook(window=window)
    for side, price in [(BID, 100), (ASK, 101), (BID, 95), (ASK, 110), (BID, 104), (ASK, 90)]:
        book.set(side, price, 1)
        naive.set(side, price, 1)
        compare(book, naive)
