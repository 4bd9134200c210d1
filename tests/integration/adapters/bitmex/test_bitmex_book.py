"""BitMEX orderBookL2: the real 2021 capture rebuilds the expected XBTUSD book (prices carried
from inserts), and lost, repeated or reordered messages are caught through the id map."""

from __future__ import annotations

import json
import logging

import orjson
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bitmex import BitmexFeed
from bot.core.book import ST_VALID, new_books
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
