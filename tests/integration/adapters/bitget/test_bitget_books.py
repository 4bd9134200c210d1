"""Bitget books: the real capture (v1 mix frames, same books payload and checksum as v2) rebuilds
the expected book with every checksum verified; faults invalidate, resubscribe and recover."""

from __future__ import annotations

import json
import logging

import orjson
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bitget import BitgetFeed
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

SPEC = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
CAPTURE = "legacy_v1mix_ws_books_UNIUSDT.ndjson"


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.CRITICAL)


def make_feed() -> BitgetFeed:
    qty, state = new_books(1)
    feed = BitgetFeed([InstrumentRef.of(0, SPEC)], qty, state)
    feed.on_connect(0, EventBuffer())
    return feed


def with_seq(frames: list[str], pseq: bool) -> list[str]:
    """Number the frames with ``seq`` (and ``pseq``, as Bitget v3 does)."""
    out = []
    for k, frame in enumerate(frames):
        msg = json.loads(frame)
        msg["data"][0]["seq"] = 500 + 3 * k
        if pseq and k:
            msg["data"][0]["pseq"] = 500 + 3 * (k - 1)
        out.append(json.dumps(msg, separators=(",", ":")))
    return out


def assert_expected_book(feed: BitgetFeed) -> None:
    exp = load_json("bitget", "book_sequences_expected.json")["results"][CAPTURE]
    book = book_of(feed)
    (bid_px, bid_sz), (ask_px, ask_sz) = exp["best_bid"], exp["best_ask"]
    assert book.levels(0, 1) == [(SPEC.tick.to_units(bid_px), SPEC.lot.to_units(bid_sz))]
    assert book.levels(1, 1) == [(SPEC.tick.to_units(ask_px), SPEC.lot.to_units(ask_sz))]
    assert [book.counters()["bid_levels"], book.counters()["ask_levels"]] == exp["levels"]
    assert feed.state[0, ST_VALID] == 1


def test_capture_rebuilds_expected_book_with_every_checksum_verified():
    frames = lines("bitget", CAPTURE)
    assert all(json.loads(f)["data"][0]["checksum"] != 0 for f in frames)
    feed = make_feed()
    out = EventBuffer()
    for k, frame in enumerate(frames):
        feed.on_message(frame, k, out)
        assert feed.state[0, ST_VALID] == 1, f"message {k} failed verification"
    assert feed.stats.messages == 96
    assert feed.stats.checksum_failures == 0
    assert invalid_rows(out) == 0
    assert_expected_book(feed)


@pytest.mark.parametrize("pseq", [True, False], ids=["seq+pseq", "seq"])
def test_sequence_numbers_pass(pseq):
    feed = make_feed()
    run(feed, with_seq(lines("bitget", CAPTURE), pseq))
    assert feed.stats.gaps == 0
    assert_expected_book(feed)


FAULTS = [
    ("drop", "seq+pseq"),
    ("duplicate", "seq+pseq"),
    ("out_of_order", "seq+pseq"),
    ("duplicate", "seq"),
    ("out_of_order", "seq"),
    ("drop", "none"),
    ("out_of_order", "none"),
    ("bad_checksum", "none"),
]


@pytest.mark.parametrize(("fault", "numbering"), FAULTS)
def test_fault_invalidates_resubscribes_and_recovers(fault, numbering):
    base = lines("bitget", CAPTURE)
    frames = base if numbering == "none" else with_seq(base, numbering == "seq+pseq")
    k = 30
    if fault == "bad_checksum":
        msg = json.loads(frames[k])
        msg["data"][0]["checksum"] += 1
        faulty = [*frames[:k], json.dumps(msg), *frames[k + 1 :]]
    else:
        faulty = inject(frames, fault, k)
    feed = make_feed()
    out = run(feed, faulty)
    assert feed.stats.resyncs == 1
    assert invalid_rows(out) == 1
    assert feed.stats.gaps + feed.stats.checksum_failures == 1
    assert feed.invalid_instruments() == [0]
    frames_out = [orjson.loads(f) for f in feed.take_outgoing()]
    assert [f["op"] for f in frames_out] == ["unsubscribe", "subscribe"]
    assert frames_out[1]["args"] == [
        {"instType": "USDT-FUTURES", "channel": "books", "instId": "UNIUSDT"}
    ]
    run(feed, frames, out)  # the venue's fresh snapshot and the stream after it
    assert_expected_book(feed)


def test_crossed_snapshot_push_invalidates():
    frame = {"action": "update", "arg": {"instType": "USDT-FUTURES", "channel": "books",
             "instId": "UNIUSDT"}, "data": [{"asks": [["9.960", "5"]], "bids": [],
             "checksum": 0, "ts": "1649290078916"}]}  # fmt: skip
    feed = make_feed()
    out = run(feed, [lines("bitget", CAPTURE)[0], json.dumps(frame)])
    assert feed.stats.crossed == 1
    assert feed.state[0, ST_VALID] == 0
    assert invalid_rows(out) == 1


def test_books5_snapshots_have_no_checksum_and_replace_the_book():
    spec = InstrumentSpec(venue="bitget", symbol="BTCUSDT", tick_size="0.5", lot_size="0.001")
    qty, state = new_books(1)
    feed = BitgetFeed([InstrumentRef.of(0, spec)], qty, state, channels=("books5",))
    frame = load_json("bitget", "docs_ws_OrderBook_push.json")
    run(feed, [json.dumps(frame), json.dumps(frame)])
    book = book_of(feed)
    assert book.levels(0, 2) == [(54000, 2710), (53999, 1460)]
    assert book.levels(1, 2) == [(54001, 8760), (54002, 400)]
    assert feed.invalid_instruments() == []
