"""The authenticated WebSocket user-stream loop shared by the venues' ``user_stream.py``.

A venue subclass says where to connect (``_url``: a listen-key URL or a private endpoint), how
to log in and subscribe (``_handshake``), what its application-level ping is (``_ping_frame``)
and how to turn one frame into reports (``_parse``, a pure function tested on real pushes).
Each session first yields ``StreamConnected`` (logged in and subscribed), on which the router
reconciles with REST, so nothing between two sessions is lost. Iteration ends when the
connection is lost; the router iterates again, which reconnects. Protocol-level pings are
answered by aiohttp.

A frame ``_parse`` cannot read (not JSON, a field missing or of the wrong type, a number that
is not a decimal: ``check_report``) is counted in ``malformed``, logged, and ends the
iteration with a ``RetryableError``: it may have carried a fill, and the reconciliation that
follows every reconnect fetches the fills the bot missed, so nothing is lost (a skipped frame
alone would drop that fill until the next reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from bot.adapters.errors import FatalError, RetryableError
from bot.adapters.rest.entry import check_report
from bot.adapters.rest.session import RestSession
from bot.adapters.trading import FillReport, OrderReport, StreamConnected

log = logging.getLogger(__name__)

Report = OrderReport | FillReport
MALFORMED_ERRORS = (ValueError, LookupError, TypeError, AttributeError, ArithmeticError)
"""What parsing a bad private frame can raise (orjson's decode error is a ValueError, a missing
field a KeyError, a field of the wrong type a TypeError or AttributeError)."""
LOGGED_FRAME_BYTES = 120
HANDSHAKE_TIMEOUT_S = 10.0
MAX_FRAME_BYTES = 4 * 1024 * 1024
MAX_INFLATED_BYTES = 16 * 1024 * 1024


def gunzip(data: bytes) -> bytes:
    """Inflate one gzip frame (BingX), bounded so a hostile frame cannot exhaust memory."""
    out = gzip.decompress(data)
    if len(out) > MAX_INFLATED_BYTES:
        raise RetryableError("inflated frame too large")
    return out


class WsUserStream:
    """Connect, authenticate, subscribe, keep alive, yield reports (see the module docstring)."""

    venue_name = "venue"
    ping_interval_s = 20.0

    def __init__(self, http: RestSession, *, ws_url: str) -> None:
        self._http = http
        self.ws_url = ws_url
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        self.malformed = 0
        """Frames ``_parse`` could not read (each one ended a connection: see the module doc)."""

    async def _url(self) -> str:
        return self.ws_url

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Log in and subscribe; raise ``FatalError`` if the venue refuses the login."""

    def _ping_frame(self) -> str | None:
        return None

    def _parse(self, data: bytes) -> list[Report]:
        raise NotImplementedError

    def parse_frame(self, data: bytes) -> list[Report] | None:
        """Return the reports in one frame, or None (counted and logged) if it is malformed."""
        try:
            return [check_report(r) for r in self._parse(data)]
        except MALFORMED_ERRORS as e:
            self.malformed += 1
            log.warning(
                "%s user stream: malformed frame (%s): %r",
                self.venue_name,
                type(e).__name__,
                data[:LOGGED_FRAME_BYTES],
            )
            return None

    async def _on_connected(self) -> None:
        """Start venue-specific side work (listen-key keepalive)."""

    async def _on_disconnected(self) -> None:
        """Stop it again."""

    @staticmethod
    async def receive_json(ws: aiohttp.ClientWebSocketResponse) -> Any:
        """Read the next data frame as JSON, skipping text pongs (handshake helper)."""
        async with asyncio.timeout(HANDSHAKE_TIMEOUT_S):
            while True:
                msg = await ws.receive()
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    raise RetryableError("user stream closed during the handshake")
                if msg.type is aiohttp.WSMsgType.ERROR:
                    raise RetryableError("user stream failed during the handshake")
                raw = msg.data if isinstance(msg.data, bytes) else msg.data.encode()
                if msg.type is aiohttp.WSMsgType.BINARY:
                    raw = gunzip(raw)
                if raw.strip().lower() in (b"pong", b"ping"):
                    continue
                return orjson.loads(raw)

    async def _pinger(self, ws: aiohttp.ClientWebSocketResponse, frame: str) -> None:
        while not ws.closed:
            await asyncio.sleep(self.ping_interval_s)
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(frame)

    async def reports(self) -> AsyncIterator[Report | StreamConnected]:
        """Yield ``StreamConnected`` once logged in and subscribed, then the venue's order
        updates and fills until the connection is lost (the router reconciles on the first)."""
        if self._closed:
            raise FatalError(f"{self.venue_name} user stream is closed")
        url = await self._url()
        try:
            ws = await self._http.client.ws_connect(
                url,
                autoping=True,
                max_msg_size=MAX_FRAME_BYTES,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=5.0),
            )
        except (aiohttp.ClientError, TimeoutError) as e:
            raise RetryableError(f"{self.venue_name} user stream: {type(e).__name__}") from e
        self._ws = ws
        pinger: asyncio.Task[None] | None = None
        try:
            await self._handshake(ws)
            await self._on_connected()
            yield StreamConnected(time.monotonic_ns())
            frame = self._ping_frame()
            if frame is not None:
                pinger = asyncio.create_task(self._pinger(ws, frame))
            async for msg in ws:
                if msg.type is aiohttp.WSMsgType.TEXT:
                    data = msg.data.encode()
                elif msg.type is aiohttp.WSMsgType.BINARY:
                    data = gunzip(msg.data)
                else:
                    break
                if await self._control(ws, data):
                    continue
                reports = self.parse_frame(data)
                if reports is None:
                    raise RetryableError(
                        f"{self.venue_name} user stream: malformed frame (reconnect, reconcile)"
                    )
                for report in reports:
                    yield report
        finally:
            if pinger is not None:
                pinger.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pinger
            await self._on_disconnected()
            await ws.close()
            self._ws = None

    async def _control(self, ws: aiohttp.ClientWebSocketResponse, data: bytes) -> bool:
        """Answer text keepalives; True if ``data`` was one."""
        low = data.strip().lower()
        if low == b"ping":
            await ws.send_str("Pong" if data.strip() == b"Ping" else "pong")
            return True
        return low == b"pong"

    async def disconnect(self) -> None:
        """Drop the current connection (the router reconnects by iterating again)."""
        if self._ws is not None:
            await self._ws.close()

    async def close(self) -> None:
        """Close for good."""
        self._closed = True
        await self.disconnect()
