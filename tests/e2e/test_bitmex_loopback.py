"""BitMEX over real sockets: the loopback venue replays the real 2021 XBTUSD orderBookL2
capture after its welcome message, answers text ``ping`` with ``pong`` and resubscriptions with
a ``partial`` of the true book; lost, repeated, reordered or cut frames are caught by the id map."""

from __future__ import annotations

import json

import pytest

from bot.adapters.base import Keepalive
from bot.adapters.bitmex import BitmexFeed
from bot.core.book import ST_VALID, new_books
from bot.core.dtypes import EventKind
from tests.support import bitmex as bm
from tests.support.asyncutil import eventually
from tests.support.ingest import fast_options, supervised
from tests.support.shared import fixture_file
from tests.support.venue_server import LoopbackVenue, close, hold, send
from tests.support.wsbook import (
    Fault,
    answer_resubscription,
    book_matches,
    counter,
    faulted_script,
    invalid_rows,
)

TIMEOUT = 30.0
PING = Keepalive(interval_s=0.05, text="ping", only_when_idle=True, pong_timeout_s=2.0)


def make(server: LoopbackVenue, **options: object):
    qty, state = new_books(1, bm.WINDOW)
    feed = BitmexFeed(bm.refs(), qty, state, ws_url=server.ws_base + bm.WS_PATH,
                      rest_url=server.http_base, **options)  # fmt: skip
    return feed, state


def final_ok(state) -> bool:
    exp = bm.expected()
    return book_matches(state, bm.spec(), exp["final_best_bid"][0], exp["final_best_ask"][0],
                        exp["levels"][0])  # fmt: skip


def script_for(frames, faults) -> list:
    return [send(bm.welcome()), *faulted_script(frames, faults, bm.plugin(frames))]


async def test_subscribes_pings_and_rebuilds_the_expected_book() -> None:
    frames = bm.book_frames()
    quotes = fixture_file("bitmex", "ws_quote_XBTUSD.ndjson").read_text().splitlines()
    async with LoopbackVenue(bm.PROTOCOL, [script_for(frames, []) + [send(q) for q in quotes]]
                             ) as server:  # fmt: skip
        feed, state = make(server, keepalive=PING)
        before = counter("tickbot_ws_messages_total", venue="bitmex")
        async with supervised(feed, state, {0: bm.SYMBOL}) as (sup, sink):
            await eventually(lambda: final_ok(state), TIMEOUT, "book in sync")
            conn = server.connections_on(bm.WS_PATH)[0]
            await eventually(lambda: conn.received.count("ping") >= 2, TIMEOUT, "idle pings")
            await eventually(lambda: counter("tickbot_ws_messages_total", venue="bitmex") > before)
        (subscribe,) = [json.loads(m) for m in conn.received if m != "ping"]
        assert subscribe == {"op": "subscribe", "args": [
            "orderBookL2:XBTUSD", "quote:XBTUSD", "trade:XBTUSD", "instrument:XBTUSD"]}  # fmt: skip
        assert feed.stats.malformed == 0
        assert feed.stats.gaps == 0
        rows = sink.rows()
        assert (rows["kind"] == EventKind.BBO_BID).sum() > 0
        assert invalid_rows(rows) == 1
        assert sup.status.end_reasons == []
        assert sink.violations == 0
        await eventually(lambda: not server._open, TIMEOUT, "server sees the socket closed")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault("drop", bm.LINKED_INSERT), "unknown_id"),
        (Fault("duplicate", bm.LINKED_INSERT), "unknown_id"),
        (Fault("swap", bm.LINKED_INSERT), "unknown_id"),
        (Fault("corrupt", 400), "malformed"),
    ],
    ids=["drop", "duplicate", "out-of-order", "garbage"],
)
async def test_fault_resubscribes_and_the_partial_recovers(fault, reason) -> None:
    frames = bm.book_frames()
    async with LoopbackVenue(bm.PROTOCOL, [script_for(frames, [fault])]) as server:
        feed, state = make(server)
        labels = {"venue": "bitmex", "reason": reason}
        before = counter("tickbot_book_resyncs_total", **labels)
        async with supervised(feed, state, {0: bm.SYMBOL}) as (_sup, sink):
            await eventually(lambda: feed.stats.by_reason.get(reason, 0) == 1, TIMEOUT, reason)
            await eventually(lambda: final_ok(state), TIMEOUT, "book recovered")
            await eventually(lambda: counter("tickbot_book_resyncs_total", **labels) > before)
        sent = [json.loads(m) for m in server.connections_on(bm.WS_PATH)[0].received]
        assert sent[1:] == [{"op": "unsubscribe", "args": ["orderBookL2:XBTUSD"]},
                            {"op": "subscribe", "args": ["orderBookL2:XBTUSD"]}]  # fmt: skip
        assert invalid_rows(sink.rows()) == 2
        assert feed.stats.resyncs == 1
        assert sink.violations == 0


async def test_disconnect_mid_stream_reconnects_and_gets_a_new_partial() -> None:
    frames = bm.book_frames()
    plugin = bm.plugin(frames)
    first = [*script_for(frames[:300], []), close()]
    second = [send(bm.welcome()), *faulted_script([plugin.snapshot_after(500), *frames[500:]],
                                                  [], plugin)]  # fmt: skip
    async with LoopbackVenue(bm.PROTOCOL, [first, second]) as server:
        feed, state = make(server)
        async with supervised(feed, state, {0: bm.SYMBOL}) as (sup, sink):
            await eventually(lambda: len(server.connections_on(bm.WS_PATH)) == 2, TIMEOUT)
            await eventually(lambda: final_ok(state), TIMEOUT, "resynced after reconnect")
        assert sup.status.end_reasons == ["closed_by_server"]
        assert feed.stats.by_reason["connect"] == 2
        assert feed.stats.gaps == 0
        assert sink.violations == 0


async def test_unanswered_ping_reconnects() -> None:
    """BitMEX: after 5 s of silence ping; no answer within 5 s means the connection is dead."""
    frames = bm.book_frames()
    silent = bm.PROTOCOL.__class__(ws_paths=(bm.WS_PATH,), reply=lambda text: [])
    async with LoopbackVenue(silent, [[*script_for(frames[:5], []), hold()]]) as server:
        feed, state = make(
            server,
            keepalive=Keepalive(
                interval_s=0.05, text="ping", only_when_idle=True, pong_timeout_s=0.1
            ),
        )
        async with supervised(feed, state, {0: bm.SYMBOL}) as (sup, _sink):
            await eventually(lambda: "pong_timeout" in sup.status.end_reasons, TIMEOUT)
            await eventually(lambda: len(server.connections_on(bm.WS_PATH)) >= 2, TIMEOUT)


async def test_instrument_that_stops_updating_is_resynced() -> None:
    frames = bm.book_frames()
    plugin = bm.plugin(frames)
    script = [*script_for(frames[:50], []), *answer_resubscription(plugin, 2, 50), hold()]
    async with LoopbackVenue(bm.PROTOCOL, [script]) as server:
        feed, state = make(server, keepalive=PING)
        options = fast_options(instrument_stale_s=0.3)
        async with supervised(feed, state, {0: bm.SYMBOL}, options) as (sup, sink):
            await eventually(lambda: feed.stats.by_reason.get("stale", 0) == 1, TIMEOUT)
            await eventually(lambda: state[0, ST_VALID] == 1, TIMEOUT, "valid again")
        assert sup.status.end_reasons == []
        assert invalid_rows(sink.rows()) == 2
        assert sink.violations == 0
