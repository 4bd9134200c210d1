"""Bitget v2 trades, ticker and contracts on real (tardis-trimmed) and documented frames."""

from __future__ import annotations

import json

import orjson
import pytest

from bot.adapters.base import InstrumentRef
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitget.parse import parse_bitget_contracts
from bot.core.book import new_books
from bot.core.dtypes import EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import lines, load_json, run
from tests.support.shared import fixture_file


def feed_for(*specs: InstrumentSpec) -> BitgetFeed:
    qty, state = new_books(len(specs))
    return BitgetFeed([InstrumentRef.of(i, s) for i, s in enumerate(specs)], qty, state)


def test_docs_trade_and_ticker():
    spec = InstrumentSpec(venue="bitget", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    frames = [json.dumps(load_json("bitget", f)) for f in ("docs_ws_Trade_push.json",
              "docs_ws_Ticker_push.json")]  # fmt: skip
    feed = feed_for(spec)
    rows = run(feed, frames).view()
    assert [EventKind(int(k)) for k in rows["kind"]] == [
        EventKind.TRADE_BUY, EventKind.TRADE_SELL, EventKind.BBO_BID, EventKind.BBO_ASK,
        EventKind.MARK_PRICE, EventKind.FUNDING_RATE,
    ]  # fmt: skip
    assert (rows[0]["price_tick"], rows[0]["qty_lot"], rows[0]["aux"]) == (270005, 1, 1111111111)
    assert (rows[2]["price_tick"], rows[2]["qty_lot"]) == (270000, 2710)
    assert (rows[3]["price_tick"], rows[3]["qty_lot"]) == (270005, 8760)
    assert rows[4]["price_tick"] == 270000
    assert rows[5]["aux"] == 10_000  # "0.000010"
    assert rows[5]["ts_exch_ns"] == 1695715383021 * 1_000_000
    assert feed.stats.malformed == 0


def test_tardis_v2_frames():
    specs = [
        InstrumentSpec(venue="bitget", symbol="LTCUSDT", tick_size="0.01", lot_size="0.1"),
        InstrumentSpec(venue="bitget", symbol="STORJUSDT", tick_size="0.0001", lot_size="0.1"),
        InstrumentSpec(venue="bitget", symbol="AXSUSDT", tick_size="0.001", lot_size="0.1"),
    ]
    feed = feed_for(*specs)
    rows = run(feed, lines("bitget", "tardis_trimmed_v2_futures_ws_messages.ndjson")).view()
    storj = rows[rows["instrument"] == 1]
    assert [EventKind(int(k)) for k in storj["kind"]] == [
        EventKind.BBO_BID, EventKind.BBO_ASK, EventKind.MARK_PRICE, EventKind.FUNDING_RATE,
    ]  # fmt: skip
    assert (storj[0]["price_tick"], storj[0]["qty_lot"]) == (4705, 13673)
    assert storj[3]["aux"] == 100_000
    # AXSUSDT sends an update before any snapshot: dropped, never applied to an unsynced book.
    assert feed.stats.dropped_stale == 1
    assert feed.stats.malformed == 0


def test_contracts_docs_sample():
    (spec,) = parse_bitget_contracts(fixture_file("bitget", "rest_contracts.json").read_bytes())
    assert (spec.symbol, spec.tick_size, spec.lot_size) == ("BTCUSDT", "0.1", "0.01")
    assert (spec.min_qty, spec.min_notional) == ("0.01", "5")
    assert (spec.maker_fee_rate, spec.taker_fee_rate) == ("0.0004", "0.0006")
    step5 = (
        fixture_file("bitget", "rest_contracts.json")
        .read_text()
        .replace('"priceEndStep":"1"', '"priceEndStep":"5"')
    )
    assert parse_bitget_contracts(step5)[0].tick_size == "0.5"
    with pytest.raises(ValueError, match="code 40009"):
        parse_bitget_contracts('{"code":"40009","msg":"sign signature error","data":[]}')


def test_subscribe_frames_keepalive_and_acks():
    spec = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
    feed = feed_for(spec)
    (frame,) = feed.subscribe_messages()
    assert orjson.loads(frame)["args"][0] == {
        "instType": "USDT-FUTURES", "channel": "books", "instId": "UNIUSDT"
    }  # fmt: skip
    assert feed.policy.keepalive.text == "ping"
    # Bitget drops clients that have not pinged for 2 min even while data flows.
    assert not feed.policy.keepalive.only_when_idle
    assert feed.policy.keepalive.interval_s <= 30
    out = run(feed, [*lines("bitget", "legacy_v1mix_ws_subscribe_acks.ndjson"), "pong"])
    assert out.n == 0
    assert feed.stats.malformed == 0
    feed.on_message('{"event":"error","code":30001,"msg":"instType:mc,channel:x doesnt exist"}',
                    0, out)  # fmt: skip
    assert feed.stats.by_reason == {"venue_error": 1}
