"""WebSocket transports behind one connection interface: ``aiohttp`` or ``websockets``.

The supervisor only ever sees a ``WsConnection``: ``receive`` returns the next text frame as
``str`` or binary frame as ``bytes`` (``None`` once the connection has ended), ``send``, ``ping``
and ``close``. Both transports answer the server's protocol pings with pongs themselves, send no
pings of their own (keepalive is the feed's ``ConnectionPolicy``, enforced by the supervisor) and
negotiate no compression. A refused handshake raises ``HandshakeError`` with the HTTP status; every
other failure to open, send or ping raises an ``OSError`` (``ConnectionError`` /
``TimeoutError``), so callers handle one family of errors whichever transport runs.

Choose with ``transport: aiohttp | websockets`` in a venue's config section or
``SupervisorOptions(transport=...)``. The default is the faster of the two as measured by
``make bench`` (``python -m benchmarks transport``: loopback throughput and per-frame receive
latency, same run); docs/venues.md states the figures. REST (snapshots) always uses aiohttp.
"""

from __future__ import annotations

import asyncio
from typing import Literal, Protocol

import aiohttp
import websockets
import websockets.asyncio.client
import websockets.exceptions

TransportName = Literal["aiohttp", "websockets"]
TRANSPORTS: tuple[TransportName, ...] = ("aiohttp", "websockets")
DEFAULT_TRANSPORT: TransportName = "aiohttp"
"""Chosen by ``python -m benchmarks transport`` (see docs/venues.md, "Transport")."""


class HandshakeError(ConnectionError):
    """The server answered the WebSocket upgrade with an HTTP error status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"WebSocket handshake refused with HTTP {status}")
        self.status = status


class WsConnection(Protocol):
    """One open WebSocket (either transport)."""

    failed: bool
    """True when the connection ended by a transport error rather than a close."""

    async def receive(self) -> str | bytes | None:
        """Return the next data frame (text: ``str``, binary: ``bytes``); None once ended."""
        ...

    async def send(self, text: str) -> None:
        """Send one text frame."""
        ...

    async def ping(self) -> None:
        """Send one protocol ping frame (the answer is any frame, see ``Keepalive``)."""
        ...

    async def close(self) -> None:
        """Close the connection (idempotent)."""
        ...


class WsTransport(Protocol):
    """Opens WebSocket connections; ``aclose`` releases what the transport holds."""

    name: TransportName

    async def connect(self, url: str, *, max_frame_bytes: int, timeout_s: float) -> WsConnection:
        """Open ``url`` within ``timeout_s``; raise ``HandshakeError`` or ``OSError``."""
        ...

    async def aclose(self) -> None:
        """Release the transport's resources (open connections are closed by their owners)."""
        ...


# -- aiohttp -----------------------------------------------------------------------------------

_TEXT = aiohttp.WSMsgType.TEXT
_BINARY = aiohttp.WSMsgType.BINARY
_ERROR = aiohttp.WSMsgType.ERROR


class _AiohttpConnection:
    __slots__ = ("_ws", "failed")

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self.failed = False

    async def receive(self) -> str | bytes | None:
        msg = await self._ws.receive()
        kind = msg.type
        if kind is _TEXT or kind is _BINARY:
            return msg.data
        if kind is _ERROR:
            self.failed = True
        return None  # CLOSE, CLOSING, CLOSED (aiohttp answered the close itself) or ERROR

    async def send(self, text: str) -> None:
        try:
            await self._ws.send_str(text)
        except aiohttp.ClientError as e:
            raise ConnectionError(f"send failed: {type(e).__name__}") from e

    async def ping(self) -> None:
        try:
            await self._ws.ping()
        except aiohttp.ClientError as e:
            raise ConnectionError(f"ping failed: {type(e).__name__}") from e

    async def close(self) -> None:
        await self._ws.close()


class AiohttpTransport:
    """aiohttp's client WebSocket (one ``ClientSession`` for every connection it opens)."""

    name: TransportName = "aiohttp"

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        self._session = session
        self._own = session is None

    async def connect(self, url: str, *, max_frame_bytes: int, timeout_s: float) -> WsConnection:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(timeout_s):
                ws = await self._session.ws_connect(
                    url, autoping=True, heartbeat=None, max_msg_size=max_frame_bytes, compress=0
                )
        except aiohttp.WSServerHandshakeError as e:
            raise HandshakeError(e.status) from None
        except aiohttp.ClientError as e:
            raise ConnectionError(f"connect failed: {type(e).__name__}") from e
        return _AiohttpConnection(ws)

    async def aclose(self) -> None:
        if self._own and self._session is not None:
            await self._session.close()
        self._session = None


# -- websockets --------------------------------------------------------------------------------

_WS_ERRORS = (websockets.exceptions.WebSocketException,)


class _WebsocketsConnection:
    __slots__ = ("_ws", "failed")

    def __init__(self, ws: websockets.asyncio.client.ClientConnection) -> None:
        self._ws = ws
        self.failed = False

    async def receive(self) -> str | bytes | None:
        try:
            return await self._ws.recv()
        except websockets.exceptions.ConnectionClosedOK:
            return None
        except websockets.exceptions.ConnectionClosedError:
            self.failed = True
            return None

    async def send(self, text: str) -> None:
        try:
            await self._ws.send(text)
        except _WS_ERRORS as e:
            raise ConnectionError(f"send failed: {type(e).__name__}") from e

    async def ping(self) -> None:
        try:
            await self._ws.ping()
        except _WS_ERRORS as e:
            raise ConnectionError(f"ping failed: {type(e).__name__}") from e

    async def close(self) -> None:
        await self._ws.close()


class WebsocketsTransport:
    """The ``websockets`` library's asyncio client."""

    name: TransportName = "websockets"

    async def connect(self, url: str, *, max_frame_bytes: int, timeout_s: float) -> WsConnection:
        try:
            ws = await websockets.asyncio.client.connect(
                url,
                open_timeout=timeout_s,
                ping_interval=None,  # keepalive is the feed's policy, sent by the supervisor
                ping_timeout=None,
                max_size=max_frame_bytes,
                compression=None,
                close_timeout=timeout_s,
            )
        except websockets.exceptions.InvalidStatus as e:
            raise HandshakeError(e.response.status_code) from None
        except _WS_ERRORS as e:
            raise ConnectionError(f"connect failed: {type(e).__name__}") from e
        return _WebsocketsConnection(ws)

    async def aclose(self) -> None:
        return None


def make_transport(
    name: TransportName, session: aiohttp.ClientSession | None = None
) -> WsTransport:
    """Return the transport called ``name`` (aiohttp shares ``session`` when given)."""
    if name == "aiohttp":
        return AiohttpTransport(session)
    if name == "websockets":
        return WebsocketsTransport()
    raise ValueError(f"unknown transport {name!r}: expected one of {', '.join(TRANSPORTS)}")
