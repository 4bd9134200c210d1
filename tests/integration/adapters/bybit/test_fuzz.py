"""Malformed input never crashes the Bybit feed and never leaves a crossed book valid."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.base import EventBuffer
from bot.adapters.bybit import BybitFeed
from bot.core.book import new_books
from tests.support import bybit as by
from tests.support.books import valid_books_uncrossed
from tests.support.fuzz import broken_frames

TICKER = json.dumps(
    {
        "topic": "tickers.XRPUSDT",
        "type": "snapshot",
        "ts": 1,
        "data": {
            "symbol": "XRPUSDT",
            "bid1Price": "1.9537",
            "bid1Size": "1",
            "ask1Price": "1.9538",
            "ask1Size": "2",
            "markPrice": "1.95",
            "fundingRate": "0.0001",
        },
    }
)
TRADE = json.dumps(
    {
        "topic": "publicTrade.XRPUSDT",
        "type": "snapshot",
        "ts": 1,
        "data": [
            {"T": 1, "s": "XRPUSDT", "S": "Buy", "v": "1", "p": "1.9537", "i": "x", "BT": False}
        ],
    }
)
FRAMES = [*by.book_frames()[1:30], TICKER, TRADE]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(broken_frames(FRAMES), min_size=1, max_size=8))
def test_broken_frames_never_raise(frames: list) -> None:
    qty, state = new_books(1, 1 << 13)
    feed = BybitFeed(by.refs(), qty, state, depth=by.DEPTH)
    out = EventBuffer()
    feed.on_connect(1, out)
    good = by.book_frames()
    feed.on_message(good[0], 1, out)
    for k, frame in enumerate(frames):
        feed.on_message(good[k + 1], 2, out)
        feed.on_message(frame, 3, out)
        feed.take_outgoing()
        assert valid_books_uncrossed(state, [0])


def test_values_beyond_int64_are_malformed_not_a_crash() -> None:
    """Found by the fuzzer: an exact but huge price must be counted, not raise."""
    qty, state = new_books(1, 1 << 13)
    feed = BybitFeed(by.refs(), qty, state)
    out = EventBuffer()
    frame = json.loads(TICKER)
    frame["data"]["bid1Price"] = "99999999999999999999999.1"
    feed.on_message(json.dumps(frame), 1, out)
    assert feed.stats.malformed == 1
