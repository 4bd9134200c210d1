"""OKX v5 and Bitget v2 over real sockets (one envelope, one set of cases): the loopback venue
replays each venue's real books capture, answers text ``ping`` with ``pong`` and every book
resubscription with a snapshot of the true book, and injects faults."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import pytest

from bot.adapters.base import Keepalive
from bot.adapters.bitget import BitgetFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import ST_VALID, new_books
from bot.core.dtypes import EventKind
from tests.support import bitget, okx
from tests.support.asyncutil import eventually
from tests.support.ingest import fast_options, supervised
from tests.support.venue_server import LoopbackVenue, close, hold, send, sleep
from tests.support.wsbook import (
    Fault,
    answer_resubscription,
    book_matches,
    counter,
    faulted_script,
    invalid_rows,
)

TIMEOUT = 20.0


@dataclass(frozen=True)
class Case:
    name: str
    support: ModuleType
    feed: Callable[..., OkxFeed | BitgetFeed]
    subscribe_args: list[dict[str, str]]
    only_when_idle: bool


CASES = {
    "okx": Case(
        "okx",
        okx,
        OkxFeed,
        [
            {"channel": c, "instId": "BTC-USDT"}
            for c in ("books", "bbo-tbt", "trades", "mark-price", "funding-rate")
        ],
        only_when_idle=True,
    ),
    "bitget": Case(
        "bitget",
        bitget,
        BitgetFeed,
        [
            {"instType": "USDT-FUTURES", "channel": c, "instId": "UNIUSDT"}
            for c in ("books", "trade", "ticker")
        ],
        only_when_idle=False,
    ),
}


@pytest.fixture(params=sorted(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[request.param]


def make(case: Case, server: LoopbackVenue, ping_s: float | None = None):
    qty, state = new_books(1, 1 << 15)
    options: dict[str, object] = {}
    if ping_s is not None:
        options["keepalive"] = Keepalive(
            interval_s=ping_s, text="ping", only_when_idle=case.only_when_idle, pong_timeout_s=2.0
        )
    feed = case.feed(
        case.support.refs(),
        qty,
        state,
        ws_url=server.ws_base + case.support.WS_PATH,
        rest_url=server.http_base,
        **options,
    )
    return feed, state


def final_ok(case: Case, state) -> bool:
    exp = case.support.expected()
    spec = case.support.spec()
    return book_matches(state, spec, exp["best_bid"][0], exp["best_ask"][0], exp["levels"][0])


def book_arg(case: Case) -> dict[str, str]:
    return case.subscribe_args[0]


async def test_subscribes_pings_and_rebuilds_the_expected_book(case: Case) -> None:
    frames = case.support.book_frames()
    script = faulted_script(frames, [], case.support.plugin(frames))
    trades = okx.lines("ws_trades_BTC-USDT.ndjson") if case.name == "okx" else []
    script += [send(t) for t in trades]
    async with LoopbackVenue(case.support.PROTOCOL, [script]) as server:
        feed, state = make(case, server, ping_s=0.05)
        before = counter("tickbot_ws_messages_total", venue=case.name)
        async with supervised(feed, state, {0: case.support.SYMBOL}) as (sup, sink):
            await eventually(lambda: final_ok(case, state), TIMEOUT, "book in sync")
            conn = server.connections_on(case.support.WS_PATH)[0]
            await eventually(lambda: conn.received.count("ping") >= 2, TIMEOUT, "pings")
            await eventually(lambda: counter("tickbot_ws_messages_total", venue=case.name) > before)
        (subscribe,) = [json.loads(m) for m in conn.received if m != "ping"]
        assert subscribe == {"op": "subscribe", "args": case.subscribe_args}
        assert feed.stats.checksum_failures == 0
        assert feed.stats.malformed == 0
        rows = sink.rows()
        trade_rows = (rows["kind"] == EventKind.TRADE_BUY) | (rows["kind"] == EventKind.TRADE_SELL)
        assert trade_rows.sum() == len(trades)
        assert invalid_rows(rows) == 1  # the connect
        assert sup.status.end_reasons == []  # the pongs kept the connection alive
        assert sink.violations == 0
        await eventually(lambda: not server._open, TIMEOUT, "server sees the socket closed")


async def test_ping_cadence_follows_the_venue_rule(case: Case) -> None:
    """Data every 10 ms: OKX pings only when idle, Bitget pings on its clock regardless."""
    frames = case.support.book_frames()
    script = faulted_script(frames[:1], [], case.support.plugin(frames))
    for _ in range(40):
        script += [sleep(0.01), send(frames[0])]
    async with LoopbackVenue(case.support.PROTOCOL, [script]) as server:
        feed, state = make(case, server, ping_s=0.3)
        async with supervised(feed, state, {0: case.support.SYMBOL}):
            await eventually(lambda: feed.stats.messages >= 41, TIMEOUT, "stream played")
            pings_while_busy = server.connections_on(case.support.WS_PATH)[0].received.count("ping")
    assert (pings_while_busy == 0) == case.only_when_idle


@pytest.mark.parametrize(
    ("fault", "seq", "counted"),
    [
        (Fault("drop", 30), True, "gaps"),
        (Fault("duplicate", 30), True, "gaps"),
        (Fault("swap", 30), True, "gaps"),
        (Fault("corrupt", 30), False, "checksum_failures"),
        (Fault("drop", 30), False, "checksum_failures"),
    ],
    ids=["drop-seq", "duplicate-seq", "out-of-order-seq", "bad-checksum", "drop-checksum"],
)
async def test_fault_resubscribes_and_the_snapshot_recovers(case, fault, seq, counted) -> None:
    frames = case.support.book_frames(seq=seq)
    script = faulted_script(frames, [fault], case.support.plugin(frames))
    async with LoopbackVenue(case.support.PROTOCOL, [script]) as server:
        feed, state = make(case, server)
        reason = "gap" if counted == "gaps" else "checksum"
        labels = {"venue": case.name, "reason": reason}
        before = counter("tickbot_book_resyncs_total", **labels)
        async with supervised(feed, state, {0: case.support.SYMBOL}) as (_sup, sink):
            await eventually(lambda: getattr(feed.stats, counted) == 1, TIMEOUT, counted)
            await eventually(lambda: final_ok(case, state), TIMEOUT, "book recovered")
            await eventually(lambda: counter("tickbot_book_resyncs_total", **labels) > before)
        received = server.connections_on(case.support.WS_PATH)[0].received
        sent = [json.loads(m) for m in received if m != "ping"]
        assert [m["op"] for m in sent] == ["subscribe", "unsubscribe", "subscribe"]
        assert sent[1]["args"] == sent[2]["args"] == [book_arg(case)]
        assert invalid_rows(sink.rows()) == 2  # connect + the fault
        assert feed.stats.resyncs == 1
        assert sink.violations == 0


async def test_garbage_frame_is_counted_and_the_book_stays_in_sync(case: Case) -> None:
    frames = case.support.book_frames(seq=True)
    script = faulted_script(frames, [Fault("garbage", 20)], case.support.plugin(frames))
    async with LoopbackVenue(case.support.PROTOCOL, [script]) as server:
        feed, state = make(case, server)
        async with supervised(feed, state, {0: case.support.SYMBOL}) as (_sup, sink):
            await eventually(lambda: final_ok(case, state), TIMEOUT)
            await eventually(lambda: feed.stats.malformed == 1, TIMEOUT)
        assert feed.stats.resyncs == 0
        assert invalid_rows(sink.rows()) == 1
        assert sink.violations == 0


async def test_disconnect_mid_stream_reconnects_and_resubscribes(case: Case) -> None:
    frames = case.support.book_frames(seq=True)
    plugin = case.support.plugin(frames)
    first = [*faulted_script(frames[:40], [], plugin), close()]
    second = faulted_script([plugin.snapshot_after(50), *frames[50:]], [], plugin)
    async with LoopbackVenue(case.support.PROTOCOL, [first, second]) as server:
        feed, state = make(case, server)
        async with supervised(feed, state, {0: case.support.SYMBOL}) as (sup, sink):
            await eventually(lambda: len(server.connections_on(case.support.WS_PATH)) == 2, TIMEOUT)
            await eventually(lambda: final_ok(case, state), TIMEOUT, "resynced after reconnect")
        assert sup.status.end_reasons == ["closed_by_server"]
        assert feed.stats.by_reason["connect"] == 2
        assert feed.stats.gaps == 0
        assert sink.violations == 0


async def test_instrument_that_stops_updating_is_resynced(case: Case) -> None:
    frames = case.support.book_frames(seq=True)
    plugin = case.support.plugin(frames)
    script = faulted_script(frames[:30], [], plugin)  # then silence on the book, pongs only
    script += [*answer_resubscription(plugin, 2, 30), hold()]
    async with LoopbackVenue(case.support.PROTOCOL, [script]) as server:
        feed, state = make(case, server, ping_s=0.05)
        options = fast_options(instrument_stale_s=0.3)
        async with supervised(feed, state, {0: case.support.SYMBOL}, options) as (sup, sink):
            await eventually(lambda: feed.stats.by_reason.get("stale", 0) == 1, TIMEOUT)
            await eventually(lambda: state[0, ST_VALID] == 1, TIMEOUT, "valid again")
        assert sup.status.end_reasons == []  # the connection itself was fine
        assert invalid_rows(sink.rows()) == 2
        assert sink.violations == 0
