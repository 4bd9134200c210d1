"""Loopback order-entry venue servers: aiohttp on 127.0.0.1 speaking each venue's signed REST
and private-stream protocol, for adapter and router tests. Nothing leaves 127.0.0.0/8.

Use::

    async with OrderVenueServer(BinancePlugin(), filters={"BTCUSDT": Filters("0.1", "0.001")}) as v:
        entry = BinanceOrderEntry(v.credentials, base_url=v.base_url, symbols=("BTCUSDT",))
        stream = BinanceUserStream(entry, ws_url=v.ws_url)
        v.set_market("BTCUSDT", bid="100", ask="101")   # marketable orders fill against it
        report = await entry.submit(...)                 # rests (NEW) unless it crosses
        v.fill(report.client_order_id, "0.4")            # a maker fill: order update + fill push

Server API (``OrderVenueServer``):

* ``base_url`` / ``ws_url``: where the adapter points its REST and WebSocket overrides;
  ``credentials``: the test key the server verifies every signature with (wrong signature,
  wrong key and stale timestamps get the venue's real error bodies).
* Matching (``matcher``, a small deterministic matcher): ``set_market(symbol, bid, ask)``;
  ``fill(client_order_id, qty, price=None)`` fills a resting order as maker;
  ``expire(client_order_id)``; ``orders`` / ``positions`` / ``fills`` to inspect;
  ``set_position(symbol, qty)``; ``margin`` caps order notional (insufficient-margin errors).
  Filters: ``Filters(tick, lot, min_qty)`` per symbol; off-grid price/size → the venue's filter
  error. Post-only that would cross → rejected or cancelled as the venue does; reduce-only that
  would increase a position → the venue's reduce-only error.
* Faults: ``fault(op, kind, times=1)`` with ``op`` one of ``OPS`` and ``kind`` one of
  ``timeout`` (no reply, nothing done), ``drop_ack`` (done, no reply), ``http_500`` (the venue's
  5xx body, nothing done), ``http_429`` (the venue's rate-limit body and ``Retry-After``, nothing
  done), ``disconnect`` (connection closed, nothing done).
  ``rate_limit(op, limit, window_s)`` enforces a sliding-window limit with the venue's reply.
  ``clock_skew_ms`` shifts the server's clock (timestamp-window errors, clock resync).
* User stream: ``hold_stream()`` / ``release_stream(reverse=False)`` buffer and release pushes
  (out-of-order delivery); ``duplicate_fills = True`` pushes every fill twice;
  ``push_raw(frame)`` sends any frame; ``drop_streams()`` disconnects every user stream;
  ``stream_count`` is the number of authenticated stream connections; ``wait_streams(n)``.
* Dead-man switch: ``dms`` maps a scope (symbol or ``"*"``) to its deadline (server ms);
  when it passes, the scope's orders are cancelled (pushed as usual). ``dms_arms`` counts arms.
* Records: ``calls[op]`` counts requests per op, ``requests`` keeps each ``RequestLog``.

A venue plugs in as an ``OrderVenuePlugin`` (``tests/support/order_venues/<venue>.py``): its
routes, signature check, reply and error bodies, and stream framing.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiohttp import web

from bot.adapters.trading import Credentials
from tests.support.order_matcher import (
    Event,
    Filters,
    Matcher,
    MatchError,
    SimFill,
    SimOrder,
    fmt,
)

__all__ = [
    "Event",
    "Filters",
    "MatchError",
    "Matcher",
    "OrderVenuePlugin",
    "OrderVenueServer",
    "SimFill",
    "SimOrder",
    "fmt",
]

OPS = (
    "new",
    "cancel",
    "cancel_all",
    "amend",
    "query",
    "open_orders",
    "fills",
    "position",
    "balance",
    "dms",
    "time",
    "listen_key",
    "stream",
)
FAULT_KINDS = ("timeout", "drop_ack", "http_500", "http_429", "disconnect")
DMS_CHECK_S = 0.01


@dataclass
class RequestLog:
    """One request as received."""

    op: str
    method: str
    path: str
    query: str
    body: bytes
    headers: dict[str, str]


Handler = Callable[["OrderVenueServer", web.Request, bytes], Awaitable[web.StreamResponse]]


class OrderVenuePlugin:
    """A venue's side of the loopback server (subclassed in ``tests/support/order_venues/``)."""

    name = "venue"
    api_key = "test-key-0123456789"
    api_secret = "test-secret-canary-5f3a9c"
    passphrase: str | None = None
    post_only_rejects = False

    def routes(self) -> list[tuple[str, str, str, Handler]]:
        """(method, path, op, handler) for every REST route."""
        raise NotImplementedError

    def ws_routes(
        self,
    ) -> list[tuple[str, Callable[[OrderVenueServer, web.Request], Awaitable[web.StreamResponse]]]]:
        return []

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        """The venue's reply for a refusal ``kind`` (MatchError kinds, ``auth``, ``timestamp``,
        ``rate_limit`` (the venue's own limit reply), ``http_429``, ``server_error``)."""
        raise NotImplementedError

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        """User-stream frames for matcher events."""
        raise NotImplementedError

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        """Check key, signature and timestamp; return an error kind or None."""
        raise NotImplementedError


class OrderVenueServer:
    """The loopback venue (see the module docstring for its API)."""

    def __init__(
        self,
        plugin: OrderVenuePlugin,
        filters: dict[str, Filters] | None = None,
    ) -> None:
        self.plugin = plugin
        self.clock_skew_ms = 0
        self.matcher = Matcher(filters or {}, self.now_ms)
        self.matcher.post_only_rejects = plugin.post_only_rejects
        self.calls: Counter[str] = Counter()
        self.requests: list[RequestLog] = []
        self._faults: dict[str, deque[str]] = {}
        self._limits: dict[str, tuple[int, float, deque[float]]] = {}
        self.streams: list[web.WebSocketResponse] = []
        self._stream_changed = asyncio.Condition()
        self.stream_connections = 0
        self._held: list[str | bytes] | None = None
        self.duplicate_fills = False
        self.dms: dict[str, int] = {}
        self.dms_arms = 0
        self._stop = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> OrderVenueServer:
        app = web.Application(middlewares=[self._middleware])
        for method, path, op, handler in self.plugin.routes():
            app.router.add_route(method, path, self._wrap(op, handler))
        for path, ws_handler in self.plugin.ws_routes():
            app.router.add_get(path, self._wrap_ws(ws_handler))
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._tasks.add(asyncio.create_task(self._dms_loop()))
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
        for ws in list(self.streams):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.plugin.api_key, self.plugin.api_secret, self.plugin.passphrase)

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_skew_ms

    # -- test controls -----------------------------------------------------------------------

    def set_market(self, symbol: str, bid: str, ask: str) -> None:
        self.matcher.market[symbol] = (Decimal(bid), Decimal(ask))

    def set_position(self, symbol: str, qty: str, entry: str = "100") -> None:
        self.matcher.positions[symbol] = Decimal(qty)
        self.matcher.entry[symbol] = Decimal(entry)

    @property
    def orders(self) -> dict[str, SimOrder]:
        return self.matcher.orders

    @property
    def positions(self) -> dict[str, Decimal]:
        return self.matcher.positions

    @property
    def fills(self) -> list[SimFill]:
        return self.matcher.fills

    def fill(self, client_order_id: str, qty: str, price: str | None = None) -> None:
        """A maker fill of a resting order, pushed on the user stream."""
        self.publish(self.matcher.fill(client_order_id, qty, price))

    def expire(self, client_order_id: str) -> None:
        o = self.matcher.find(client_order_id)
        self.publish(self.matcher._close(o, "EXPIRED"))

    def fault(self, op: str, kind: str, times: int = 1) -> None:
        assert op in OPS, op
        assert kind in FAULT_KINDS, kind
        self._faults.setdefault(op, deque()).extend([kind] * times)

    def rate_limit(self, op: str, limit: int, window_s: float) -> None:
        self._limits[op] = (limit, window_s, deque())

    def hold_stream(self) -> None:
        self._held = []

    def release_stream(self, *, reverse: bool = False) -> None:
        held, self._held = self._held or [], None
        for frame in reversed(held) if reverse else held:
            self._send_frame(frame)

    def push_raw(self, frame: str | bytes) -> None:
        self._send_frame(frame)

    def drop_streams(self) -> None:
        for ws in list(self.streams):
            self._spawn(ws.close())
        self.streams.clear()

    @property
    def stream_count(self) -> int:
        return len(self.streams)

    async def wait_streams(self, n: int, timeout_s: float = 10.0) -> None:
        async with asyncio.timeout(timeout_s), self._stream_changed:
            await self._stream_changed.wait_for(lambda: len(self.streams) >= n)

    # -- plumbing used by plugins ------------------------------------------------------------

    def publish(self, events: list[Event]) -> None:
        """Push matcher events to every user stream (honouring hold / duplicate)."""
        if self.duplicate_fills:
            events = [e for ev in events for e in ([ev, ev] if ev[0] == "fill" else [ev])]
        for frame in self.plugin.stream_frames(self, events):
            if self._held is not None:
                self._held.append(frame)
            else:
                self._send_frame(frame)

    def _send_frame(self, frame: str | bytes) -> None:
        for ws in list(self.streams):
            if ws.closed:
                continue
            coro = ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame)
            self._spawn(coro)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def arm_dms(self, scope: str, timeout_ms: int) -> int:
        """Arm (or with 0 disarm) the dead-man switch of ``scope``; return the deadline."""
        self.dms_arms += 1
        if timeout_ms <= 0:
            self.dms.pop(scope, None)
            return 0
        self.dms[scope] = self.now_ms() + timeout_ms
        return self.dms[scope]

    async def _dms_loop(self) -> None:
        while True:
            await asyncio.sleep(DMS_CHECK_S)
            now = self.now_ms()
            for scope, deadline in list(self.dms.items()):
                if now >= deadline:
                    del self.dms[scope]
                    self.publish(self.matcher.cancel_all(None if scope == "*" else scope))

    async def add_stream(self, ws: web.WebSocketResponse) -> None:
        """Register an authenticated stream connection and serve it until it closes."""
        self.streams.append(ws)
        self.stream_connections += 1
        async with self._stream_changed:
            self._stream_changed.notify_all()
        try:
            async for _msg in ws:
                pass
        finally:
            if ws in self.streams:
                self.streams.remove(ws)

    # -- request handling ---------------------------------------------------------------------

    @web.middleware
    async def _middleware(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await handler(request)

    async def _hang(self) -> web.Response:
        await self._stop.wait()
        return web.Response(status=504)

    def begin_call(
        self,
        op: str,
        method: str,
        path: str,
        query: str = "",
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> str | None:
        """Record one request (REST or WebSocket order entry); return its injected fault."""
        self.calls[op] += 1
        self.requests.append(RequestLog(op, method, path, query, body, headers or {}))
        faults = self._faults.get(op)
        return faults.popleft() if faults else None

    def limited(self, op: str) -> bool:
        spec = self._limits.get(op)
        if spec is None:
            return False
        limit, window_s, stamps = spec
        now = time.monotonic()
        while stamps and now - stamps[0] > window_s:
            stamps.popleft()
        if len(stamps) >= limit:
            return True
        stamps.append(now)
        return False

    def _wrap(
        self, op: str, handler: Handler
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            body = await request.read()
            resolved = op if op != "*" else self.plugin.op_of(request, body)
            kind = self.begin_call(
                resolved,
                request.method,
                request.path,
                request.query_string,
                body,
                dict(request.headers),
            )
            if kind == "timeout":
                return await self._hang()
            if kind == "disconnect":
                assert request.transport is not None
                request.transport.close()
                return await self._hang()
            if kind == "http_500":
                return self.plugin.error(self, "server_error", resolved)
            if kind == "http_429":
                return self.plugin.error(self, "http_429", resolved)
            if self.limited(resolved):
                return self.plugin.error(self, "rate_limit", resolved)
            bad = self.plugin.verify(self, request, body, resolved)
            if bad is not None:
                return self.plugin.error(self, bad, resolved)
            try:
                response = await handler(self, request, body)
            except MatchError as e:
                return self.plugin.error(self, e.kind, resolved)
            if kind == "drop_ack":
                return await self._hang()
            return response

        return run

    def _wrap_ws(
        self, handler: Callable[[OrderVenueServer, web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            self.calls["stream"] += 1
            faults = self._faults.get("stream")
            if faults:
                faults.popleft()
                return web.Response(status=503)
            return await handler(self, request)

        return run
