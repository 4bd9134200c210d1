"""BingX: gzip framing, Ping/Pong, depthN snapshots, incrDepth sequencing, streams, contracts."""

from __future__ import annotations

import gzip
import logging

import orjson
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef, gunzip_frame
from bot.adapters.bingx import BingxFeed
from bot.adapters.bingx.parse import parse_bingx_contracts
from bot.core.book import ST_VALID, new_books
from bot.core.dtypes import EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import book_of, invalid_rows, load_json, run
from tests.support.shared import fixture_file

ETH = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
BTC = InstrumentSpec(venue="bingx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.0001")


@pytest.fixture(autouse=True)
def _quiet(caplog):
    caplog.set_level(logging.CRITICAL)


def gz(name: str) -> bytes:
    """A fixture frame compressed as BingX sends it."""
    return gzip.compress(fixture_file("bingx", name).read_bytes())


def make_feed(spec: InstrumentSpec = ETH, **kwargs) -> BingxFeed:
    qty, state = new_books(1)
    feed = BingxFeed([InstrumentRef.of(0, spec)], qty, state, **kwargs)
    feed.on_connect(0, EventBuffer())
    return feed


def test_gzip_partial_book_replaces_the_book():
    feed = make_feed(streams=("depth20@100ms",))
    raw = load_json("bingx", "ws_PartialBook_push.json")["data"]
    run(feed, [gz("ws_PartialBook_push.json"), gz("ws_PartialBook_push.json")])
    book = book_of(feed)
    assert book.levels(0, 1) == [(299064, 1413)]
    assert book.levels(1, 1) == [(299071, 1526)]  # asks arrive sorted descending
    assert book.counters()["bid_levels"] == len(raw["bids"]) == 20
    assert book.counters()["ask_levels"] == len(raw["asks"]) == 20
    assert feed.invalid_instruments() == []


def test_ping_is_answered_with_pong():
    feed = make_feed()
    out = run(feed, [gzip.compress(b"Ping"), gzip.compress(b'{"ping":"17"}')])
    assert feed.take_outgoing() == ["Pong", "Pong"]
    assert out.n == 0
    assert feed.policy.keepalive.interval_s is None  # the server pings; we only answer
    assert feed.policy.gzip_frames
    assert feed.policy.rest_base_url == "https://open-api.bingx.com"


def test_streams_on_real_frames():
    feed = make_feed()
    names = ("ws_Trades_push.json", "ws_BookPrice_push.json", "ws_MarkPrice_push.json")
    rows = run(feed, [gz(n) for n in names]).view()
    trades = load_json("bingx", "ws_Trades_push.json")["data"]
    kinds = [EventKind(int(k)) for k in rows["kind"]]
    assert kinds[: len(trades)] == [
        EventKind.TRADE_SELL if t["m"] else EventKind.TRADE_BUY for t in trades
    ]
    assert (rows[0]["price_tick"], rows[0]["qty_lot"]) == (298348, 192)
    assert rows[0]["ts_exch_ns"] == 1714650253104 * 1_000_000
    assert kinds[len(trades) :] == [EventKind.BBO_BID, EventKind.BBO_ASK, EventKind.MARK_PRICE]
    assert (rows[-3]["price_tick"], rows[-3]["qty_lot"]) == (299359, 1324)
    assert rows[-1]["price_tick"] == 299963
    assert feed.stats.malformed == 0


def _incr(action: str, update_id: int, bids, asks) -> bytes:
    data = {"action": action, "lastUpdateId": update_id, "time": 1760002514979,
            "bids": bids, "asks": asks}  # fmt: skip
    return gzip.compress(orjson.dumps({"code": 0, "dataType": "BTC-USDT@incrDepth", "data": data}))


def _docs_update() -> dict:
    return load_json("bingx", "docs_current_ws_incrDepth_update_example.json")["data"]


def _snapshot_for_docs_update() -> bytes:
    """A full depth that the documented update applies to (the update's deletes are present)."""
    upd = _docs_update()
    bids = [[p, "1.0000"] for p, _ in upd["bids"]] + [["121600.0", "2.0000"]]
    asks = [[p, "1.0000"] for p, _ in upd["asks"]] + [["121800.0", "2.0000"]]
    return _incr("all", upd["lastUpdateId"] - 1, bids, asks)


def test_incremental_depth_applies_the_documented_update():
    feed = make_feed(BTC)
    upd = _docs_update()
    run(feed, [_snapshot_for_docs_update(), gz("docs_current_ws_incrDepth_update_example.json")])
    book = book_of(feed)
    assert feed.last_seq(0) == upd["lastUpdateId"]
    deleted = sum(1 for _, q in upd["bids"] if float(q) == 0)
    assert book.counters()["bid_levels"] == len(upd["bids"]) - deleted + 1
    assert book.levels(0, 1) == [(1217066, 168741)]
    assert book.levels(1, 1) == [(1217068, 47697)]
    assert feed.state[0, ST_VALID] == 1


@pytest.mark.parametrize("next_id", [2, 0, -5], ids=["skipped", "repeated", "older"])
def test_incremental_depth_gap_resubscribes(next_id):
    feed = make_feed(BTC)
    upd = _docs_update()
    wrong = _incr("update", upd["lastUpdateId"] + next_id, [["121700.0", "1.0000"]], [])
    out = run(
        feed,
        [_snapshot_for_docs_update(), gz("docs_current_ws_incrDepth_update_example.json"), wrong],
    )
    assert feed.stats.gaps == 1
    assert invalid_rows(out) == 1
    frames = [orjson.loads(f) for f in feed.take_outgoing()]
    assert [(f["reqType"], f["dataType"]) for f in frames] == [
        ("unsub", "BTC-USDT@incrDepth"), ("sub", "BTC-USDT@incrDepth"),
    ]  # fmt: skip
    run(feed, [_snapshot_for_docs_update()])  # the resubscription starts with action "all"
    assert feed.invalid_instruments() == []


def test_crossed_partial_book_invalidates_without_resubscribe():
    feed = make_feed(streams=("depth5",))
    crossed = {"code": 0, "dataType": "ETH-USDT@depth5", "ts": 1714650397486,
               "data": {"bids": [["3000.00", "1.00"]], "asks": [["2999.00", "1.00"]]}}  # fmt: skip
    out = run(feed, [gzip.compress(orjson.dumps(crossed)), gz("ws_PartialBook_push.json")])
    assert feed.stats.crossed == 1
    assert invalid_rows(out) == 1
    assert not feed.take_outgoing()  # the next snapshot push heals it
    assert feed.invalid_instruments() == []


def test_bad_gzip_and_errors_are_counted():
    feed = make_feed()
    truncated = gz("ws_Trades_push.json")[:-9]
    error = gzip.compress(b'{"id":"tickbot-1","code":80015,"msg":"dataType not supported"}')
    run(feed, [b"\x1f\x8b garbage", truncated, error, gzip.compress(b'{"id":"x","code":0}')])
    assert feed.stats.malformed == 2
    assert feed.stats.by_reason["venue_error"] == 1


def test_gzip_bomb_is_refused():
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]")
    with pytest.raises(ValueError, match="oversized"):
        gunzip_frame(bomb)


def test_subscribe_frames():
    feed = make_feed()
    frames = [orjson.loads(f) for f in feed.subscribe_messages()]
    assert [f["dataType"] for f in frames] == [
        "ETH-USDT@incrDepth", "ETH-USDT@trade", "ETH-USDT@bookTicker", "ETH-USDT@markPrice",
    ]  # fmt: skip
    assert len({f["id"] for f in frames}) == 4
    with pytest.raises(ValueError, match="at most one depth"):
        make_feed(streams=("incrDepth", "depth20"))


def test_contracts_docs_sample():
    specs = parse_bingx_contracts(fixture_file("bingx", "rest_contracts.json").read_bytes())
    btc, eth = specs
    assert (btc.symbol, btc.tick_size, btc.lot_size, btc.min_qty) == (
        "BTC-USDT",
        "0.1",
        "0.0001",
        "0.0001",
    )
    assert (eth.tick_size, eth.lot_size, eth.min_notional) == ("0.01", "0.01", "2")
    assert (btc.maker_fee_rate, btc.taker_fee_rate) == ("0.0002", "0.0005")


def test_gunzip_frame_accepts_up_to_its_limit_and_names_the_failure():
    payload = b'{"ping":"x"}' * 100
    assert gunzip_frame(gzip.compress(payload), limit=len(payload)) == payload
    with pytest.raises(ValueError, match="oversized"):
        gunzip_frame(gzip.compress(payload), limit=len(payload) - 1)
    with pytest.raises(ValueError, match="not a gzip frame"):
        gunzip_frame(b"\x1f\x8b\x08 not really gzip")
