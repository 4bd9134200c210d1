"""BitMEX quote, trade, instrument tables and the instrument REST response on real frames."""

from __future__ import annotations

import json

import orjson

from bot.adapters.base import InstrumentRef
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.bitmex.parse import parse_bitmex_instruments
from bot.adapters.wire.scalars import iso_to_ns
from bot.core.book import new_books
from bot.core.dtypes import EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import lines, load_json, run
from tests.support.shared import fixture_file

SPEC = InstrumentSpec(
    venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100", inverse=True
)


def make_feed(spec: InstrumentSpec = SPEC) -> BitmexFeed:
    qty, state = new_books(1)
    return BitmexFeed([InstrumentRef.of(0, spec)], qty, state)


def test_quotes_capture():
    frames = lines("bitmex", "ws_quote_XBTUSD.ndjson")
    rows = run(make_feed(), frames).view()
    quotes = [q for f in frames for q in json.loads(f)["data"]]
    assert len(rows) == 2 * len(quotes)
    assert rows[0]["kind"] == EventKind.BBO_BID
    assert (rows[0]["price_tick"], rows[0]["qty_lot"]) == (64360, 10462)
    assert (rows[1]["price_tick"], rows[1]["qty_lot"]) == (64361, 1610)
    assert rows[0]["ts_exch_ns"] == iso_to_ns("2021-07-22T22:36:09.757Z")


def test_trades_capture():
    frames = lines("bitmex", "ws_trade_XBTUSD.ndjson")
    rows = run(make_feed(), frames).view()
    trades = [t for f in frames for t in json.loads(f)["data"]]
    assert len(rows) == len(trades)
    for row, t in zip(rows, trades, strict=True):
        assert row["kind"] == (EventKind.TRADE_BUY if t["side"] == "Buy" else EventKind.TRADE_SELL)
        assert row["price_tick"] == SPEC.tick.to_units(str(t["price"]))
        assert row["qty_lot"] == t["size"] // 100
        assert row["aux"] == int(t["trdMatchID"].replace("-", "")[:15], 16)


def test_instrument_table_mark_and_funding():
    spec = InstrumentSpec(venue="bitmex", symbol="XBTUSD", tick_size="0.1", lot_size="100")
    row = load_json("bitmex", "ws_instrument_row.json")
    frame = {"table": "instrument", "action": "update", "data": [row]}
    funding = {"table": "instrument", "action": "update",
               "data": [{"symbol": "XBTUSD", "fundingRate": -0.000125,
                         "timestamp": "2024-11-25T12:00:01.000Z"}]}  # fmt: skip
    out = run(make_feed(spec), [json.dumps(frame), json.dumps(funding)])
    rows = out.view()
    assert rows[0]["kind"] == EventKind.MARK_PRICE
    assert rows[0]["price_tick"] == 951257  # 95125.7 on the 0.1 grid, exact
    assert rows[1]["kind"] == EventKind.FUNDING_RATE
    assert rows[1]["aux"] == -125_000
    # On the 2021 0.5 grid the same mark rounds to the nearest tick.
    rows = run(make_feed(), [json.dumps(frame)]).view()
    assert rows[0]["price_tick"] == 190251


def test_welcome_acks_and_errors():
    feed = make_feed()
    error = '{"status":400,"error":"Unknown table: orderBookL3","meta":{},"request":{}}'
    out = run(feed, [*lines("bitmex", "ws_welcome_and_subscribe_acks.ndjson"), "pong", error])
    assert out.n == 0
    assert feed.stats.malformed == 0
    assert feed.stats.by_reason == {"venue_error": 1}


def test_subscribe_frames_and_keepalive():
    feed = make_feed()
    (frame,) = feed.subscribe_messages()
    assert orjson.loads(frame)["args"] == [
        "orderBookL2:XBTUSD", "quote:XBTUSD", "trade:XBTUSD", "instrument:XBTUSD",
    ]  # fmt: skip
    assert feed.policy.keepalive.text == "ping"
    assert feed.ws_urls() == ("wss://ws.bitmex.com/realtime",)


def test_instrument_rest_sample():
    (spec,) = parse_bitmex_instruments(
        fixture_file("bitmex", "rest_instrument_xbtusd.json").read_bytes()
    )
    assert (spec.symbol, spec.tick_size, spec.lot_size) == ("XBTUSD", "0.1", "100")
    assert spec.inverse
    assert spec.contract_multiplier == "1"  # one USD per contract
    assert (spec.maker_fee_rate, spec.taker_fee_rate) == ("0.0005", "0.0005")
    linear = json.loads(fixture_file("bitmex", "rest_instrument_xbtusd.json").read_text())
    linear.update(
        symbol="XBTUSDT", isInverse=False, multiplier=1, underlyingToPositionMultiplier=1000000
    )
    (spec,) = parse_bitmex_instruments(json.dumps([linear]))
    assert spec.contract_multiplier == "0.000001"
    assert not spec.inverse
