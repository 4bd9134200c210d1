"""OKX trades, tickers, bbo-tbt, mark price, funding rate and instruments on real frames."""

from __future__ import annotations

import json

import orjson
import pytest

from bot.adapters.base import InstrumentRef
from bot.adapters.okx import OkxFeed
from bot.adapters.okx.parse import parse_okx_instruments
from bot.core.book import new_books
from bot.core.dtypes import EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from tests.integration.adapters.feed_replay import lines, run
from tests.support.shared import fixture_file

SPOT = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")


def feed_for(*specs: InstrumentSpec, **kwargs) -> OkxFeed:
    qty, state = new_books(len(specs))
    refs = [InstrumentRef.of(i, s) for i, s in enumerate(specs)]
    return OkxFeed(refs, qty, state, **kwargs)


def test_trades_capture_exact():
    frames = lines("okx", "ws_trades_BTC-USDT.ndjson")
    feed = feed_for(SPOT)
    out = run(feed, frames)
    trades = [t for f in frames for t in json.loads(f)["data"]]
    rows = out.view()
    assert len(rows) == len(trades)
    assert feed.stats.malformed == 0
    for row, t in zip(rows, trades, strict=True):
        assert row["price_tick"] == SPOT.tick.to_units(t["px"])
        assert row["qty_lot"] == SPOT.lot.to_units(t["sz"])
        assert row["kind"] == (EventKind.TRADE_BUY if t["side"] == "buy" else EventKind.TRADE_SELL)
        assert row["ts_exch_ns"] == int(t["ts"]) * 1_000_000
        assert row["aux"] == int(t["tradeId"])
        assert row["flags"] & EventFlag.BATCH_END


def test_tickers_capture_give_bbo():
    frames = lines("okx", "ws_tickers_BTC-USDT.ndjson")
    out = run(feed_for(SPOT), frames)
    rows = out.view()
    first = json.loads(frames[0])["data"][0]
    assert len(rows) == 2 * len(frames)
    assert rows[0]["kind"] == EventKind.BBO_BID
    assert rows[1]["kind"] == EventKind.BBO_ASK
    assert rows[0]["price_tick"] == 302286
    assert rows[0]["qty_lot"] == 23393000
    assert rows[1]["price_tick"] == SPOT.tick.to_units(first["askPx"])


def test_tardis_swap_frames():
    specs = [
        InstrumentSpec(venue="okx", symbol="WNCG-USDT-SWAP", tick_size="0.0001", lot_size="1"),
        InstrumentSpec(venue="okx", symbol="BTC-USDT-SWAP", tick_size="0.1", lot_size="1"),
        InstrumentSpec(venue="okx", symbol="SOS-USDT-SWAP", tick_size="0.00000001", lot_size="1"),
    ]
    feed = feed_for(*specs, channels=("tickers", "trades", "bbo-tbt", "mark-price", "funding-rate"))
    out = run(feed, lines("okx", "tardis_trimmed_v5_swap_ws_messages.ndjson"))
    rows = out.view()
    by_kind = {EventKind(int(r["kind"])): r for r in rows}
    funding = [r for r in rows if r["kind"] == EventKind.FUNDING_RATE]
    assert len(funding) == 1
    assert funding[0]["aux"] == 481050
    assert by_kind[EventKind.MARK_PRICE]["price_tick"] == 21729
    bbo = [r for r in rows if r["kind"] in (EventKind.BBO_BID, EventKind.BBO_ASK)]
    assert (bbo[-4]["price_tick"], bbo[-4]["qty_lot"]) == (386323, 990)  # bbo-tbt bid
    assert by_kind[EventKind.TRADE_BUY]["price_tick"] == 489385
    # REN books-l2-tbt and the WNCG-USDT index are not subscribed; open-interest is not parsed
    assert feed.stats.by_reason == {"unknown_channel": 1, "unknown_symbol": 2}
    assert feed.stats.malformed == 0


def test_funding_rate_frame():
    spec = InstrumentSpec(venue="okx", symbol="BTC-USDT-SWAP", tick_size="0.1", lot_size="0.01")
    frame = fixture_file("okx", "ws_funding_rate.json").read_text()
    out = run(feed_for(spec), [frame])
    row = out.view()[0]
    assert row["kind"] == EventKind.FUNDING_RATE
    assert row["aux"] == 100_000
    assert row["ts_exch_ns"] == 1744590349506 * 1_000_000


def test_acks_pongs_and_errors_are_not_malformed():
    feed = feed_for(SPOT)
    error = '{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}'
    out = run(feed, [*lines("okx", "ws_subscribe_acks.ndjson"), "pong", error])
    assert out.n == 0
    assert feed.stats.malformed == 0
    assert feed.stats.by_reason == {"venue_error": 1}
    feed.on_message('{"event":"notice","code":"64008","msg":"upgrade"}', 0, out)
    assert feed.reconnect_requested


def test_subscribe_frames_and_keepalive():
    feed = feed_for(SPOT)
    (frame,) = feed.subscribe_messages()
    args = orjson.loads(frame)["args"]
    assert {"channel": "books", "instId": "BTC-USDT"} in args
    assert len(args) == 5
    assert feed.policy.keepalive.text == "ping"
    assert feed.policy.keepalive.interval_s < 30
    assert feed.ws_urls() == ("wss://ws.okx.com:8443/ws/v5/public",)
    with pytest.raises(ValueError, match="unknown okx channels"):
        feed_for(SPOT, channels=("books", "nope"))
    with pytest.raises(ValueError, match="at most one"):
        feed_for(SPOT, channels=("books", "books-l2-tbt"))


def test_instruments_docs_sample():
    specs = {
        s.symbol: s
        for s in parse_okx_instruments(
            fixture_file("okx", "rest_instruments_swap.json").read_bytes()
        )
    }
    btc = specs["BTC-USDT-SWAP"]
    assert (btc.tick_size, btc.lot_size, btc.contract_multiplier, btc.min_qty) == (
        "0.1",
        "0.01",
        "0.01",
        "0.01",
    )
    assert not btc.inverse
    inverse = specs["BTC-USD-SWAP"]
    assert inverse.inverse
    assert inverse.contract_multiplier == "100"
    assert specs["ETH-USDT-SWAP"].contract_multiplier == "0.1"
    with pytest.raises(ValueError, match="code 50011"):
        parse_okx_instruments(b'{"code":"50011","msg":"Too Many Requests","data":[]}')
