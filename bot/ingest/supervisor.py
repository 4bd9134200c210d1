"""``FeedSupervisor``: drives any ``MarketDataFeed`` over real sockets on the one uvloop loop.

Per WebSocket URL of the feed, one connection task runs sessions forever: connect (under a
deadline), ``feed.on_connect``, send the subscriptions, then read frames and pass each one
synchronously to the feed and the event sink (no queue or task switch on the hot path). A
per-session watchdog enforces the feed's ``ConnectionPolicy``: keepalive pings, pong deadline,
staleness (``time.monotonic_ns``) and the proactive session rollover (Binance, 24 h); it ends a
session by closing the socket, which also bounds the otherwise deadline-free ``receive``. Sessions
that end are retried with exponential backoff, full jitter and a cap; a stable session resets
the backoff. A snapshot task fetches ``pending_snapshots`` over REST (aiohttp, under
``asyncio.timeout``) with retries, and a monitor task resyncs instruments whose book stopped
updating and exports the feed's counters as Prometheus metrics.

Transport: the WebSocket client is selectable (``SupervisorOptions.transport``: ``aiohttp`` or
``websockets``, both behind ``bot.ingest.transport.WsConnection``; the default is the one
``python -m benchmarks transport`` measured faster). REST always uses aiohttp.

Everything runs under ``asyncio.TaskGroup``; cancellation propagates (``CancelledError`` is never
swallowed) and sockets are closed in ``finally`` blocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import aiohttp
import numpy as np

from bot.adapters.base import (
    EventBuffer,
    FrameError,
    MarketDataFeed,
    SnapshotRequest,
    gunzip_frame,
)
from bot.adapters.errors import AdapterError, FatalError, classify_http_status
from bot.core.book import ST_LAST_TS, ST_VALID
from bot.ingest.backoff import Backoff
from bot.ingest.metrics import FeedMetrics
from bot.ingest.sinks import EventSink, QueueSink
from bot.ingest.transport import (
    DEFAULT_TRANSPORT,
    HandshakeError,
    TransportName,
    WsConnection,
    WsTransport,
    make_transport,
)

log = logging.getLogger(__name__)

_RETRYABLE = (aiohttp.ClientError, OSError, TimeoutError, ConnectionError)
_FATAL_HANDSHAKE = frozenset({400, 401, 404, 410})
_RATE_LIMITED = frozenset({418, 429})
"""Too many requests, and Binance's IP ban after ignoring 429s: both carry ``Retry-After``."""
_PLANNED = frozenset({"session_rollover", "venue_notice"})
"""End reasons of planned reconnects: made before the old socket breaks, without backoff."""
_S = 1e-9
OVERLAP_MIN_BYTES = 64
"""Handover: only frames at least this long prove the two streams overlap (data pushes are
identical on every connection; short heartbeats such as BingX's ``Ping`` are not evidence)."""


class FrameTap(Protocol):
    """Receives every raw frame and REST body (the recorder), before parsing."""

    def ws(self, src: str, data: str | bytes, ts_local_ns: int) -> None: ...

    def rest(self, src: str, body: bytes, ts_local_ns: int) -> None: ...


@dataclass(frozen=True, slots=True)
class SupervisorOptions:
    """Knobs of the supervisor (venue rules come from the feed's ``ConnectionPolicy``)."""

    backoff: Backoff = field(default_factory=Backoff)
    snapshot_backoff: Backoff = field(default_factory=lambda: Backoff(base_s=0.5, cap_s=10.0))
    connect_timeout_s: float = 10.0
    send_timeout_s: float = 5.0
    close_timeout_s: float = 2.0
    watchdog_period_s: float = 0.25
    handover_timeout_s: float = 10.0
    """Planned reconnect: switch to the new socket at the latest this long after it opened (the
    old one may be silent, a quiet market)."""
    monitor_period_s: float = 1.0
    instrument_stale_s: float | None = None
    """Resync an instrument whose book has not changed for this long (None: off; quiet markets
    are legitimate, connection staleness is always enforced)."""
    snapshot_concurrency: int = 2
    snapshot_client_attempts: int = 3
    """A snapshot refused with a 4xx (not 429/418) is tried this often, then given up on: the
    request itself is wrong (unknown symbol) and retrying would not fix it."""
    rate_limit_wait_s: float = 60.0
    """Wait after a 429/418 without a usable ``Retry-After``."""
    snapshot_min_interval_s: float = 1.0
    """At most one snapshot per instrument per interval: a venue serving stale snapshots (or
    a flapping stream) must not turn resyncs into a request storm (Binance: weight 20 each)."""
    max_frame_bytes: int = 64 << 20
    transport: TransportName = DEFAULT_TRANSPORT
    """WebSocket client library (``bot.ingest.transport``); REST always uses aiohttp."""
    yield_every: int = 64
    """Let other tasks run after this many consecutive frames (bounds event-loop lag)."""


@dataclass(slots=True)
class _Socket:
    """One open WebSocket of a connection slot (two of them overlap during a handover)."""

    ws: WsConnection
    started_ns: int
    last_rx_ns: int
    ping_sent_ns: int = 0
    end_reason: str = ""
    gated: bool = False
    """Handover: this socket's frames go through ``held`` / ``skip`` first (the new socket)."""
    held: list[tuple[str | bytes, int]] | None = None
    """Handover: frames of the new socket held back until the switch."""
    skip: set[str | bytes] | None = None
    """After the switch: frames the old socket already fed that may still arrive here."""
    fed: dict[str | bytes, int] | None = None
    """Handover: frames the old socket fed meanwhile (at least ``OVERLAP_MIN_BYTES``), in order."""
    retired: bool = False
    """Handover done: the old socket stops feeding frames at once."""


@dataclass(slots=True)
class _Conn:
    url: str
    index: int
    ws: WsConnection | None = None
    sock: _Socket | None = None
    successor: tuple[_Socket, asyncio.Task[None]] | None = None
    """A socket that took over in a planned reconnect, with the task reading it."""
    sessions: int = 0


@dataclass(slots=True)
class SupervisorState:
    """What tests and health checks can observe."""

    connected: dict[str, bool] = field(default_factory=dict)
    sessions: dict[str, int] = field(default_factory=dict)
    end_reasons: list[str] = field(default_factory=list)
    snapshot_failures: int = 0
    handovers: int = 0
    """Planned reconnects completed make-before-break (the books stayed valid)."""
    rest_errors: dict[str, int] = field(default_factory=dict)
    """Failed REST snapshot requests by class (``client``, ``rate_limit``, ``server``, ...)."""


class FeedSupervisor:
    """Run one feed's connections, snapshots and monitoring until cancelled."""

    def __init__(
        self,
        feed: MarketDataFeed,
        sink: EventSink,
        state_array: np.ndarray,
        *,
        symbols: dict[int, str],
        options: SupervisorOptions | None = None,
        tap: FrameTap | None = None,
        rng: random.Random | None = None,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.feed = feed
        self.sink = sink
        self.options = options or SupervisorOptions()
        self.tap = tap
        self.status = SupervisorState()
        self._book_state = state_array
        self._rng = rng or random.Random()
        self._wall_ns = wall_ns
        self._out = EventBuffer(1 << 14)
        self._snapshot_queue: asyncio.Queue[SnapshotRequest] = asyncio.Queue()
        self._queued: set[SnapshotRequest] = set()
        self._last_snapshot_ns: dict[int, int] = {}
        self._conns: list[_Conn] = []
        self._http: aiohttp.ClientSession | None = None
        self._transport: WsTransport | None = None
        self._tg: asyncio.TaskGroup | None = None
        self._rest_blocked_until_ns = 0
        self.metrics = FeedMetrics(feed.venue.label, symbols, book_stream(feed))

    async def run(self) -> None:
        """Run until cancelled; raise ``FatalError`` if the venue refuses us for good."""
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.options.connect_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            self._http = http
            self._transport = make_transport(self.options.transport, http)
            try:
                async with asyncio.TaskGroup() as tg:
                    self._tg = tg
                    for index, url in enumerate(self.feed.ws_urls()):
                        conn = _Conn(url=url, index=index)
                        self._conns.append(conn)
                        tg.create_task(self._connection_loop(conn), name=f"ws-{index}")
                    for k in range(self.options.snapshot_concurrency):
                        tg.create_task(self._snapshot_worker(), name=f"snapshot-{k}")
                    tg.create_task(self._monitor(), name="monitor")
            finally:
                await self._transport.aclose()
                self._http = None
                self._transport = None
                self._export()

    # -- WebSocket sessions ------------------------------------------------------------------
    async def _connection_loop(self, conn: _Conn) -> None:
        attempt = 0
        backoff = self.options.backoff
        while True:
            began = time.monotonic_ns()
            adopted, conn.successor = conn.successor, None
            reason = await self._session(conn, adopted)
            lasted_s = (time.monotonic_ns() - began) * _S
            attempt = 0 if lasted_s >= backoff.stable_after_s else attempt + 1
            self.status.end_reasons.append(reason)
            self.metrics.reconnect(reason)
            if conn.successor is not None:
                log.info("%s connection %d handed over to a new socket (%s)",
                         self.feed.venue.label, conn.index, reason)  # fmt: skip
                continue
            delay = 0.0 if reason in _PLANNED else backoff.delay(attempt, self._rng)
            log.info("%s connection %d ended (%s); reconnecting in %.3f s",
                     self.feed.venue.label, conn.index, reason, delay)  # fmt: skip
            await asyncio.sleep(delay)

    async def _open(self, url: str) -> WsConnection:
        """Open one WebSocket under the connect deadline (``HandshakeError`` propagates)."""
        assert self._transport is not None
        return await self._transport.connect(
            url,
            max_frame_bytes=self.options.max_frame_bytes,
            timeout_s=self.options.connect_timeout_s,
        )

    async def _session(
        self, conn: _Conn, adopted: tuple[_Socket, asyncio.Task[None]] | None = None
    ) -> str:
        """Run one session; return why it ended (retryable). Raise FatalError otherwise.

        ``adopted``: the socket a planned reconnect already opened, subscribed and is reading.
        """
        if adopted is None:
            try:
                ws = await self._open(conn.url)
            except HandshakeError as e:
                if e.status in _FATAL_HANDSHAKE:
                    raise FatalError(
                        f"{self.feed.venue.label}: handshake refused with HTTP {e.status}"
                    ) from None
                return f"handshake_{e.status}"
            except _RETRYABLE as e:
                return _reason(e, "connect_failed")
            now = time.monotonic_ns()
            sock = _Socket(ws=ws, started_ns=now, last_rx_ns=now)
        else:
            sock = adopted[0]
            ws = sock.ws
        conn.sock, conn.ws = sock, ws
        conn.sessions += 1
        self.status.sessions[conn.url] = conn.sessions
        self.status.connected[conn.url] = True
        self.metrics.connected(conn.index, True)
        try:
            async with asyncio.TaskGroup() as tg:
                watchdog = tg.create_task(self._watchdog(conn, sock), name=f"watchdog-{conn.index}")
                try:
                    if adopted is None:
                        await self._start(conn, sock)
                        await self._receive(conn, sock)
                    else:
                        await adopted[1]
                finally:
                    watchdog.cancel()
        except* _RETRYABLE as group:
            sock.end_reason = sock.end_reason or _reason(group.exceptions[0], "error")
        finally:
            if conn.successor is None:
                self.status.connected[conn.url] = False
                self.metrics.connected(conn.index, False)
                conn.sock, conn.ws = None, None
                # The books this socket carried stop updating now: they must not stay valid
                # until the next session happens to connect (that may take the whole backoff).
                # Not when the supervisor itself is being stopped: its consumer is going too.
                task = asyncio.current_task()
                if task is None or not task.cancelling():
                    self.feed.on_disconnect(self._wall_ns(), self._out, url=conn.url)
                    self._publish()
            with contextlib.suppress(*_RETRYABLE):
                async with asyncio.timeout(self.options.close_timeout_s):
                    await ws.close()
        return sock.end_reason or "closed_by_server"

    async def _start(self, conn: _Conn, sock: _Socket) -> None:
        """Reset the feed's sync state for this connection and subscribe."""
        self.feed.on_connect(self._wall_ns(), self._out, url=conn.url)
        self._publish()
        for frame in self.feed.subscribe_messages():
            await self._send(sock.ws, frame)
        await self._after_message(sock.ws)

    async def _receive(self, conn: _Conn, sock: _Socket) -> None:
        ws = sock.ws
        feed = self.feed
        out = self._out
        tap = self.tap
        gz = feed.policy.gzip_frames
        src = urlsplit(conn.url).path
        yield_every = self.options.yield_every
        count = 0
        while True:
            data = await ws.receive()
            if data is None:
                if ws.failed:
                    sock.end_reason = sock.end_reason or "transport_error"
                return
            if sock.retired:
                return  # a planned reconnect switched to the new socket
            count += 1
            if count >= yield_every:
                # A saturated socket never makes the transport's reader wait, so nothing else would
                # run (timers, the order path): give the loop a turn every few frames.
                count = 0
                await asyncio.sleep(0)
            sock.last_rx_ns = time.monotonic_ns()
            ts = self._wall_ns()
            if gz and type(data) is bytes:
                try:
                    data = gunzip_frame(data)  # bounded: a gzip bomb is a malformed frame
                except FrameError:
                    feed.stats.malformed += 1
                    continue
            if sock.gated and not _admit(sock, data, ts):
                continue
            if tap is not None:
                tap.ws(src, data, ts)
            feed.on_message(data, ts, out)
            if sock.fed is not None and len(data) >= OVERLAP_MIN_BYTES:
                sock.fed.setdefault(data, len(sock.fed))
            if out.n:
                self._publish()
            self._queue_snapshots()
            outgoing = feed.take_outgoing()
            if outgoing:
                for frame in outgoing:
                    await self._send(ws, frame)

    async def _read_successor(self, conn: _Conn, sock: _Socket) -> None:
        """Read the socket a planned reconnect opened (its errors end its session, not us)."""
        try:
            await self._receive(conn, sock)
        except _RETRYABLE as e:
            sock.end_reason = sock.end_reason or _reason(e, "error")

    async def _handover(self, conn: _Conn, old: _Socket, reason: str) -> bool:
        """Make-before-break: open and subscribe a new socket, switch to it, retire ``old``.

        The new socket's frames are held back until one of them is a frame the old socket has
        also fed (venues push the same bytes on every connection): the two streams then
        provably overlap, even when one connection lags the other. At the switch, in one step
        with no await, the old socket stops feeding and the held frames after that common one
        are fed in order; frames the old socket fed beyond it are dropped when they arrive on
        the new one. The feed sees one continuous stream, and the new subscription's own
        snapshot (Bybit, OKX), which precedes the common frame, is not needed. With no common
        frame within ``handover_timeout_s`` (a silent market) every held frame is fed and the
        feed's sequence rules absorb the overlap. Return False (the caller falls back to a
        plain reconnect) if the new socket cannot be opened.
        """
        try:
            ws = await self._open(conn.url)
        except _RETRYABLE as e:  # handshake errors are ClientErrors too
            log.warning("%s connection %d: planned reconnect could not open a new socket (%s)",
                        self.feed.venue.label, conn.index, type(e).__name__)  # fmt: skip
            return False
        now = time.monotonic_ns()
        new = _Socket(ws=ws, started_ns=now, last_rx_ns=now, gated=True, held=[])
        old.fed = {}
        assert self._tg is not None
        try:
            for frame in self.feed.subscribe_messages():
                await self._send(ws, frame)
        except _RETRYABLE:
            with contextlib.suppress(*_RETRYABLE):
                await ws.close()
            return False
        reader = self._tg.create_task(self._read_successor(conn, new), name=f"ws-{conn.index}-next")
        deadline = now + int(self.options.handover_timeout_s / _S)
        period = self.options.watchdog_period_s / 4
        try:
            while time.monotonic_ns() < deadline and not reader.done():
                if _overlap(old, new) is not None:
                    break
                await asyncio.sleep(period)
        except BaseException:  # the old session ended meanwhile (or we are cancelled)
            old.fed = None
            reader.cancel()
            with contextlib.suppress(*_RETRYABLE):
                await ws.close()
            raise
        if reader.done():  # the new socket failed before the switch
            old.fed = None
            with contextlib.suppress(*_RETRYABLE):
                await ws.close()
            return False
        # The switch: nothing below awaits until the held frames are fed.
        old.retired = True
        old.end_reason = reason
        held = new.held or []
        common = _overlap(old, new)
        if common is None:
            log.info("%s connection %d: no frame in common within %.1f s; feeding all held",
                     self.feed.venue.label, conn.index,
                     self.options.handover_timeout_s)  # fmt: skip
            start, skip = 0, set()
        else:
            start, after = common[0] + 1, common[1]
            skip = {f for f, k in (old.fed or {}).items() if k > after}
        old.fed, new.held = None, None
        new.skip = skip or None
        new.gated = new.skip is not None
        src = urlsplit(conn.url).path
        for data, ts in held[start:]:
            if new.skip is not None and not _admit(new, data, ts):
                continue
            if self.tap is not None:
                self.tap.ws(src, data, ts)
            self.feed.on_message(data, ts, self._out)
            if self._out.n:
                self._publish()
        self._queue_snapshots()
        conn.successor = (new, reader)
        self.status.handovers += 1
        await self._after_message(ws)
        return True

    def _queue_snapshots(self) -> None:
        for request in self.feed.pending_snapshots():
            if request not in self._queued:
                self._queued.add(request)
                self._snapshot_queue.put_nowait(request)

    async def _after_message(self, ws: WsConnection | None) -> None:
        self._queue_snapshots()
        outgoing = self.feed.take_outgoing()
        if ws is not None:
            for frame in outgoing:
                await self._send(ws, frame)

    async def _send(self, ws: WsConnection, frame: str) -> None:
        async with asyncio.timeout(self.options.send_timeout_s):
            await ws.send(frame)

    def _publish(self) -> None:
        out = self._out
        if out.n:
            self.sink(out.view())
            out.clear()
        sink = self.sink
        if isinstance(sink, QueueSink) and sink.overflowed:
            sink.overflowed = False
            self.metrics.dropped_batch()
            now = self._wall_ns()
            for inst in self.metrics.instruments():
                self.feed.resync(inst, "queue_overflow", now, out)
            if out.n:
                sink(out.view())
                out.clear()

    async def _watchdog(self, conn: _Conn, sock: _Socket) -> None:
        """Enforce keepalive, pong deadline, staleness and planned reconnects for one socket."""
        policy = self.feed.policy
        keep = policy.keepalive
        period = self.options.watchdog_period_s
        ws = sock.ws
        while True:
            await asyncio.sleep(period)
            if conn.sock is not sock:
                return
            now = time.monotonic_ns()
            idle_s = (now - sock.last_rx_ns) * _S
            reason = ""
            if (
                policy.max_session_s is not None
                and (now - sock.started_ns) * _S >= policy.max_session_s
            ):
                reason = "session_rollover"
            elif self.feed.reconnect_requested:
                self.feed.reconnect_requested = False
                reason = "venue_notice"
            elif idle_s >= policy.stale_after_s:
                reason = "stale"
            elif (
                sock.ping_sent_ns
                and sock.last_rx_ns < sock.ping_sent_ns
                and ((now - sock.ping_sent_ns) * _S >= keep.pong_timeout_s)
            ):
                reason = "pong_timeout"
            if reason:
                if reason in _PLANNED and await self._handover(conn, sock, reason):
                    with contextlib.suppress(*_RETRYABLE):
                        async with asyncio.timeout(self.options.close_timeout_s):
                            await ws.close()
                    return
                sock.end_reason = reason
                async with asyncio.timeout(self.options.close_timeout_s):
                    await ws.close()
                return
            if keep.interval_s is None:
                continue
            since_ping_s = (now - sock.ping_sent_ns) * _S if sock.ping_sent_ns else float("inf")
            # A ping still waiting for its answer is not repeated: a new one would push the
            # pong deadline back forever whenever interval_s < pong_timeout_s.
            awaiting_pong = sock.ping_sent_ns and sock.last_rx_ns < sock.ping_sent_ns
            due = (
                not awaiting_pong
                and since_ping_s >= keep.interval_s
                and (not keep.only_when_idle or idle_s >= keep.interval_s)
            )
            if due:
                sock.ping_sent_ns = now
                async with asyncio.timeout(self.options.send_timeout_s):
                    if keep.text is None:
                        await ws.ping()
                    else:
                        await ws.send(keep.text)

    # -- REST snapshots ----------------------------------------------------------------------
    async def _snapshot_worker(self) -> None:
        while True:
            request = await self._snapshot_queue.get()
            last = self._last_snapshot_ns.get(request.instrument)
            if last is not None:
                wait_s = self.options.snapshot_min_interval_s - (time.monotonic_ns() - last) * _S
                if wait_s > 0:
                    await asyncio.sleep(wait_s)
            self._last_snapshot_ns[request.instrument] = time.monotonic_ns()
            body = await self._fetch_with_retries(request)
            self._queued.discard(request)
            if body is None:
                continue
            ts = self._wall_ns()
            if self.tap is not None:
                self.tap.rest(request.path, body, ts)
            self.feed.on_snapshot(request, body, ts, self._out)
            self._publish()
            await self._after_message(self._any_ws())

    async def _fetch_with_retries(self, request: SnapshotRequest) -> bytes | None:
        """Fetch until it succeeds; None if the venue refuses the request itself (4xx).

        Rate limits (429, 418) wait at least the venue's ``Retry-After``, and every worker waits
        with them (the limit is the IP's); 5xx, timeouts and network errors back off; any other
        4xx is retried ``snapshot_client_attempts`` times only, then the instrument stays
        invalid until its connection reconnects.
        """
        attempt = 0
        client_failures = 0
        while True:
            await self._rest_pause()
            failure = await self._fetch(request)
            if isinstance(failure, bytes):
                return failure
            error_class, retry_after_s = failure
            self.status.snapshot_failures += 1
            self.status.rest_errors[error_class] = self.status.rest_errors.get(error_class, 0) + 1
            self.metrics.snapshot_failed(error_class)
            if error_class == "client":
                client_failures += 1
                if client_failures >= self.options.snapshot_client_attempts:
                    log.error("%s snapshot %s: refused %d times; giving up until reconnect",
                              self.feed.venue.label, request.path, client_failures)  # fmt: skip
                    return None
            delay = self.options.snapshot_backoff.delay(attempt, self._rng)
            if retry_after_s is not None:
                until = time.monotonic_ns() + int(retry_after_s / _S)
                self._rest_blocked_until_ns = max(self._rest_blocked_until_ns, until)
                delay = 0.0  # _rest_pause waits for Retry-After
            await asyncio.sleep(delay)
            attempt += 1

    async def _rest_pause(self) -> None:
        """Wait out a venue rate limit (``Retry-After``) that any worker ran into."""
        wait_ns = self._rest_blocked_until_ns - time.monotonic_ns()
        if wait_ns > 0:
            await asyncio.sleep(wait_ns * _S)

    async def _fetch(self, request: SnapshotRequest) -> bytes | tuple[str, float | None]:
        """GET one snapshot under a deadline; on failure return ``(class, retry_after_s)``."""
        assert self._http is not None
        url = self.feed.policy.rest_base_url.rstrip("/") + request.path
        began = time.monotonic_ns()
        try:
            async with asyncio.timeout(self.feed.policy.snapshot_timeout_s):
                async with self._http.get(url) as reply:
                    body = await reply.read()
                    status = reply.status
                    retry_after = reply.headers.get("Retry-After")
        except TimeoutError:
            log.warning("%s snapshot %s timed out", self.feed.venue.label, request.path)
            return "timeout", None
        except _RETRYABLE as e:
            log.warning("%s snapshot %s failed: %s", self.feed.venue.label, request.path,
                        type(e).__name__)  # fmt: skip
            return "network", None
        if status != 200:
            classify = self.feed.policy.classify_http
            error = (
                classify(status, request.path)
                if classify is not None
                else classify_http_status(self.feed.venue.label, status, request.path)
            )
            error_class = _http_class(status, error)
            log.warning("%s snapshot: %s (%s)", self.feed.venue.label, error, error_class)
            if error_class == "rate_limit":
                return error_class, _retry_after_s(retry_after, self.options.rate_limit_wait_s)
            return error_class, None
        self.metrics.snapshot_seconds((time.monotonic_ns() - began) * _S)
        return body

    # -- monitoring --------------------------------------------------------------------------
    async def _monitor(self) -> None:
        """Resync instruments whose book stopped changing; export counters."""
        last_updates: dict[int, tuple[int, int]] = {}
        stale_s = self.options.instrument_stale_s
        while True:
            await asyncio.sleep(self.options.monitor_period_s)
            now = time.monotonic_ns()
            if stale_s is not None:
                for inst in self.metrics.instruments():
                    updates = int(self._book_state[inst, ST_LAST_TS])  # moves on every message
                    seen, since = last_updates.get(inst, (-1, now))
                    if updates != seen:
                        last_updates[inst] = (updates, now)
                    elif self._book_state[inst, ST_VALID] and (now - since) * _S >= stale_s:
                        log.warning("%s instrument %d: book unchanged for %.1f s; resyncing",
                                    self.feed.venue.label, inst, (now - since) * _S)  # fmt: skip
                        self.feed.resync(inst, "stale", self._wall_ns(), self._out)
                        last_updates[inst] = (updates, now)
                        self._publish()
                        await self._after_message(self._any_ws())
            self._export()

    def _any_ws(self) -> WsConnection | None:
        """Return an open connection (single-connection venues: the one) for resubscribes."""
        return next((c.ws for c in self._conns if c.ws is not None), None)

    def _export(self) -> None:
        self.metrics.export(self.feed.stats, self.feed.invalid_instruments())


def _admit(sock: _Socket, data: str | bytes, ts: int) -> bool:
    """Return whether a frame of a gated (handover) socket is fed now; hold or drop it if not."""
    if sock.held is not None:
        sock.held.append((data, ts))
        return False
    skip = sock.skip
    if skip is not None:
        if data in skip:
            skip.discard(data)  # the old socket fed it already
            if not skip:
                sock.skip, sock.gated = None, False
            return False
        if len(data) >= OVERLAP_MIN_BYTES:  # a push the old socket never had: past its end
            sock.skip, sock.gated = None, False
    return True


def _overlap(old: _Socket, new: _Socket) -> tuple[int, int] | None:
    """Return (index in ``new.held``, order on ``old``) of the first held frame the old socket
    also fed, or None while the two streams have no frame in common."""
    fed, held = old.fed, new.held
    if not fed or not held:
        return None
    for k, (data, _ts) in enumerate(held):
        if len(data) >= OVERLAP_MIN_BYTES:
            order = fed.get(data)
            if order is not None:
                return k, order
    return None


def _http_class(status: int, error: AdapterError) -> str:
    """Return the metric class of a failed REST reply."""
    if status in _RATE_LIMITED:
        return "rate_limit"
    if status >= 500:
        return "server"
    return "client" if isinstance(error, FatalError) else "retryable"


def _retry_after_s(header: str | None, default_s: float) -> float:
    """Return a ``Retry-After`` header's delay in seconds (delta-seconds form), else the default.

    The HTTP-date form is not used by the venues (Binance sends seconds) and reads as default.
    """
    if header is not None and header.strip().isdigit():
        return float(int(header.strip()))
    return default_s


def book_stream(feed: MarketDataFeed) -> str:
    """Return the URL path of the first connection that carries books (the metrics' stream)."""
    books_on = getattr(feed, "books_on", None)
    for url in feed.ws_urls():
        if books_on is None or books_on(url):
            return urlsplit(url).path
    return ""


def _reason(error: BaseException, default: str) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, aiohttp.ClientError | OSError):
        return "network_error"
    return default
