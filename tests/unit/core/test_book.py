"""L2 book kernels against the naive dict oracle: hand cases and random delta streams."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.book import (
    ST_DROPPED,
    ST_RECENTRES,
    ST_VALID,
    Book,
    BookCheck,
    BookStatus,
    apply_events,
    load_snapshot,
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


def test_far_levels_are_dropped_and_counted_touch_levels_recentre() -> None:
    book = Book(window=32)  # first level centres the window: [84, 116)
    book.set(BID, 100, 1)
    book.set(ASK, 101, 1)
    assert book.set(BID, 50, 9) is BookStatus.DROPPED_FAR
    assert book.set(ASK, 200, 9) is BookStatus.DROPPED_FAR
    assert book.counters()["dropped_levels"] == 2
    # the market jumps: an ask below the window re-centres on it
    assert book.set(ASK, 60, 3) is BookStatus.RECENTRED
    assert book.best_ask_tick() == 60
    # the old levels at 100/101 fell off the new window [44, 76)
    assert book.best_bid_tick() is None
    assert book.counters()["dropped_levels"] == 4
    assert book.counters()["recentres"] == 1


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
    assert book.best_bid_tick() == naive.best_bid()
    assert book.best_ask_tick() == naive.best_ask()
    for side in (BID, ASK):
        assert book.levels(side, 10) == naive.top(side, 10)
    counters = book.counters()
    assert counters["bid_levels"] == len(naive.bids)
    assert counters["ask_levels"] == len(naive.asks)
    assert int(book.state[0, ST_DROPPED]) == naive.dropped
    assert int(book.state[0, ST_RECENTRES]) == naive.recentres


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
        assert book.set(side, price, size) == naive.set(side, price, size)
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
def test_tiny_windows_still_keep_the_touch(window: int) -> None:
    book = Book(window=window)
    naive = NaiveBook(window=window)
    for side, price in [(BID, 100), (ASK, 101), (BID, 95), (ASK, 110), (BID, 104), (ASK, 90)]:
        assert book.set(side, price, 1) == naive.set(side, price, 1)
        compare(book, naive)
