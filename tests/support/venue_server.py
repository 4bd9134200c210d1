"""A loopback venue server (aiohttp on 127.0.0.1, ephemeral port) that replays captures.

Each venue plugs in a ``VenueProtocol`` (which WebSocket paths it serves, how it answers client
frames such as pings and subscriptions, which REST bodies it serves). Tests describe what every
connection sees as a ``Script`` of ``Action`` s: send a frame, send garbage, close mid-stream,
pause, send a protocol ping and wait for the pong, or wait ``until`` the client has sent
something (a resubscription) before going on, so that the answer to it lands at a known point of
the stream. REST endpoints can be slowed down or made to fail a number of times. The server
records what clients sent, so tests can assert on keepalives and resubscriptions. Each venue
plugs in its framing (``tests/support/<venue>.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web


@dataclass(frozen=True, slots=True)
class Action:
    """One step of a connection script."""

    kind: str
    """send | send_bytes | garbage | close | sleep | ping | hold | until | follow"""
    data: str | bytes = ""
    seconds: float = 0.0
    cond: Callable[[Any], bool] | None = None
    """``until``: a predicate on the connection's ``ConnectionLog``."""
    stream: Broadcast | None = None
    """``follow``: the live stream to send from its current point."""
    first: Callable[[int], Sequence[str]] | None = None
    """``follow``: the frames to send first, given the point joined at."""
    lag: int = 0
    """``follow``: stay this many published frames behind (a slower route to the venue)."""


def send(frame: str) -> Action:
    """Send a text frame."""
    return Action("send", frame)


def send_gzip(frame: str) -> Action:
    """Send a gzip-compressed binary frame (BingX framing)."""
    return Action("send_bytes", gzip.compress(frame.encode()))


def garbage(data: str = '{"stream":"x","data":{"e":"depthUpdate","b":[["1"') -> Action:
    """Send a malformed text frame."""
    return Action("garbage", data)


def close() -> Action:
    """Close the connection from the server side (disconnect mid-stream)."""
    return Action("close")


def sleep(seconds: float) -> Action:
    """Pause the script."""
    return Action("sleep", seconds=seconds)


def ping() -> Action:
    """Send a protocol ping frame (the client must answer with a pong frame)."""
    return Action("ping")


def until(cond: Callable[[Any], bool], timeout_s: float = 20.0) -> Action:
    """Wait until ``cond(connection_log)`` holds (e.g. the client resubscribed), then go on.

    After ``timeout_s`` the connection is closed instead (a test that waits in vain fails on its
    own assertion rather than hanging).
    """
    return Action("until", cond=cond, seconds=timeout_s)


def hold() -> Action:
    """Stop sending but keep the connection open (a silent, stale connection)."""
    return Action("hold")


class Broadcast:
    """A live stream that every connection following it sees from where it is when it joins.

    Frame ``k`` is published ``k * interval_s`` after the first follower joined, to every
    connection following at that moment: two overlapping connections (a planned reconnect)
    see the same events, the later one from a later point, as on a real venue. Time is scaled
    down by ``interval_s``; the pacing is the venue's, not a test waiting.
    """

    def __init__(self, frames: Sequence[str], interval_s: float) -> None:
        self.frames = list(frames)
        self.interval_s = interval_s
        self.published = 0
        self._tick = asyncio.Event()
        self._producer: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self.published >= len(self.frames)

    def start(self) -> None:
        """Start publishing (idempotent: the first follower starts the stream)."""
        if self._producer is None:
            self._producer = asyncio.get_running_loop().create_task(self._produce())

    def stop(self) -> None:
        if self._producer is not None:
            self._producer.cancel()

    async def _produce(self) -> None:
        while not self.done:
            self.published += 1
            self._tick.set()
            self._tick = asyncio.Event()
            await asyncio.sleep(self.interval_s)

    async def next_tick(self) -> None:
        await self._tick.wait()


def follow(
    stream: Broadcast, first: Callable[[int], Sequence[str]] | None = None, lag: int = 0
) -> Action:
    """Send ``stream`` 's frames live from its current point.

    ``first(k)``: frames to send before, given the point ``k`` joined at (a venue's snapshot).
    ``lag``: deliver each frame only once ``lag`` more have been published (all at the end).
    """
    return Action("follow", stream=stream, first=first, lag=lag)


@dataclass
class VenueProtocol:
    """How one venue frames things on the wire."""

    ws_paths: Sequence[str]
    reply: Callable[[str], Sequence[str | bytes]] = lambda text: ()
    """Frames to send in answer to a client text frame (pong, subscribe ack, a new snapshot);
    ``bytes`` go out as binary frames (BingX gzips everything)."""
    topic_of: Callable[[str], str | None] | None = None
    """The topic a scripted frame belongs to (None: not a topic push). Set, the server behaves
    like the venue: a connection's script starts at its first subscription, and a topic's
    frames go only to connections subscribed to it (the others are counted as withheld)."""
    subscription: Callable[[str], tuple[str, Sequence[str]] | None] = lambda text: None
    """``("subscribe" | "unsubscribe", topics)`` for a client frame that (un)subscribes."""


@dataclass
class RestRoute:
    """REST bodies served for a path (query included), optionally slow or failing.

    The k-th successful request gets ``bodies[min(k, len - 1)]``.
    """

    bodies: Sequence[bytes]
    delay_s: float = 0.0
    fail_first: int = 0
    fail_status: int = 500
    retry_after: str | None = None
    """``Retry-After`` header of the failures (rate limits)."""
    served: int = 0
    failed: int = 0
    requested_at: list[float] = field(default_factory=list)
    """Loop time of every request (to check a client waited as told)."""


@dataclass
class ConnectionLog:
    """What one client connection did."""

    path: str
    received: list[str] = field(default_factory=list)
    pongs: int = 0
    closed_by_client: bool = False
    subscribed: set[str] = field(default_factory=set)
    withheld: list[str] = field(default_factory=list)
    """Topics of scripted frames not sent because the client had not subscribed to them."""


class LoopbackVenue:
    """Serve scripted WebSocket sessions and REST bodies on 127.0.0.1."""

    def __init__(self, protocol: VenueProtocol, scripts: Sequence[Sequence[Action]]) -> None:
        self.protocol = protocol
        self.scripts: dict[str, list[Sequence[Action]]] = {}
        self.default_scripts = list(scripts)
        self.rest: dict[str, RestRoute] = {}
        self.connections: list[ConnectionLog] = []
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: set[web.WebSocketResponse] = set()
        self._streams: set[Broadcast] = set()
        self.port = 0

    def script_for(self, path: str, scripts: Sequence[Sequence[Action]]) -> None:
        """Give connections on ``path`` their own scripts (k-th connection: k-th script)."""
        self.scripts[path] = list(scripts)

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def connections_on(self, path: str) -> list[ConnectionLog]:
        return [c for c in self.connections if c.path == path]

    async def __aenter__(self) -> LoopbackVenue:
        app = web.Application()
        for path in self.protocol.ws_paths:
            app.router.add_get(path, self._ws)
        app.router.add_route("GET", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for stream in self._streams:
            stream.stop()
        for ws in list(self._open):
            with contextlib.suppress(Exception):
                await ws.close()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _rest(self, request: web.Request) -> web.Response:
        key = request.path_qs
        route = self.rest.get(key)
        if route is None:
            return web.Response(status=404, text="unknown path")
        route.requested_at.append(asyncio.get_running_loop().time())
        if route.delay_s:
            await asyncio.sleep(route.delay_s)
        if route.failed < route.fail_first:
            route.failed += 1
            headers = {"Retry-After": route.retry_after} if route.retry_after else None
            return web.Response(status=route.fail_status, text="injected failure", headers=headers)
        body = route.bodies[min(route.served, len(route.bodies) - 1)]
        route.served += 1
        return web.Response(body=body, content_type="application/json")

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=False)
        await ws.prepare(request)
        self._open.add(ws)
        log = ConnectionLog(path=request.path)
        self.connections.append(log)
        index = len(self.connections_on(request.path)) - 1
        scripts = self.scripts.get(request.path, self.default_scripts)
        script = scripts[min(index, len(scripts) - 1)] if scripts else []
        player = asyncio.create_task(self._play(ws, script, log))
        self._tasks.add(player)
        player.add_done_callback(self._tasks.discard)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    log.received.append(msg.data)
                    change = self.protocol.subscription(msg.data)
                    if change is not None:
                        op, topics = change
                        if op == "subscribe":
                            log.subscribed.update(topics)
                        else:
                            log.subscribed.difference_update(topics)
                    for answer in self.protocol.reply(msg.data):
                        if isinstance(answer, bytes):
                            await ws.send_bytes(answer)
                        else:
                            await ws.send_str(answer)
                elif msg.type == WSMsgType.PING:
                    await ws.pong(msg.data)
                elif msg.type == WSMsgType.PONG:
                    log.pongs += 1
            log.closed_by_client = not player.done()
        finally:
            player.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await player
            self._open.discard(ws)
        return ws

    @staticmethod
    async def _subscribed(log: ConnectionLog, timeout_s: float = 20.0) -> bool:
        """Wait for the connection's first subscription (a venue sends nothing before)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not log.subscribed:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.002)
        return True

    def _deliverable(self, frame: str, log: ConnectionLog) -> bool:
        """Whether the venue would send ``frame`` on this connection (subscribed topic)."""
        topic_of = self.protocol.topic_of
        if topic_of is None:
            return True
        topic = topic_of(frame)
        if topic is None or topic in log.subscribed:
            return True
        log.withheld.append(topic)
        return False

    async def _play(
        self, ws: web.WebSocketResponse, script: Sequence[Action], log: ConnectionLog
    ) -> None:
        try:
            if self.protocol.topic_of is not None and not await self._subscribed(log):
                await ws.close()
                return
            for action in script:
                if ws.closed:
                    return
                if action.kind == "send" and not self._deliverable(str(action.data), log):
                    continue
                if action.kind in ("send", "garbage"):
                    await ws.send_str(str(action.data))
                elif action.kind == "send_bytes":
                    await ws.send_bytes(bytes(action.data))  # type: ignore[arg-type]
                elif action.kind == "sleep":
                    await asyncio.sleep(action.seconds)
                elif action.kind == "ping":
                    await ws.ping(b"keepalive")
                elif action.kind == "close":
                    await ws.close()
                    return
                elif action.kind == "follow":
                    stream = action.stream
                    assert stream is not None
                    self._streams.add(stream)
                    stream.start()
                    k = stream.published
                    for frame in action.first(k) if action.first else ():
                        await ws.send_str(frame)
                    while not ws.closed:
                        upto = stream.published if stream.done else stream.published - action.lag
                        while k < upto and not ws.closed:
                            if self._deliverable(stream.frames[k], log):
                                await ws.send_str(stream.frames[k])
                            k += 1
                        if stream.done:
                            break
                        await stream.next_tick()
                elif action.kind == "hold":
                    await asyncio.Event().wait()
                elif action.kind == "until":
                    assert action.cond is not None
                    deadline = asyncio.get_running_loop().time() + action.seconds
                    while not action.cond(log):
                        if asyncio.get_running_loop().time() > deadline:
                            await ws.close()
                            return
                        await asyncio.sleep(0.002)
            await asyncio.Event().wait()  # script done: stay open, silent
        except (ConnectionResetError, RuntimeError):
            return
