"""Bybit v5 book sync on the real ob500 capture, without sockets."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from bot.adapters.base import EventBuffer
from bot.adapters.bybit import BybitFeed
from bot.core.book import ST_BEST_BID, ST_VALID, Book, new_books
from bot.core.dtypes import EventFlag, EventKind
from tests.support import bybit as by
from tests.support.books import book_from_rows, valid_books_uncrossed
from tests.support.shared import fixture_file

TICK = Decimal("0.0001")


def ticks(price: str) -> int:
    return int(Decimal(price) / TICK)


def make_feed(**options: object) -> tuple[BybitFeed, np.ndarray, np.ndarray, EventBuffer]:
    qty, state = new_books(1, 1 << 13)
    options.setdefault("depth", by.DEPTH)  # the capture's depth: orderbook.500
    feed = BybitFeed(by.refs(), qty, state, **options)
    out = EventBuffer()
    feed.on_connect(1, out)
    return feed, qty, state, out


def test_final_book_equals_the_expected_replay() -> None:
    feed, qty, state, out = make_feed()
    for frame in by.book_frames():
        feed.on_message(frame, 2, out)
    exp = by.expected()
    assert state[0, ST_VALID] == 1
    book = Book()
    book.qty, book.state = qty, state
    assert book.levels(0, 1) == [(ticks(exp["final_best_bid"][0]), int(exp["final_best_bid"][1]))]
    assert book.levels(1, 1) == [(ticks(exp["final_best_ask"][0]), int(exp["final_best_ask"][1]))]
    assert book.counters()["bid_levels"] == exp["bid_levels"]
    assert book.counters()["ask_levels"] == exp["ask_levels"]
    bids, asks = book_from_rows(out.view(), 0)
    naive_bids, naive_asks, last_u = by.naive_book(by.book_frames())
    assert bids == {ticks(str(p)): int(q) for p, q in naive_bids.items()}
    assert asks == {ticks(str(p)): int(q) for p, q in naive_asks.items()}
    assert last_u == exp["last_u"]
    assert feed.stats.gaps == 0
    assert feed.stats.malformed == 0


def test_snapshot_rows_are_flagged_and_start_with_a_clear() -> None:
    feed, _qty, _state, out = make_feed()
    n = out.n
    feed.on_message(by.book_frames()[0], 2, out)
    rows = out.view()[n:]
    assert rows[0]["kind"] == EventKind.BOOK_CLEAR
    assert np.all(rows["flags"] & EventFlag.SNAPSHOT)
    assert rows[-1]["flags"] & EventFlag.BATCH_END
    assert rows[0]["ts_exch_ns"] == json.loads(by.book_frames()[0])["cts"] * 1_000_000


def test_deltas_before_the_snapshot_are_dropped() -> None:
    feed, _qty, state, out = make_feed()
    for frame in by.book_frames()[1:5]:
        feed.on_message(frame, 2, out)
    assert feed.stats.dropped_stale == 4
    assert state[0, ST_VALID] == 0


def test_a_missing_delta_resubscribes_only_the_book() -> None:
    feed, _qty, state, out = make_feed()
    frames = by.book_frames()
    for frame in frames[:10]:
        feed.on_message(frame, 2, out)
    assert feed.take_outgoing() == ()
    feed.on_message(frames[11], 3, out)
    assert feed.stats.gaps == 1
    assert state[0, ST_VALID] == 0
    sent = [json.loads(f) for f in feed.take_outgoing()]
    assert sent == [
        {"op": "unsubscribe", "args": [by.BOOK_TOPIC]},
        {"op": "subscribe", "args": [by.BOOK_TOPIC]},
    ]
    feed.on_message(frames[12], 3, out)  # still waiting: dropped
    feed.on_message(by.snapshot_frame(frames), 4, out)
    assert state[0, ST_VALID] == 1
    exp = by.expected()
    assert state[0, ST_BEST_BID] == ticks(exp["final_best_bid"][0])


def test_u_equal_one_resets_the_book() -> None:
    feed, _qty, state, out = make_feed()
    frames = by.book_frames()
    for frame in frames[:10]:
        feed.on_message(frame, 2, out)
    restart = json.loads(frames[0])
    restart["type"] = "delta"
    restart["data"]["u"] = 1
    feed.on_message(json.dumps(restart), 3, out)
    assert feed.stats.gaps == 0
    assert state[0, ST_VALID] == 1
    bids, _ = book_from_rows(out.view(), 0)
    first_bid = json.loads(frames[0])["data"]["b"][0]
    assert max(bids) == ticks(first_bid[0])


def test_duplicate_delta_is_dropped() -> None:
    feed, _qty, state, out = make_feed()
    frames = by.book_frames()
    for frame in frames[:10]:
        feed.on_message(frame, 2, out)
    feed.on_message(frames[9], 2, out)
    assert feed.stats.gaps == 0
    assert state[0, ST_VALID] == 1


def test_crossed_book_resubscribes() -> None:
    feed, _qty, state, out = make_feed()
    frames = by.book_frames()
    feed.on_message(frames[0], 2, out)
    delta = json.loads(frames[1])
    delta["data"]["b"] = [["1.9600", "5"]]
    feed.on_message(json.dumps(delta), 2, out)
    assert feed.stats.crossed == 1
    assert state[0, ST_VALID] == 0
    assert valid_books_uncrossed(state, [0])
    assert len(feed.take_outgoing()) == 2


def test_trades_tickers_and_control_frames() -> None:
    feed, _qty, _state, out = make_feed()
    trade = json.loads(
        fixture_file("bybit", "docs/ws_publicTrade__Response_Example_1.json").read_text()
    )
    trade["topic"] = "publicTrade.XRPUSDT"
    trade["data"][0].update({"s": "XRPUSDT", "p": "1.9537", "v": "120"})
    ticker = {
        "topic": "tickers.XRPUSDT",
        "type": "snapshot",
        "ts": 1700000000000,
        "cs": 1,
        "data": {
            "symbol": "XRPUSDT",
            "bid1Price": "1.9537",
            "bid1Size": "10605",
            "ask1Price": "1.9538",
            "ask1Size": "6702",
            "markPrice": "1.95372",
            "fundingRate": "0.0001",
        },
    }
    delta = {
        "topic": "tickers.XRPUSDT",
        "type": "delta",
        "ts": 1700000000100,
        "cs": 2,
        "data": {"symbol": "XRPUSDT", "ask1Size": "700"},
    }
    n = out.n
    for frame in (json.dumps(trade), json.dumps(ticker), json.dumps(delta)):
        feed.on_message(frame, 5, out)
    for name in (
        "docs/ws_connect__How_to_Send_the_Heartbeat_Packet_future_4.json",
        "docs/ws_connect__Understanding_the_Subscription_Response_public_fut_11.json",
    ):
        feed.on_message(fixture_file("bybit", name).read_text(), 5, out)
    rows = out.view()[n:]
    kinds = [EventKind(k) for k in rows["kind"]]
    assert kinds == [
        EventKind.TRADE_BUY,
        EventKind.BBO_BID,
        EventKind.BBO_ASK,
        EventKind.MARK_PRICE,
        EventKind.FUNDING_RATE,
        EventKind.BBO_BID,
        EventKind.BBO_ASK,
    ]
    assert rows[0]["price_tick"] == 19537
    assert rows[0]["qty_lot"] == 120
    assert rows[3]["price_tick"] == 19537  # 1.95372 rounded to the tick
    assert rows[4]["aux"] == 100_000
    assert rows[6]["qty_lot"] == 700
    assert rows[6]["price_tick"] == 19538
    assert feed.stats.malformed == 0


def test_other_venues_frames_in_the_tardis_sample_are_not_malformed() -> None:
    feed, _qty, _state, out = make_feed()
    for line in (
        fixture_file("bybit", "tardis_trimmed_v5_linear_ws_messages.ndjson")
        .read_text()
        .splitlines()
    ):
        feed.on_message(line, 1, out)
    assert feed.stats.malformed == 0


def test_bad_level_after_the_snapshot_is_malformed_and_resubscribes() -> None:
    feed, _qty, state, out = make_feed()
    frames = by.book_frames()
    feed.on_message(frames[0], 1, out)
    delta = json.loads(frames[1])
    delta["data"]["b"] = [["x", "1"]]
    feed.on_message(json.dumps(delta), 2, out)
    assert feed.stats.malformed == 1
    assert state[0, ST_VALID] == 0
    assert len(feed.take_outgoing()) == 2


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "}",
        '{"topic":"orderbook.500.XRPUSDT","type":"delta","data":{"s":"XRPUSDT","b":[["1.95',
        '{"topic":"publicTrade.XRPUSDT","data":[{"T":1,"s":"XRPUSDT","S":"Up","v":"1","p":"1"}]}',
    ],
)
def test_garbage_is_counted(frame: str) -> None:
    feed, _qty, _state, out = make_feed()
    feed.on_message(frame, 1, out)
    assert feed.stats.malformed == 1


@pytest.mark.parametrize(
    ("depth", "topic", "symbol", "counted"),
    [
        (50, "orderbook.500.XRPUSDT", "XRPUSDT", "unsubscribed_topic"),  # another depth
        (500, "orderbook.50.XRPUSDT", "XRPUSDT", "unsubscribed_topic"),
        (500, "orderbook.500.XRPUSDTX", "XRPUSDT", "unsubscribed_topic"),  # a longer symbol
        (500, "orderbook.500", "XRPUSDT", "unsubscribed_topic"),
        (500, "orderbook.500.XRPUSDT", "BTCUSDT", "unknown_symbol"),  # data.s is not the topic's
    ],
)
def test_only_the_subscribed_topic_reaches_the_book(
    depth: int, topic: str, symbol: str, counted: str
) -> None:
    """A 500-level snapshot is not the 50-level book the feed subscribed to: not applied."""
    feed, _qty, state, out = make_feed(depth=depth)
    msg = json.loads(by.book_frames()[0])
    msg["topic"], msg["data"]["s"] = topic, symbol
    rows_before = out.n
    feed.on_message(json.dumps(msg), 1, out)
    assert out.n == rows_before
    assert state[0, ST_VALID] == 0
    assert feed.stats.by_reason.get(counted) == 1
    feed.on_message(
        by.book_frames()[0].replace(by.BOOK_TOPIC, f"orderbook.{depth}.XRPUSDT"), 2, out
    )
    assert state[0, ST_VALID] == 1  # the subscribed topic is taken
