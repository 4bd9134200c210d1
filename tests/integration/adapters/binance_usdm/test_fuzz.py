"""Malformed input never crashes the Binance feed and never leaves a crossed book valid."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.base import EventBuffer
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.core.book import new_books
from tests.support import binance as bn
from tests.support.books import valid_books_uncrossed
from tests.support.fuzz import broken_frames

FRAMES = (
    bn.lines("depth_diff", "AKROUSDT")[:40]
    + bn.lines("bookTicker", "AKROUSDT")[:10]
    + bn.lines("aggTrade", "AKROUSDT")
    + bn.lines("kline_1m", "AKROUSDT")[:3]
)


def synced_feed() -> tuple[BinanceUsdmFeed, object, EventBuffer]:
    qty, state = new_books(1, 1 << 12)
    feed = BinanceUsdmFeed(bn.refs()[:1], qty, state)
    out = EventBuffer()
    feed.on_connect(1, out, url=feed.ws_urls()[0])
    feed.on_snapshot(feed.pending_snapshots()[0], bn.snapshot("AKROUSDT"), 1, out)
    return feed, state, out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(broken_frames(FRAMES), min_size=1, max_size=8), st.data())
def test_broken_frames_never_raise(frames: list, data: st.DataObject) -> None:
    feed, state, out = synced_feed()
    good = bn.lines("depth_diff", "AKROUSDT")
    for k, frame in enumerate(frames):
        feed.on_message(good[k + 1], 2, out)
        feed.on_message(frame, 3, out)
        assert valid_books_uncrossed(state, [0])
    assert feed.stats.messages == 2 * len(frames)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_and_snapshots_never_raise(blob: bytes) -> None:
    feed, state, out = synced_feed()
    feed.on_message(blob, 1, out)
    feed.resync(0, "test", 1, out)
    feed.on_snapshot(feed.pending_snapshots()[0], blob, 2, out)
    assert valid_books_uncrossed(state, [0])
