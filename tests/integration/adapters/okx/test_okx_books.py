"""OKX books: the real 2022 capture rebuilds the expected book with every checksum verified, and
every injected fault ends in invalidation, a resubscribe request and moving counters."""

from __future__ import annotations

import json
import logging

import orjson
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.okx import OkxFeed
from bot.core.book import ST_VALID, new_books
from bot.core.dtypes import EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import (
    assert_valid_books_uncrossed,
    book_of,
    inject,
    invalid_rows,
    lines,
    load_json,
    run,
)

SPEC = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")
CAPTURE = "ws_books_BTC-USDT.ndjson"


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.CRITICAL)


def make_feed(**kwargs) -> OkxFeed:
    qty, state = new_books(1)
    feed = OkxFeed([InstrumentRef.of(0, SPEC)], qty, state, **kwargs)
    feed.on_connect(0, EventBuffer())
    return feed


def with_seq(frames: list[str], start: int = 1000, step: int = 7) -> list[str]:
    """Add seqId/prevSeqId as OKX sends them today (the 2022 capture predates them)."""
    out, seq = [], start
    for frame in frames:
        msg = json.loads(frame)
        data = msg["data"][0]
        if msg["action"] == "snapshot":
            data["prevSeqId"], data["seqId"] = -1, seq
        else:
            data["prevSeqId"], data["seqId"] = seq, seq + step
            seq += step
        out.append(json.dumps(msg, separators=(",", ":")))
    return out


def expected():
    return load_json("okx", "book_sequences_expected.json")["results"][CAPTURE]


def assert_expected_book(feed: OkxFeed) -> None:
    exp = expected()
    book = book_of(feed)
    (bid_px, bid_sz), (ask_px, ask_sz) = exp["best_bid"], exp["best_ask"]
    assert book.levels(0, 1) == [(SPEC.tick.to_units(bid_px), SPEC.lot.to_units(bid_sz))]
    assert book.levels(1, 1) == [(SPEC.tick.to_units(ask_px), SPEC.lot.to_units(ask_sz))]
    assert [book.counters()["bid_levels"], book.counters()["ask_levels"]] == exp["levels"]
    assert feed.state[0, ST_VALID] == 1


def test_capture_rebuilds_expected_book_with_every_checksum_verified():
    frames = lines("okx", CAPTURE)
    assert all(json.loads(f)["data"][0]["checksum"] != 0 for f in frames)  # all are checked
    feed = make_feed()
    out = EventBuffer()
    for k, frame in enumerate(frames):
        feed.on_message(frame, k, out)
        assert feed.state[0, ST_VALID] == 1, f"message {k} failed verification"
    assert feed.stats.messages == expected()["messages"]
    assert feed.stats.checksum_failures == 0
    assert feed.stats.malformed == 0
    assert invalid_rows(out) == 0
    assert_expected_book(feed)
    rows = out.view()
    assert rows[0]["kind"] == EventKind.BOOK_CLEAR
    assert rows[0]["flags"] & EventFlag.SNAPSHOT
    assert int(rows["flags"][-1]) & EventFlag.BATCH_END


def test_checksum_catches_one_changed_size():
    frames = lines("okx", CAPTURE)
    msg = json.loads(frames[5])
    level = msg["data"][0]["bids"][0]
    level[1] = str(SPEC.lot.to_decimal(SPEC.lot.to_units(level[1]) + 1))
    frames[5] = json.dumps(msg)
    feed = make_feed()
    out = run(feed, frames[:6])
    assert feed.stats.checksum_failures == 1
    assert feed.state[0, ST_VALID] == 0
    assert invalid_rows(out) == 1
    assert feed.invalid_instruments() == [0]


def test_seq_ids_pass_and_final_book_matches():
    feed = make_feed()
    run(feed, with_seq(lines("okx", CAPTURE)))
    assert feed.stats.gaps == 0
    assert_expected_book(feed)


def _fault(frames: list[str], fault: str) -> list[str]:
    k = 40
    if fault != "bad_checksum":
        return inject(frames, fault, k)
    msg = json.loads(frames[k])
    msg["data"][0]["checksum"] ^= 0x5A5A
    return [*frames[:k], json.dumps(msg), *frames[k + 1 :]]


# Without seqId a repeated absolute-size update is harmless (and undetectable): not a fault.
FAULTS = [
    *[(f, True) for f in ("drop", "duplicate", "out_of_order", "bad_checksum")],
    *[(f, False) for f in ("drop", "out_of_order", "bad_checksum")],
]


@pytest.mark.parametrize(("fault", "seq"), FAULTS)
def test_fault_invalidates_resubscribes_and_recovers(fault, seq):
    base = lines("okx", CAPTURE)
    frames = with_seq(base) if seq else base
    feed = make_feed()
    out = run(feed, _fault(frames, fault))
    stats = feed.stats
    assert stats.resyncs == 1
    assert invalid_rows(out) == 1
    assert stats.gaps + stats.checksum_failures >= 1
    assert stats.dropped_stale > 0  # updates after the fault wait for the new snapshot
    assert feed.invalid_instruments() == [0]
    resubscribe = [orjson.loads(f) for f in feed.take_outgoing()]
    assert [f["op"] for f in resubscribe] == ["unsubscribe", "subscribe"]
    assert resubscribe[1]["args"] == [{"channel": "books", "instId": "BTC-USDT"}]
    assert not feed.take_outgoing()
    # OKX answers the resubscribe with a fresh snapshot: replaying the stream heals the book.
    run(feed, frames, out)
    assert_expected_book(feed)
    assert feed.invalid_instruments() == []


def test_gap_logs_both_sequence_numbers(caplog):
    caplog.set_level(logging.WARNING, logger="bot.adapters")
    frames = _fault(with_seq(lines("okx", CAPTURE)), "drop")
    run(make_feed(), frames)
    gap = [r for r in caplog.records if "gap" in r.getMessage()]
    assert len(gap) == 1
    assert "1280" in gap[0].getMessage()
    assert "1273" in gap[0].getMessage()


def test_heartbeat_and_sequence_reset_are_accepted():
    frames = with_seq(lines("okx", CAPTURE)[:10])
    last = json.loads(frames[-1])["data"][0]["seqId"]
    heartbeat = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
                 "data": [{"asks": [], "bids": [], "ts": "1652459226000", "checksum": 0,
                           "prevSeqId": last, "seqId": last}]}  # fmt: skip
    reset = json.loads(json.dumps(heartbeat))
    reset["data"][0].update(prevSeqId=last, seqId=3)
    after_reset = json.loads(json.dumps(heartbeat))
    after_reset["data"][0].update(prevSeqId=3, seqId=9)
    feed = make_feed()
    run(feed, [*frames, json.dumps(heartbeat), json.dumps(reset), json.dumps(after_reset)])
    assert feed.stats.gaps == 0
    assert feed.state[0, ST_VALID] == 1
    assert feed.last_seq(0) == 9


def test_crossed_update_invalidates():
    frames = lines("okx", CAPTURE)[:3]
    best_ask = json.loads(frames[0])["data"][0]["asks"][0][0]
    crossing = {"arg": {"channel": "books", "instId": "BTC-USDT"}, "action": "update",
                "data": [{"asks": [], "bids": [[best_ask, "5", "0", "1"]], "ts": "1652459226000",
                          "checksum": 0}]}  # fmt: skip
    feed = make_feed()
    out = run(feed, [frames[0], json.dumps(crossing)])
    assert feed.stats.crossed == 1
    assert feed.stats.resyncs == 1
    assert feed.state[0, ST_VALID] == 0
    assert invalid_rows(out) == 1
    assert_valid_books_uncrossed(feed.state)


def test_garbage_and_bad_levels_are_counted():
    frames = lines("okx", CAPTURE)
    bad = json.loads(frames[1])
    bad["data"][0]["bids"][0][0] = "30236.15"  # off the 0.1 grid
    feed = make_feed()
    out = run(feed, [frames[0], "{not json", b"\x00\xff", json.dumps(bad)])
    assert feed.stats.malformed == 3
    assert feed.state[0, ST_VALID] == 0
    assert invalid_rows(out) == 1
    assert feed.stats.by_reason["levels_off_grid"] == 1


def test_number_format_change_forces_resync():
    frames = lines("okx", CAPTURE)
    msg = json.loads(frames[1])
    _px, size = msg["data"][0]["bids"][1][:2]
    msg["data"][0]["bids"][1][1] = size + "0" if "." in size else size + ".0"  # "0.50"-style
    feed = make_feed()
    run(feed, [frames[0], json.dumps(msg)])
    assert feed.stats.by_reason.get("checksum_format") == 1
    assert feed.state[0, ST_VALID] == 0


def test_zero_checksum_is_not_verified():
    frames = []
    for frame in lines("okx", CAPTURE):
        msg = json.loads(frame)
        msg["data"][0]["checksum"] = 0
        frames.append(json.dumps(msg))
    feed = make_feed()
    run(feed, frames)
    assert feed.stats.checksum_failures == 0
    assert_expected_book(feed)


def test_updates_before_snapshot_are_dropped_and_reconnect_resets():
    frames = lines("okx", CAPTURE)
    feed = make_feed()
    out = run(feed, frames[1:4])
    assert feed.stats.dropped_stale == 3
    assert out.n == 0
    run(feed, frames)
    feed.on_connect(5, out)
    assert feed.invalid_instruments() == [0]
    assert feed.state[0, ST_VALID] == 0
    assert not feed.take_outgoing()  # the new connection's subscribe brings snapshots


def test_unanswered_resync_is_requested_again():
    frames = with_seq(lines("okx", CAPTURE))
    feed = make_feed()
    out = EventBuffer()
    faulty = _fault(frames, "drop")
    for k, frame in enumerate(faulty[:45]):
        feed.on_message(frame, k, out)
    assert feed.stats.resyncs == 1
    assert len(feed.take_outgoing()) == 2
    feed.on_message(faulty[45], 5_000_000_000, out)  # 5 s later: still waiting
    assert not feed.take_outgoing()
    feed.on_message(faulty[46], 11_000_000_000, out)  # the request was lost: ask again
    assert feed.stats.resyncs == 2
    assert [orjson.loads(f)["op"] for f in feed.take_outgoing()] == ["unsubscribe", "subscribe"]
