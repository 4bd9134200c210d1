"""Malformed input never crashes a feed: random bytes, truncated JSON, wrong types and huge
numbers are counted and skipped, and a book flagged valid is never crossed."""

from __future__ import annotations

import gzip
import json
import logging

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import new_books
from bot.core.dtypes import EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import (
    assert_valid_books_uncrossed,
    inject,
    lines,
)
from tests.support.shared import fixture_file


@pytest.fixture(autouse=True, scope="module")
def _quiet():
    """Malformed frames are logged by design; keep the fuzz output readable."""
    logger = logging.getLogger("bot.adapters")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    yield
    logger.setLevel(level)


def _okx():
    spec = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")
    frames = (
        lines("okx", "ws_books_BTC-USDT.ndjson")[:12]
        + lines("okx", "ws_trades_BTC-USDT.ndjson")[:3]
    )
    return OkxFeed, spec, frames


def _bitget():
    spec = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
    return BitgetFeed, spec, lines("bitget", "legacy_v1mix_ws_books_UNIUSDT.ndjson")[:12]


def _bitmex():
    spec = InstrumentSpec(venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100")
    frames = lines("bitmex", "ws_orderBookL2_XBTUSD.ndjson")[1:40]
    rows = [
        {"symbol": "XBTUSD", "id": 8796700000 + k, "side": "Sell" if k < 60 else "Buy",
         "size": 100 * (k + 1), "price": 32300 - k}
        for k in range(120)
    ]  # fmt: skip
    partial = {"table": "orderBookL2", "action": "partial", "data": rows}
    quotes = lines("bitmex", "ws_quote_XBTUSD.ndjson")[:2]
    return BitmexFeed, spec, [json.dumps(partial), *frames, *quotes]


def _bingx():
    spec = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
    names = ["ws_PartialBook_push.json", "ws_Trades_push.json", "ws_BookPrice_push.json"]
    frames = [json.dumps(json.loads(fixture_file("bingx", n).read_text())) for n in names]
    return BingxFeed, spec, frames


VENUES = {"okx": _okx, "bitget": _bitget, "bitmex": _bitmex, "bingx": _bingx}
SETUPS = {name: make() for name, make in VENUES.items()}


def new_feed(venue: str):
    cls, spec, _ = SETUPS[venue]
    qty, state = new_books(1, window=4096)
    feed = cls([InstrumentRef.of(0, spec)], qty, state)
    feed.on_connect(0, EventBuffer())
    return feed


def wire(venue: str, frame: str | bytes) -> str | bytes:
    """Frame as the venue sends it (BingX gzips everything)."""
    if venue == "bingx":
        return gzip.compress(frame.encode() if isinstance(frame, str) else frame)
    return frame


def feed_all(venue: str, feed, frames) -> EventBuffer:
    out = EventBuffer()
    for k, frame in enumerate(frames):
        feed.on_message(wire(venue, frame), k, out)
        assert_valid_books_uncrossed(feed.state)
    return out


def _is_json(data: bytes) -> bool:
    try:
        orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    return True


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.binary(max_size=200))
def test_random_bytes_are_counted_never_raised(venue, data):
    feed = new_feed(venue)
    feed.on_message(data, 1, EventBuffer())
    if not _is_json(data) and data.strip().lower() not in (b"pong", b"ping"):
        assert feed.stats.malformed == 1
    assert_valid_books_uncrossed(feed.state)


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_truncated_frames_are_counted(venue, data):
    frames = SETUPS[venue][2]
    k = data.draw(st.integers(0, len(frames) - 1))
    cut = data.draw(st.integers(1, len(frames[k]) - 1))
    feed = new_feed(venue)
    feed_all(venue, feed, [*frames[:k], frames[k][:cut]])
    if not _is_json(frames[k][:cut].encode()):
        assert feed.stats.malformed >= 1


WRONG = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([None, True, [], {}, "", "abc", "1e400", "-5", "NaN", "0x10", "9" * 40]),
    st.floats(allow_nan=False),
)


def _paths(value, path=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))
    yield path


def _replace(value, path, new):
    if not path:
        return new
    head, *rest = path
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(value[head], rest, new)
    return copy


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_wrong_types_and_huge_numbers_never_raise(venue, data):
    frames = SETUPS[venue][2]
    k = data.draw(st.integers(0, len(frames) - 1))
    msg = json.loads(frames[k])
    paths = list(_paths(msg))
    path = paths[data.draw(st.integers(0, min(len(paths), 400) - 1))]
    mutated = json.dumps(_replace(msg, path, data.draw(WRONG)))
    feed = new_feed(venue)
    feed_all(venue, feed, [*frames[:k], mutated, *frames[k + 1 :]])


@pytest.mark.parametrize("venue", VENUES)
@FUZZ
@given(data=st.data())
def test_random_fault_sequences_keep_valid_books_uncrossed(venue, data):
    frames = list(SETUPS[venue][2]) * 2
    for _ in range(data.draw(st.integers(1, 4))):
        fault = data.draw(st.sampled_from(["drop", "duplicate", "out_of_order"]))
        frames = inject(frames, fault, data.draw(st.integers(0, len(frames) - 2)))
    feed = new_feed(venue)
    rows = feed_all(venue, feed, frames).view()
    # After BOOK_INVALID the next book row of the instrument is a snapshot's BOOK_CLEAR.
    waiting = False
    for kind in rows["kind"]:
        if kind == EventKind.BOOK_INVALID:
            waiting = True
        elif kind == EventKind.BOOK_CLEAR:
            waiting = False
        elif kind in (EventKind.BOOK_BID, EventKind.BOOK_ASK):
            assert not waiting, "book delta emitted for an invalid book"
