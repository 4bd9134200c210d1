"""BingX over real sockets: every server frame is gzip-compressed binary, the server's ``Ping``
must be answered with ``Pong``; real push frames reach the core, and an ``@incrDepth`` sequence
with injected faults resyncs by resubscribing (BingX answers with a fresh ``all``)."""

from __future__ import annotations

import gzip
import json

import pytest

from bot.adapters.bingx import BingxFeed
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_BID_LEVELS, ST_VALID, new_books
from bot.core.dtypes import EventKind
from tests.support import bingx as bx
from tests.support.asyncutil import eventually
from tests.support.ingest import supervised
from tests.support.venue_server import Action, LoopbackVenue, close, hold, send_gzip, until
from tests.support.wsbook import (
    Fault,
    book_equals,
    counter,
    faulted_script,
    invalid_rows,
    ticks,
)

TIMEOUT = 20.0


def make(server: LoopbackVenue, spec=bx.BTC, **options: object):
    qty, state = new_books(1, 1 << 16)
    feed = BingxFeed(bx.refs(spec), qty, state, ws_url=server.ws_base + bx.WS_PATH,
                     rest_url=server.http_base, **options)  # fmt: skip
    return feed, state


def book_is(state, frames) -> bool:
    """Instrument 0's book is valid and equals the naive book of ``frames``."""
    bids, asks = bx.true_book(frames).levels()
    return bool(
        state[0, ST_VALID] == 1
        and state[0, ST_BEST_BID] == ticks(bx.BTC, bids[0][0])
        and state[0, ST_BEST_ASK] == ticks(bx.BTC, asks[0][0])
        and state[0, ST_BID_LEVELS] == len(bids)
    )


async def test_gzip_frames_pings_and_real_pushes_reach_the_core() -> None:
    streams = ("depth20@100ms", "trade", "bookTicker", "markPrice")
    names = ("ws_PartialBook_push.json", "ws_Trades_push.json", "ws_BookPrice_push.json",
             "ws_MarkPrice_push.json")  # fmt: skip
    script = [until(lambda log: len(bx.requests(log)) == len(streams)), bx.server_ping()]
    for name in names:
        script += [send_gzip(bx.fixture(name)), bx.server_ping()]
    # a valid trade push padded to 17 MiB once inflated: refused before parsing (gzip bomb guard)
    padded = b"{" + b" " * (17 << 20) + bx.fixture("ws_Trades_push.json").encode()[1:]
    bomb = Action("send_bytes", gzip.compress(padded))
    script += [bx.not_gzip(), send_gzip("{not json"), bomb, hold()]
    async with LoopbackVenue(bx.PROTOCOL, [script]) as server:
        feed, state = make(server, bx.ETH, streams=streams)
        before = counter("tickbot_malformed_frames_total", venue="bingx")
        async with supervised(feed, state, {0: "ETH-USDT"}) as (sup, sink):
            conn = await _first_connection(server)
            await eventually(lambda: conn.received.count("Pong") == 5, TIMEOUT, "5 Pongs")
            await eventually(lambda: feed.stats.malformed == 3, TIMEOUT, "3 bad frames")
            await eventually(lambda: counter("tickbot_malformed_frames_total", venue="bingx")
                             >= before + 3, TIMEOUT)  # fmt: skip
        assert [(r["reqType"], r["dataType"]) for r in bx.requests(conn)] == [
            ("sub", f"ETH-USDT@{s}") for s in streams
        ]
        partial = json.loads(bx.fixture("ws_PartialBook_push.json"))["data"]
        assert state[0, ST_VALID] == 1
        assert state[0, ST_BEST_BID] == ticks(bx.ETH, partial["bids"][0][0])
        assert state[0, ST_BEST_ASK] == ticks(bx.ETH, min(a[0] for a in partial["asks"]))
        rows = sink.rows()
        trades = json.loads(bx.fixture("ws_Trades_push.json"))["data"]
        trade_rows = (rows["kind"] == EventKind.TRADE_BUY) | (rows["kind"] == EventKind.TRADE_SELL)
        assert trade_rows.sum() == len(trades)
        assert (rows["kind"] == EventKind.MARK_PRICE).sum() == 1
        assert (rows["kind"] == EventKind.BBO_BID).sum() == 1
        assert sup.status.end_reasons == []
        assert sink.violations == 0
        await eventually(lambda: not server._open, TIMEOUT, "server sees the socket closed")


async def _first_connection(server: LoopbackVenue):
    await eventually(lambda: bool(server.connections_on(bx.WS_PATH)), TIMEOUT)
    return server.connections_on(bx.WS_PATH)[0]


async def test_incremental_depth_replays_to_the_true_book() -> None:
    frames = bx.incr_frames()
    script = faulted_script(frames, [], bx.plugin(frames))
    async with LoopbackVenue(bx.PROTOCOL, [script]) as server:
        feed, state = make(server)
        async with supervised(feed, state, {0: "BTC-USDT"}) as (_sup, sink):
            await eventually(lambda: book_is(state, frames), TIMEOUT, "book in sync")
        assert feed.stats.gaps == 0
        assert invalid_rows(sink.rows()) == 1
        assert sink.violations == 0


@pytest.mark.parametrize(
    "fault", [Fault("drop", 10), Fault("duplicate", 10), Fault("swap", 10)],
    ids=["drop", "duplicate", "out-of-order"],
)  # fmt: skip
async def test_gap_resubscribes_and_the_new_full_depth_recovers(fault: Fault) -> None:
    frames = bx.incr_frames()
    script = faulted_script(frames, [fault], bx.plugin(frames))
    async with LoopbackVenue(bx.PROTOCOL, [script]) as server:
        feed, state = make(server)
        before = counter("tickbot_book_gaps_total", venue="bingx")
        async with supervised(feed, state, {0: "BTC-USDT"}) as (_sup, sink):
            await eventually(lambda: feed.stats.gaps == 1, TIMEOUT, "gap")
            await eventually(lambda: book_is(state, frames), TIMEOUT, "book recovered")
            await eventually(lambda: counter("tickbot_book_gaps_total", venue="bingx") > before)
        requests = bx.requests(server.connections_on(bx.WS_PATH)[0])
        assert [(r["reqType"], r["dataType"]) for r in requests[-2:]] == [
            ("unsub", bx.INCR), ("sub", bx.INCR),
        ]  # fmt: skip
        assert invalid_rows(sink.rows()) == 2
        assert sink.violations == 0


async def test_disconnect_mid_stream_reconnects_and_resubscribes() -> None:
    frames = bx.incr_frames()
    plugin = bx.plugin(frames)
    first = [*faulted_script(frames[:15], [], plugin), close()]
    second = faulted_script([plugin.snapshot_after(20), *frames[20:]], [], plugin)
    truth = bx.true_book(frames)
    # The first session's book differs from the final one, so only the second can reach it. (The
    # top of book and level count alone were already final after frames[:15]: waiting on them let
    # the test finish before the second session had even started.)
    assert bx.true_book(frames[:15]).levels() != truth.levels()
    async with LoopbackVenue(bx.PROTOCOL, [first, second]) as server:
        feed, state = make(server)
        async with supervised(feed, state, {0: "BTC-USDT"}) as (sup, sink):
            await eventually(lambda: len(server.connections_on(bx.WS_PATH)) == 2, TIMEOUT)
            await eventually(lambda: book_equals(feed.qty, state, bx.BTC, truth), TIMEOUT,
                             "resynced after reconnect")  # fmt: skip
        assert sup.status.end_reasons == ["closed_by_server"]
        assert feed.stats.by_reason["connect"] == 2
        assert sink.violations == 0


async def test_server_that_stops_pinging_is_declared_stale() -> None:
    frames = bx.incr_frames()
    script = [*faulted_script(frames[:5], [], bx.plugin(frames)), hold()]
    async with LoopbackVenue(bx.PROTOCOL, [script]) as server:
        feed, state = make(server, stale_after_s=0.3)
        async with supervised(feed, state, {0: "BTC-USDT"}) as (sup, _sink):
            await eventually(lambda: "stale" in sup.status.end_reasons, TIMEOUT)
            await eventually(lambda: len(server.connections_on(bx.WS_PATH)) >= 2, TIMEOUT)
