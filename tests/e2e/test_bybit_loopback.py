"""Bybit v5 over real sockets: keepalive, subscriptions and resubscribe-on-gap."""

from __future__ import annotations

import json
from decimal import Decimal

from bot.adapters.bybit import BybitFeed
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from tests.support import bybit as by
from tests.support.asyncutil import eventually
from tests.support.ingest import supervised
from tests.support.venue_server import LoopbackVenue, close, send

TICK = Decimal("0.0001")
TIMEOUT = 20.0


def ticks(price: str) -> int:
    return int(Decimal(price) / TICK)


def final_ok(state) -> bool:
    exp = by.expected()
    return bool(
        state[0, ST_VALID] == 1
        and state[0, ST_BEST_BID] == ticks(exp["final_best_bid"][0])
        and state[0, ST_BEST_ASK] == ticks(exp["final_best_ask"][0])
    )


def make(server: LoopbackVenue, **options: object):
    qty, state = new_books(1, 1 << 13)
    feed = BybitFeed(
        by.refs(),
        qty,
        state,
        ws_url=server.ws_base + by.WS_PATH,
        rest_url=server.http_base,
        **options,
    )
    return feed, state


async def test_subscribes_pings_and_rebuilds_the_book() -> None:
    frames = [send(f) for f in by.book_frames()]
    async with LoopbackVenue(by.protocol(), [frames]) as server:
        feed, state = make(server, ping_interval_s=0.05)
        async with supervised(feed, state, {0: by.SYMBOL}) as (_sup, sink):
            await eventually(lambda: final_ok(state), TIMEOUT, "book in sync")
            conn = server.connections_on(by.WS_PATH)[0]
            await eventually(lambda: sum('"op":"ping"' in m for m in conn.received) >= 2, TIMEOUT)
        sent = [json.loads(m) for m in conn.received]
        subscribe = next(m for m in sent if m["op"] == "subscribe")
        assert subscribe["args"] == [
            "orderbook.50.XRPUSDT",
            "publicTrade.XRPUSDT",
            "tickers.XRPUSDT",
        ]
        assert sink.violations == 0
        assert feed.stats.malformed == 0


async def test_gap_resubscribes_and_the_new_snapshot_recovers_the_book() -> None:
    book = by.book_frames()
    frames = [send(f) for k, f in enumerate(book) if k != 20]
    async with LoopbackVenue(by.protocol(by.snapshot_frame(book)), [frames]) as server:
        feed, state = make(server)
        async with supervised(feed, state, {0: by.SYMBOL}) as (_sup, sink):
            await eventually(lambda: feed.stats.gaps == 1, TIMEOUT)
            await eventually(lambda: final_ok(state), TIMEOUT, "book recovered")
        sent = [json.loads(m) for m in server.connections_on(by.WS_PATH)[0].received]
        assert {"op": "unsubscribe", "args": ["orderbook.50.XRPUSDT"]} in sent
        assert sink.violations == 0


async def test_reconnect_resubscribes_everything() -> None:
    book = by.book_frames()
    first = [send(f) for f in book[:10]] + [close()]
    second = [send(f) for f in book]
    async with LoopbackVenue(by.protocol(), [first, second]) as server:
        feed, state = make(server)
        async with supervised(feed, state, {0: by.SYMBOL}) as (sup, sink):
            await eventually(lambda: len(server.connections_on(by.WS_PATH)) == 2, TIMEOUT)
            await eventually(lambda: final_ok(state), TIMEOUT)
        # The first session was cut before its subscription was read; the second one resubscribed.
        assert any('"op":"subscribe"' in m for m in server.connections_on(by.WS_PATH)[1].received)
        assert sup.status.end_reasons == ["closed_by_server"]
        assert sink.violations == 0
