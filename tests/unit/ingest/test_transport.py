"""Both WebSocket transports behave the same behind ``WsConnection`` (real server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import WSMsgType, web

from bot.ingest.transport import TRANSPORTS, HandshakeError, TransportName, make_transport

TIMEOUT_S = 5.0
MAX_FRAME = 1 << 20


class Server:
    """Sends a text and a binary frame, echoes text back, records pings; ``/refuse`` is a 404."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.pings = 0
        self.pinged = asyncio.Event()
        self.port = 0

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        await ws.send_str("hello")
        await ws.send_bytes(b"\x00\x01binary")
        async for msg in ws:
            if msg.type == WSMsgType.PING:
                self.pings += 1
                self.pinged.set()
                await ws.pong(msg.data)
            elif msg.type == WSMsgType.TEXT:
                self.received.append(msg.data)
                if msg.data == "close":
                    await ws.close()
                else:
                    await ws.send_str(f"echo:{msg.data}")
        return ws

    async def refuse(self, request: web.Request) -> web.Response:
        return web.Response(status=404)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/ws", srv.ws)
    app.router.add_get("/refuse", srv.refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    srv.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield srv
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_frames_send_ping_and_close(server: Server, name: TransportName) -> None:
    transport = make_transport(name)
    try:
        conn = await transport.connect(
            f"ws://127.0.0.1:{server.port}/ws", max_frame_bytes=MAX_FRAME, timeout_s=TIMEOUT_S
        )
        assert await conn.receive() == "hello"  # text arrives as str
        assert await conn.receive() == b"\x00\x01binary"  # binary as bytes
        await conn.send("abc")
        assert await conn.receive() == "echo:abc"
        await conn.ping()
        await asyncio.wait_for(server.pinged.wait(), TIMEOUT_S)
        assert server.pings == 1
        await conn.send("close")  # the server closes: the end of the stream, not an error
        assert await conn.receive() is None
        assert not conn.failed
        assert server.received == ["abc", "close"]
        await conn.close()
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_refused_handshake_carries_the_status(server: Server, name: TransportName) -> None:
    transport = make_transport(name)
    try:
        with pytest.raises(HandshakeError) as info:
            await transport.connect(
                f"ws://127.0.0.1:{server.port}/refuse",
                max_frame_bytes=MAX_FRAME,
                timeout_s=TIMEOUT_S,
            )
        assert info.value.status == 404
    finally:
        await transport.aclose()


@pytest.mark.parametrize("name", TRANSPORTS)
async def test_nothing_listening_is_an_os_error(name: TransportName) -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    transport = make_transport(name)
    try:
        with pytest.raises(OSError):
            await transport.connect(
                f"ws://127.0.0.1:{port}/ws", max_frame_bytes=MAX_FRAME, timeout_s=TIMEOUT_S
            )
    finally:
        await transport.aclose()


def test_unknown_transport_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="aiohttp, websockets"):
        make_transport("curl")  # type: ignore[arg-type]
