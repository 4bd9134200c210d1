"""One persistent WebSocket for order entry: requests matched to replies by id.

Binance (WebSocket API) and Bybit (WebSocket trade) accept orders on a long-lived,
authenticated connection, which saves the HTTP request line, headers and their parsing on
every order. ``WsOrderChannel`` keeps that connection: ``request`` writes one frame and waits for
the reply carrying the same id. A reply that does not come within the deadline, or a connection
that drops while requests are in flight, leaves their outcome unknown (``UnknownOutcomeError``):
the router settles them by query, exactly as for REST. Nothing is resent.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import orjson

from bot.adapters.errors import RetryableError, UnknownOutcomeError
from bot.adapters.rest.session import DEFAULT_TIMEOUT_S, RestSession
from bot.adapters.trading import WriteHook

CONNECT_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 1024 * 1024
PING_INTERVAL_S = 20.0

Handshake = Callable[[aiohttp.ClientWebSocketResponse], Awaitable[None]]
IdOf = Callable[[dict[str, Any]], str | None]


class WsOrderChannel:
    """A request/reply channel over one WebSocket (see the module docstring)."""

    def __init__(
        self,
        http: RestSession,
        url: str,
        *,
        venue: str,
        id_of: IdOf,
        handshake: Handshake | None = None,
        ping_frame: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
    ) -> None:
        self._http = http
        self.url = url
        self.venue = venue
        self._id_of = id_of
        self._handshake = handshake
        self._ping_frame = ping_frame
        self._timeout_s = timeout_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        self.connects = 0

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    async def connect(self) -> None:
        """Open (or reopen) the connection and run the venue's login."""
        async with self._lock:
            if self.connected:
                return
            try:
                async with asyncio.timeout(CONNECT_TIMEOUT_S):
                    ws = await self._http.client.ws_connect(
                        self.url, autoping=True, max_msg_size=MAX_FRAME_BYTES
                    )
                    if self._handshake is not None:
                        await self._handshake(ws)
            except (aiohttp.ClientError, TimeoutError) as e:
                raise RetryableError(f"{self.venue} order WebSocket: {type(e).__name__}") from e
            self._ws = ws
            self.connects += 1
            self._spawn(self._read(ws))
            if self._ping_frame is not None:
                self._spawn(self._ping(ws, self._ping_frame))

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            async for msg in ws:
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    break
                try:
                    reply = orjson.loads(msg.data)
                except orjson.JSONDecodeError:
                    continue
                if not isinstance(reply, dict):
                    continue
                rid = self._id_of(reply)
                fut = self._pending.pop(rid, None) if rid is not None else None
                if fut is not None and not fut.done():
                    fut.set_result(reply)
        finally:
            self._fail_pending("the order WebSocket closed")

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse, frame: str) -> None:
        while not ws.closed:
            await asyncio.sleep(PING_INTERVAL_S)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(frame)

    def _fail_pending(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(
                    UnknownOutcomeError(f"{self.venue}: {why} (outcome unknown: reconcile)")
                )

    async def request(
        self, rid: str, frame: str, on_write: WriteHook | None = None
    ) -> dict[str, Any]:
        """Write ``frame`` (whose reply carries id ``rid``) and return the reply."""
        ws = self._ws
        if ws is None or ws.closed:
            raise RetryableError(f"{self.venue}: order WebSocket not connected (nothing sent)")
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            await ws.send_str(frame)
        except (ConnectionError, RuntimeError) as e:
            self._pending.pop(rid, None)
            raise UnknownOutcomeError(f"{self.venue}: write failed (outcome unknown)") from e
        if on_write is not None:
            on_write(time.monotonic_ns())
        try:
            async with asyncio.timeout(self._timeout_s):
                return await fut
        except TimeoutError as e:
            self._pending.pop(rid, None)
            raise UnknownOutcomeError(
                f"{self.venue}: no reply within the deadline (outcome unknown: reconcile)"
            ) from e

    async def close(self) -> None:
        """Close the connection; requests still in flight become unknown outcomes."""
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._fail_pending("the order WebSocket was closed")
