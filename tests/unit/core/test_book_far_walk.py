"""The exact book on far price walks: 10x the window away and back, ticks from 1e-8 to 1.

Every message (a few level updates around a moving touch, deletes of held levels, far levels
that must survive the walk, the odd snapshot) is followed by a level-by-level comparison with
the dict oracle. ``make test`` runs this file with the JIT and again with ``NUMBA_DISABLE_JIT=1``.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.book import Book, BookStatus

from .naive import NaiveBook
from .test_book import compare

BID, ASK = 0, 1
TICKS = ["0.00000001", "0.000001", "0.0001", "0.01", "0.5", "1"]
PRICES = ["0.00002853", "0.3012", "1.07", "1834.5", "29223.7", "60000"]
OVERFLOW = 4096


def start_tick(price: str, tick: str, window: int) -> int:
    """The starting mid in ticks: the price on the tick grid, far enough from zero to walk."""
    ticks = int(Decimal(price) / Decimal(tick))
    return max(ticks, 12 * window)


@st.composite
def walks(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    """A window, a start mid and a path of mids that goes 10 windows out and comes back."""
    window = draw(st.sampled_from([16, 64, 257]))
    tick = draw(st.sampled_from(TICKS))
    mid = start_tick(draw(st.sampled_from(PRICES)), tick, window)
    direction = draw(st.sampled_from([-1, 1]))
    path = [mid]
    far = mid + direction * 10 * window
    for goal in (far, mid):
        while path[-1] != goal:
            step = draw(st.integers(min_value=1, max_value=max(2, window // 2)))
            if draw(st.integers(0, 15)) == 0:
                step = 3 * window  # a jump over several windows
            here = path[-1]
            path.append(min(here + step, goal) if goal > here else max(here - step, goal))
    return window, mid, path


@settings(max_examples=60, deadline=None)
@given(walk=walks(), data=st.data())
def test_far_walks_match_the_oracle_after_every_message(
    walk: tuple[int, int, list[int]], data: st.DataObject
) -> None:
    window, start, path = walk
    book = Book(window=window, overflow=OVERFLOW)
    naive = NaiveBook()

    def apply(side: int, price: int, size: int) -> None:
        status = book.set(side, price, size)
        assert status in (BookStatus.OK, BookStatus.RECENTRED)
        naive.set(side, price, size)

    # far levels on both sides of the start: they must survive the whole walk
    span = 12 * window
    for k in range(data.draw(st.integers(0, 6))):
        apply(BID, start - span - 7 * k, 3 + k)
        apply(ASK, start + span + 5 * k, 4 + k)
    touch = start
    for mid in path:
        # the touch moves with the walk: new touch levels come, the old ones go
        apply(BID, mid - 1, 5)
        apply(ASK, mid + 1, 5)
        if touch != mid:
            apply(BID, touch - 1, 0)
            apply(ASK, touch + 1, 0)
        touch = mid
        for _ in range(data.draw(st.integers(1, 6))):
            side = data.draw(st.sampled_from([BID, ASK]))
            offset = data.draw(st.integers(0, 2 * window))
            price = mid - 1 - offset if side == BID else mid + 1 + offset
            apply(side, price, data.draw(st.sampled_from([0, 1, 2, 7, 1000])))
        held = sorted(naive.bids) + sorted(naive.asks)
        if held and data.draw(st.integers(0, 3)) == 0:  # delete a level the book holds
            price = data.draw(st.sampled_from(held))
            apply(BID if price in naive.bids else ASK, price, 0)
        if data.draw(st.integers(0, 40)) == 0:  # a snapshot: clear, then a fresh book
            book.clear()
            naive.clear()
            apply(BID, mid - 1, 5)
            apply(ASK, mid + 1, 5)
        compare(book, naive)
        assert book.check() == naive.check()
