"""BitMEX orderBookL2: the real 2021 capture rebuilds the expected XBTUSD book (prices carried
from inserts), and lost, repeated or reordered messages are caught through the id map."""

from __future__ import annotations

import json
import logging

import orjson
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.wire import idmap
from bot.adapters.wire.scalars import iso_to_ns
from bot.core.book import ST_VALID, new_books
from bot.core.dtypes import EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import (
    book_of,
    inject,
    invalid_rows,
    lines,
    load_json,
    run,
)

# The 2021 contract: tick 0.5, lot 100 (today's REST spec says tick 0.1; see test_bitmex_streams).
SPEC = InstrumentSpec(
    venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100", inverse=True
)
CAPTURE = "ws_orderBookL2_XBTUSD.ndjson"
WINDOW = 1 << 22  # the capture's partial spans 0.5 .. 1,000,000 USD: 2M ticks


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.CRITICAL)


@pytest.fixture(scope="module")
def frames() -> list[str]:
    return lines("bitmex", CAPTURE)


def make_feed() -> BitmexFeed:
    qty, state = new_books(1, window=WINDOW)
    feed = BitmexFeed([InstrumentRef.of(0, SPEC)], qty, state)
    feed.on_connect(0, EventBuffer())
    return feed


def assert_expected_book(feed: BitmexFeed) -> None:
    exp = load_json("bitmex", "book_sequences_expected.json")["per_symbol"]["XBTUSD"]
    book = book_of(feed)
    bid_px, bid_sz = exp["final_best_bid"]
    ask_px, ask_sz = exp["final_best_ask"]
    assert book.levels(0, 1) == [(SPEC.tick.to_units(str(bid_px)), bid_sz // 100)]
    assert book.levels(1, 1) == [(SPEC.tick.to_units(str(ask_px)), ask_sz // 100)]
    assert [book.counters()["bid_levels"], book.counters()["ask_levels"]] == exp["levels"]
    assert book.counters()["dropped_levels"] == 0
    assert feed.state[0, ST_VALID] == 1


def test_capture_rebuilds_expected_book(frames):
    feed = make_feed()
    out = run(feed, frames)
    assert feed.stats.malformed == 0
    assert feed.stats.gaps == 0
    assert invalid_rows(out) == 0
    assert_expected_book(feed)
    actions = [json.loads(f)["action"] for f in frames]
    assert actions.count("partial") == 1


def _first_index(frames, action, predicate=lambda row: True, start=1):
    for k in range(start, len(frames)):
        msg = json.loads(frames[k])
        if msg["action"] == action and any(predicate(r) for r in msg["data"]):
            return k
    raise AssertionError(action)


def _insert_later_touched(frames):
    """Index of an insert whose id a later update or delete refers to."""
    for k in range(1, len(frames)):
        msg = json.loads(frames[k])
        if msg["action"] != "insert":
            continue
        ids = {r["id"] for r in msg["data"]}
        for later in frames[k + 1 :]:
            m = json.loads(later)
            if m["action"] in ("update", "delete") and ids & {r["id"] for r in m["data"]}:
                return k
    raise AssertionError("no insert is touched later")


@pytest.mark.parametrize("fault", ["drop_insert", "duplicate_insert", "duplicate_delete",
                                   "out_of_order"])  # fmt: skip
def test_fault_invalidates_resubscribes_and_recovers(frames, fault):
    if fault == "drop_insert":
        faulty = inject(frames, "drop", _insert_later_touched(frames))
    elif fault == "duplicate_insert":
        faulty = inject(frames, "duplicate", _first_index(frames, "insert"))
    elif fault == "duplicate_delete":
        faulty = inject(frames, "duplicate", _first_index(frames, "delete"))
    else:  # a delete overtaken by a later insert of the same id, or an update by its insert
        k = _insert_later_touched(frames)
        ids = {r["id"] for r in json.loads(frames[k])["data"]}
        j = next(j for j in range(k + 1, len(frames))
                 if ids & {r["id"] for r in json.loads(frames[j])["data"]})  # fmt: skip
        faulty = [*frames[:k], frames[j], *frames[k:j], *frames[j + 1 :]]
    feed = make_feed()
    out = run(feed, faulty)
    assert feed.stats.gaps == 1
    assert feed.stats.resyncs == 1
    assert invalid_rows(out) == 1
    assert feed.stats.dropped_stale > 0
    assert [orjson.loads(f) for f in feed.take_outgoing()] == [
        {"op": "unsubscribe", "args": ["orderBookL2:XBTUSD"]},
        {"op": "subscribe", "args": ["orderBookL2:XBTUSD"]},
    ]
    run(feed, frames, out)  # BitMEX answers with a new partial
    assert_expected_book(feed)


def test_crossed_insert_invalidates(frames):
    crossing = {"table": "orderBookL2", "action": "insert", "data": [
        {"symbol": "XBTUSD", "id": 1, "side": "Buy", "size": 100, "price": 40000}]}  # fmt: skip
    feed = make_feed()
    out = run(feed, [*frames[:50], json.dumps(crossing)])
    assert feed.stats.crossed == 1
    assert feed.state[0, ST_VALID] == 0
    assert invalid_rows(out) == 1


def test_garbage_frame_resyncs_every_synced_book(frames):
    feed = make_feed()
    out = run(feed, [*frames[:20], '{"table":"orderBookL2","action":"upd', *frames[20:30]])
    assert feed.stats.malformed == 1
    assert feed.stats.resyncs == 1
    assert invalid_rows(out) == 1
    assert feed.stats.dropped_stale == 10


def test_off_grid_price_is_malformed_and_invalidates(frames):
    bad = {"table": "orderBookL2", "action": "insert", "data": [
        {"symbol": "XBTUSD", "id": 7, "side": "Sell", "size": 100, "price": 50000.25}]}  # fmt: skip
    feed = make_feed()
    out = run(feed, [frames[0], json.dumps(bad)])
    assert feed.stats.malformed == 1
    assert invalid_rows(out) == 1


def test_rows_of_other_symbols_are_ignored_and_partial_filter_resets(frames):
    other = {"table": "orderBookL2", "action": "update", "data": [
        {"symbol": "ETHUSD", "id": 5, "side": "Buy", "size": 10}]}  # fmt: skip
    empty_partial = {"table": "orderBookL2", "action": "partial", "filter": {"symbol": "XBTUSD"},
                     "data": []}  # fmt: skip
    feed = make_feed()
    run(feed, [*frames[:10], json.dumps(other)])
    assert feed.state[0, ST_VALID] == 1
    run(feed, [json.dumps(empty_partial)])
    book = book_of(feed)
    assert book.best_bid_tick() is None
    assert book.best_ask_tick() is None
    assert feed.invalid_instruments() == []


ETH = InstrumentSpec(venue="bitmex", symbol="ETHUSD", tick_size="0.05", lot_size="1")


def _l2(action: str, *rows: dict, **extra: object) -> str:
    return json.dumps({"table": "orderBookL2", "action": action, **extra, "data": list(rows)})


def _two_books() -> BitmexFeed:
    qty, state = new_books(2)
    refs = [InstrumentRef.of(0, ETH), InstrumentRef.of(1, InstrumentSpec(
        venue="bitmex", symbol="SOLUSD", tick_size="0.01", lot_size="1"))]  # fmt: skip
    feed = BitmexFeed(refs, qty, state, tables=("orderBookL2",))
    feed.on_connect(0, EventBuffer())
    for sym, px in (("ETHUSD", "2000"), ("SOLUSD", "100")):
        run(feed, [_l2("partial", {"symbol": sym, "id": 1, "side": "Buy", "size": 5, "price": px},
                       {"symbol": sym, "id": 2, "side": "Sell", "size": 5, "price": px + ".5"},
                       filter={"symbol": sym})])  # fmt: skip
    feed.take_outgoing()
    return feed


def test_one_frame_two_symbols_only_the_broken_book_resyncs():
    feed = _two_books()
    out = run(feed, [_l2("update", {"symbol": "ETHUSD", "id": 1, "side": "Buy", "size": 7},
                         {"symbol": "SOLUSD", "id": 99, "side": "Buy", "size": 7},
                         {"symbol": "ETHUSD", "id": 2, "side": "Sell", "size": 8})])  # fmt: skip
    rows = out.view()
    eth = rows[rows["instrument"] == 0]
    assert eth["qty_lot"].tolist() == [7, 8]
    assert eth["aux"].tolist() == [1, 2]
    assert (eth["flags"] & EventFlag.BATCH_END).tolist() == [0, EventFlag.BATCH_END]
    assert rows[rows["instrument"] == 1]["kind"].tolist() == [EventKind.BOOK_INVALID]
    assert feed.stats.gaps == 1
    assert feed.invalid_instruments() == [1]
    assert [orjson.loads(f)["args"] for f in feed.take_outgoing()] == [["orderBookL2:SOLUSD"]] * 2


def test_row_times_and_frames_only_the_strict_decoder_reads():
    feed = _two_books()
    stamp = "2024-05-01T12:00:00.123Z"
    out = run(feed, [
        _l2("insert", {"symbol": "ETHUSD", "id": 3, "side": "Buy", "size": 2, "price": 1999.95,
                       "timestamp": stamp}),
        # an escaped symbol: the scanner refuses it, the strict decoder reads it
        _l2("update", {"symbol": "ETHUSD", "id": 3, "side": "Buy", "size": 4}).replace(
            "ETHUSD", "ETH\\u0055SD"),
        # an offset the kernel does not read is normalised by the slow path
        '{"table":"orderBookL2","action":"update","data":[{"symbol":"ETH\\u0055SD","id":3,'
        '"side":"Buy","size":6,"timestamp":"2024-05-01T14:00:00.5+02:00"}]}',
    ])  # fmt: skip
    rows = out.view()
    assert rows["price_tick"].tolist() == [39_999] * 3
    assert rows["qty_lot"].tolist() == [2, 4, 6]
    assert rows["ts_exch_ns"].tolist() == [iso_to_ns(stamp), 0, iso_to_ns("2024-05-01T12:00:00.5Z")]
    assert feed.stats.malformed == 0
    assert feed.invalid_instruments() == []


def test_id_map_full_grows_and_resyncs():
    qty, state = new_books(1)
    feed = BitmexFeed([InstrumentRef.of(0, ETH)], qty, state, tables=("orderBookL2",))
    feed.ids = idmap.new_idmap(1, 8)  # 4 ids a side at most
    feed.on_connect(0, EventBuffer())
    bids = [{"symbol": "ETHUSD", "id": k, "side": "Buy", "size": 1, "price": 1000 + k}
            for k in range(5)]  # fmt: skip
    run(feed, [_l2("partial", *bids, filter={"symbol": "ETHUSD"})])
    assert feed.invalid_instruments() == [0]
    assert feed.ids.shape[2] == 16
    run(feed, [_l2("partial", *bids, filter={"symbol": "ETHUSD"})])
    assert feed.invalid_instruments() == []
    assert book_of(feed).counters()["bid_levels"] == 5
