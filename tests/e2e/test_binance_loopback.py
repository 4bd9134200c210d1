"""Binance USD-M over real sockets: a loopback venue replays the capture and injects faults."""

from __future__ import annotations

import asyncio
import contextlib
import json
from decimal import Decimal

import pytest

from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from bot.core.dtypes import EventKind
from bot.ingest.backoff import Backoff
from bot.metrics import registry
from tests.support import binance as bn
from tests.support.asyncutil import MS, eventually
from tests.support.ingest import LongestJitter, fast_options, supervised
from tests.support.venue_server import (
    Broadcast,
    LoopbackVenue,
    RestRoute,
    close,
    follow,
    garbage,
    hold,
    ping,
    send,
    until,
)

PUBLIC = "/public/stream"
MARKET = "/market/stream"
TICK = Decimal("0.00001")
TIMEOUT = 20.0


def ticks(price: str) -> int:
    return int(Decimal(price) / TICK)


def make(server: LoopbackVenue, n: int = 2, **options: object):
    """A feed for the first ``n`` captured symbols, pointed at the loopback venue."""
    qty, state = new_books(2, 1 << 12)
    feed = BinanceUsdmFeed(
        bn.refs()[:n],
        qty,
        state,
        ws_url=server.ws_base,
        rest_url=server.http_base,
        **options,
    )
    return feed, state


def serve_snapshots(server: LoopbackVenue, **later: list[bytes]) -> None:
    for symbol in bn.SYMBOLS:
        bodies = [bn.snapshot(symbol), *later.get(symbol, [])]
        server.rest[bn.DEPTH_PATH.format(symbol=symbol)] = RestRoute(bodies=bodies)


def final_ok(state, symbols=bn.SYMBOLS) -> bool:
    exp = bn.expected()
    return all(
        state[k, ST_VALID] == 1
        and state[k, ST_BEST_BID] == ticks(exp[s]["final_best_bid"][0])
        and state[k, ST_BEST_ASK] == ticks(exp[s]["final_best_ask"][0])
        for k, s in enumerate(bn.SYMBOLS)
        if s in symbols
    )


def interleaved(symbols=bn.SYMBOLS) -> list[str]:
    """Depth and bookTicker frames of the symbols in event-time order."""
    frames = []
    for s in symbols:
        for kind in ("depth_diff", "bookTicker"):
            frames += [(json.loads(f)["data"]["E"], f) for f in bn.lines(kind, s)]
    return [f for _, f in sorted(frames, key=lambda x: x[0])]


def counter(metric, **labels) -> float:
    return registry.REGISTRY.get_sample_value(metric, labels) or 0.0


@pytest.mark.both_transports
async def test_replay_over_sockets_rebuilds_the_expected_books() -> None:
    trades = [send(f) for s in bn.SYMBOLS for f in bn.lines("aggTrade", s)]
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in interleaved()]])
        server.script_for(MARKET, [trades])
        serve_snapshots(server)
        feed, state = make(server)
        before = counter("tickbot_ws_messages_total", venue="binance-usdm")
        async with supervised(feed, state, {0: "AKROUSDT", 1: "CTKUSDT"}) as (sup, sink):
            await eventually(lambda: final_ok(state), TIMEOUT, "books in sync")
            n_trades = sum(len(bn.lines("aggTrade", s)) for s in bn.SYMBOLS)
            await eventually(lambda: feed.stats.messages >= len(interleaved()) + n_trades, TIMEOUT)
            await eventually(
                lambda: counter("tickbot_ws_messages_total", venue="binance-usdm") > before, TIMEOUT
            )
        rows = sink.rows()
        assert sink.violations == 0
        assert feed.stats.gaps == 0
        assert feed.stats.by_reason.get("bbo_mismatch", 0) == 0
        assert (
            (rows["kind"] == EventKind.TRADE_BUY) | (rows["kind"] == EventKind.TRADE_SELL)
        ).sum() == n_trades
        assert sup.status.sessions == {c.url: 1 for c in sup._conns}
        await eventually(lambda: not server._open, TIMEOUT, "server sees sockets closed")


async def test_dropped_message_resyncs_that_instrument() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    frames = [send(f) for k, f in enumerate(akro) if k != 30]
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [frames])
        server.script_for(MARKET, [[]])
        serve_snapshots(server, AKROUSDT=[bn.snapshot_after("AKROUSDT", 35)])
        feed, state = make(server, 1, trades=False, mark_price=False)
        gaps_before = counter("tickbot_book_gaps_total", venue="binance-usdm")
        async with supervised(feed, state, {0: "AKROUSDT"}) as (_sup, sink):
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT, "AKRO resynced")
        assert feed.stats.gaps == 1
        assert feed.stats.by_reason["gap"] == 1
        assert server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")].served == 2
        assert sink.violations == 0
        invalid = [r for r in sink.rows() if r["kind"] == EventKind.BOOK_INVALID]
        assert len(invalid) == 2  # one at connect, one for the gap
        assert counter("tickbot_book_gaps_total", venue="binance-usdm") == gaps_before + 1


async def test_disconnect_mid_stream_reconnects_and_resyncs() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    first = [send(f) for f in akro[:60]] + [close()]
    second = [send(f) for f in akro[50:]]
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [first, second])
        serve_snapshots(server, AKROUSDT=[bn.snapshot_after("AKROUSDT", 70)])
        feed, state = make(server, 1, trades=False, mark_price=False)
        labels = {"venue": "binance-usdm", "reason": "closed_by_server"}
        reconnects_before = counter("tickbot_ws_reconnects_total", **labels)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, sink):
            await eventually(lambda: len(server.connections_on(PUBLIC)) == 2, TIMEOUT)
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT, "resynced")
        assert "closed_by_server" in sup.status.end_reasons
        assert feed.stats.by_reason["connect"] == 2  # one per session
        assert sink.violations == 0
        assert counter("tickbot_ws_reconnects_total", **labels) == reconnects_before + 1


async def test_duplicates_out_of_order_and_garbage() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    script = [send(f) for f in akro[:40]]
    script += [
        send(akro[39]),
        send(akro[20]),
        garbage(),
        garbage("\x00\xff"),
        send(akro[41]),
        send(akro[40]),
    ]
    script += [send(f) for f in akro[42:]]
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [script])
        serve_snapshots(server, AKROUSDT=[bn.snapshot_after("AKROUSDT", 60)])
        feed, state = make(server, 1, trades=False, mark_price=False)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (_sup, sink):
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT)
        assert feed.stats.malformed == 2
        assert feed.stats.gaps == 1  # 41 before 40
        assert feed.stats.dropped_stale >= 3  # the pre-snapshot diff and two duplicates
        assert sink.violations == 0


async def test_slow_and_failing_snapshots_are_retried() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro]])
        route = RestRoute(bodies=[bn.snapshot("AKROUSDT")], delay_s=0.2, fail_first=2)
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = route
        feed, state = make(server, 1, trades=False, mark_price=False)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, _sink):
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT)
        assert sup.status.snapshot_failures == 2
        assert route.failed == 2
        assert route.served == 1


async def test_rate_limited_snapshot_waits_for_retry_after() -> None:
    """429 (and 418, Binance's IP ban) carry Retry-After: the next request waits that long."""
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro]])
        route = RestRoute(
            bodies=[bn.snapshot("AKROUSDT")], fail_first=2, fail_status=429, retry_after="1"
        )
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = route
        feed, state = make(server, 1, trades=False, mark_price=False)
        labels = {"venue": "binance-usdm", "class": "rate_limit"}
        before = counter("tickbot_snapshot_failures_total", **labels)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, _sink):
            await eventually(lambda: route.failed == 1, TIMEOUT, "first 429")
            route.fail_status = 418  # the IP ban: the same class, the same wait
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT)
        assert route.failed == 2
        assert route.served == 1
        first, second, third = route.requested_at
        assert second - first >= 1.0
        assert third - second >= 1.0
        assert sup.status.rest_errors == {"rate_limit": 2}
        assert counter("tickbot_snapshot_failures_total", **labels) == before + 2


async def test_client_error_snapshot_is_not_retried_forever() -> None:
    """A 400 (say, a symbol the venue does not list) would fail again: tried a few times, then
    the book stays invalid (visible in the metrics) instead of hammering the venue."""
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro]])
        route = RestRoute(bodies=[bn.snapshot("AKROUSDT")], fail_first=1000, fail_status=400)
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = route
        feed, state = make(server, 1, trades=False, mark_price=False)
        labels = {"venue": "binance-usdm", "class": "client"}
        before = counter("tickbot_snapshot_failures_total", **labels)
        options = fast_options(snapshot_client_attempts=3)
        async with supervised(feed, state, {0: "AKROUSDT"}, options) as (sup, _sink):
            await eventually(lambda: sup.status.rest_errors.get("client") == 3, TIMEOUT)
            # the worker gave up: its queue is empty and nothing is queued again
            await eventually(lambda: not sup._queued, TIMEOUT, "request dropped")
            assert state[0, ST_VALID] == 0
        assert route.failed == 3
        assert sup.status.rest_errors == {"client": 3}
        assert counter("tickbot_snapshot_failures_total", **labels) == before + 3


async def test_server_errors_back_off_and_are_counted_as_server() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro]])
        route = RestRoute(bodies=[bn.snapshot("AKROUSDT")], fail_first=3, fail_status=503)
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = route
        feed, state = make(server, 1, trades=False, mark_price=False)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, _sink):
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT)
        assert route.failed == 3
        assert sup.status.rest_errors == {"server": 3}


async def test_snapshot_timeout_is_retried() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro]])
        route = RestRoute(bodies=[bn.snapshot("AKROUSDT")], delay_s=0.3)
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = route
        feed, state = make(server, 1, trades=False, mark_price=False)
        feed.policy = type(feed.policy)(**{**_fields(feed.policy), "snapshot_timeout_s": 0.1})
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, _sink):
            await eventually(lambda: sup.status.snapshot_failures >= 2, TIMEOUT)
            assert state[0, ST_VALID] == 0
            route.delay_s = 0.0
            await eventually(lambda: final_ok(state, ["AKROUSDT"]), TIMEOUT)


def _fields(policy) -> dict:
    return {f: getattr(policy, f) for f in policy.__dataclass_fields__}


@pytest.mark.both_transports
async def test_server_ping_is_answered_with_a_pong() -> None:
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[ping(), ping(), hold()]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False)
        async with supervised(feed, state, {0: "AKROUSDT", 1: "CTKUSDT"}):
            await eventually(
                lambda: (
                    server.connections_on(PUBLIC) and server.connections_on(PUBLIC)[0].pongs >= 2
                ),
                TIMEOUT,
            )


@pytest.mark.both_transports
async def test_session_rollover_is_make_before_break_and_the_book_never_goes_invalid() -> None:
    """Binance's 24 h limit, scaled down to 0.3 s: each new session is opened while the old one
    still streams, the feed switches over, and the book stays valid throughout."""
    akro = bn.lines("depth_diff", "AKROUSDT")
    stream = Broadcast(akro, interval_s=5 * MS)  # ~0.95 s of live diffs: 3 rollovers or so
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[follow(stream)]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False, session_s=0.3)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, sink):
            await eventually(lambda: stream.done and final_ok(state, ["AKROUSDT"]), TIMEOUT)
            invalid = [r for r in sink.rows() if r["kind"] == EventKind.BOOK_INVALID]
            reasons = list(sup.status.end_reasons)
            handovers = sup.status.handovers
        assert handovers >= 1
        assert reasons[:handovers] == ["session_rollover"] * handovers
        assert len(server.connections_on(PUBLIC)) >= handovers + 1
        assert all(c.closed_by_client for c in server.connections_on(PUBLIC)[:handovers])
        assert len(invalid) == 1  # the first connect only: no rollover invalidated the book
        assert server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")].served == 1
        assert feed.stats.gaps == 0
        assert "disconnect" not in feed.stats.by_reason
        assert sink.violations == 0


async def test_rollover_waits_for_a_lagging_old_connection_to_catch_up() -> None:
    """The old connection runs LAG frames behind the new one (a slower route): switching as soon
    as both have delivered something would skip those frames (a gap, a new snapshot). The switch
    waits for a frame both connections carried, so the stream the feed sees has no hole."""
    lag = 8
    akro = bn.lines("depth_diff", "AKROUSDT")
    stream = Broadcast(akro, interval_s=5 * MS)
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[follow(stream, lag=lag)], [follow(stream)]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False, session_s=0.3)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, sink):
            await eventually(lambda: sup.status.handovers >= 1, TIMEOUT, "handed over")
            await eventually(lambda: stream.done and final_ok(state, ["AKROUSDT"]), TIMEOUT)
            invalid = [r for r in sink.rows() if r["kind"] == EventKind.BOOK_INVALID]
        assert len(invalid) == 1  # the first connect only
        assert feed.stats.gaps == 0
        assert server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")].served == 1
        assert sink.violations == 0


async def test_a_dropped_connection_invalidates_its_books_at_once() -> None:
    """The books must not stay valid while the feed waits (backoff) to reconnect."""
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False)
        synced = until(lambda _log: bool(state[0, ST_VALID]))
        server.script_for(PUBLIC, [[*(send(f) for f in akro[:60]), synced, close()], [hold()]])
        # A long backoff: the drop must be visible before anything reconnects. Full jitter draws
        # the delay from [0, 30 s], and a short draw let the bot reconnect and re-sync from a new
        # snapshot before the check: every delay is at its ceiling here.
        options = fast_options(backoff=Backoff(base_s=30.0, cap_s=30.0, stable_after_s=60.0))
        before = counter("tickbot_book_resyncs_total", venue="binance-usdm", reason="disconnect")
        async with supervised(feed, state, {0: "AKROUSDT"}, options, rng=LongestJitter()) as (
            sup,
            _sink,
        ):
            # The server closes only once it has seen the book valid (`synced`); the test does
            # not wait to see it valid itself: sync and drop can both fall between two polls.
            await eventually(lambda: sup.status.end_reasons, TIMEOUT, "connection dropped")
            assert sup.status.end_reasons == ["closed_by_server"]
            assert state[0, ST_VALID] == 0
            assert len(server.connections_on(PUBLIC)) == 1  # not reconnected yet
            assert feed.stats.by_reason["disconnect"] == 1
            assert feed.invalid_instruments() == [0]
            sup._export()
            after = counter("tickbot_book_resyncs_total", venue="binance-usdm", reason="disconnect")
        assert after == before + 1


async def test_silent_connection_is_declared_stale() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro[:20]] + [hold()]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False, stale_after_s=0.3)
        async with supervised(feed, state, {0: "AKROUSDT"}) as (sup, _sink):
            await eventually(lambda: "stale" in sup.status.end_reasons, TIMEOUT)
            await eventually(lambda: len(server.connections_on(PUBLIC)) >= 2, TIMEOUT)


async def test_instrument_that_stops_updating_is_resynced() -> None:
    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro[:20]] + [hold()]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False, stale_after_s=30.0)
        options = fast_options(instrument_stale_s=0.3)
        async with supervised(feed, state, {0: "AKROUSDT"}, options) as (_sup, _sink):
            await eventually(lambda: feed.stats.by_reason.get("stale", 0) >= 1, TIMEOUT)
            await eventually(lambda: state[0, ST_VALID] == 1, TIMEOUT)
        assert server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")].served >= 2


@pytest.mark.both_transports
@pytest.mark.parametrize("status", [400, 404])
async def test_refused_handshake_is_fatal(status: int) -> None:
    from aiohttp import web

    from bot.adapters.errors import FatalError
    from bot.ingest.supervisor import FeedSupervisor

    async def refuse(request: web.Request) -> web.Response:
        return web.Response(status=status)

    app = web.Application()
    app.router.add_get("/public/stream", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        qty, state = new_books(2, 64)
        feed = BinanceUsdmFeed(
            bn.refs(),
            qty,
            state,
            ws_url=f"ws://127.0.0.1:{port}",
            rest_url=f"http://127.0.0.1:{port}",
            trades=False,
            mark_price=False,
        )
        sup = FeedSupervisor(
            feed, lambda rows: None, state, symbols={0: "AKROUSDT"}, options=fast_options()
        )
        with pytest.raises(ExceptionGroup) as info:
            await sup.run()
        assert info.group_contains(FatalError)
    finally:
        await runner.cleanup()


async def test_full_consumer_queue_drops_counts_and_resyncs() -> None:
    from bot.ingest.sinks import QueueSink
    from bot.ingest.supervisor import FeedSupervisor

    akro = bn.lines("depth_diff", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for(PUBLIC, [[send(f) for f in akro] + [hold()]])
        serve_snapshots(server)
        feed, state = make(server, 1, trades=False, mark_price=False)
        sink = QueueSink(maxsize=1)  # nobody consumes: it overflows
        sup = FeedSupervisor(feed, sink, state, symbols={0: "AKROUSDT"}, options=fast_options())
        before = counter("tickbot_ingest_dropped_batches_total", venue="binance-usdm")
        task = asyncio.create_task(sup.run())
        try:
            await eventually(lambda: sink.dropped > 0, TIMEOUT)
            await eventually(lambda: feed.stats.by_reason.get("queue_overflow", 0) >= 1, TIMEOUT)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert sink.queue.qsize() <= 1
        assert counter("tickbot_ingest_dropped_batches_total", venue="binance-usdm") > before
