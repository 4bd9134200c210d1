"""WebSocket transports side by side: aiohttp vs websockets on loopback, same run, same frames.

Both clients go through ``bot.ingest.transport`` (the ``WsConnection`` the supervisor reads), on
uvloop, against one aiohttp server in a separate process on 127.0.0.1. Rounds alternate which
transport goes first, so machine load hits both alike.

* ``transport_<name>_throughput``: the server pushes ``FLOOD_FRAMES`` Binance depth frames as
  fast as it can; messages/s received (median of the rounds).
* ``transport_<name>_receive_latency``: the client asks for one frame at a time; the server stamps
  it with ``time.monotonic_ns()`` (one clock for every process on Linux) just before sending;
  the client reads the clock when ``receive`` returns. ns per frame, median and p99 of every
  sample (the pipeline is empty, so this is kernel loopback + frame decoding + wake-up).
* ``transport_<name>_feed_throughput``: the real ``FeedSupervisor`` + Binance feed on that
  transport (frames parsed into the book), messages/s.

The websockets rows carry the aiohttp figure of the same run as their baseline; the choice of
``bot.ingest.transport.DEFAULT_TRANSPORT`` follows these rows (docs/venues.md, "Transport").
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.bench_ingest import make_frames, snapshot_body

FLOOD_FRAMES = 50_000
LATENCY_FRAMES = 2_000
FEED_FRAMES = 50_000
ROUNDS = 5
WARMUP_FRAMES = 200
STAMP_DIGITS = 20
"""The server prefixes each latency frame with its send time, zero-padded to this width."""
MAX_FRAME = 1 << 20
TIMEOUT_S = 30.0


def _serve(frames_path: str, port_queue: Any) -> None:
    """Server process: ``/flood`` pushes every frame, ``/ask`` answers each request with one."""
    import uvloop
    from aiohttp import WSMsgType, web

    frames = json.loads(Path(frames_path).read_text())
    flood = frames[:FLOOD_FRAMES]
    counts = {"feeds": 0, "snapshots": 0}

    async def flood_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.path == "/public/stream":
            # Like the venue: this feed's snapshot is served before the diffs it buffers, so
            # the buffer never overflows before the snapshot arrives.
            counts["feeds"] += 1
            while counts["snapshots"] < counts["feeds"]:  # noqa: ASYNC110 (a plain counter)
                await asyncio.sleep(0.001)
        for frame in flood:
            await ws.send_str(frame)
        await ws.close()
        return ws

    async def ask_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        k = 0
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                break
            frame = frames[k % len(frames)]
            k += 1
            await ws.send_str(f"{time.monotonic_ns():0{STAMP_DIGITS}d}{frame}")
        return ws

    async def depth(request: web.Request) -> web.Response:
        counts["snapshots"] += 1
        return web.Response(body=snapshot_body(), content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/flood", flood_handler)
        app.router.add_get("/public/stream", flood_handler)
        app.router.add_get("/ask", ask_handler)
        app.router.add_get("/fapi/v1/depth", depth)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        await asyncio.sleep(3600)

    uvloop.run(main())


async def _throughput(name: str, port: int) -> float:
    from bot.ingest.transport import make_transport

    transport = make_transport(name)  # type: ignore[arg-type]
    try:
        conn = await transport.connect(f"ws://127.0.0.1:{port}/flood", max_frame_bytes=MAX_FRAME,
                                       timeout_s=TIMEOUT_S)  # fmt: skip
        first = await conn.receive()
        if first is None:
            raise RuntimeError(f"{name}: the flood ended before its first frame")
        count = 1
        t0 = time.perf_counter()
        while await conn.receive() is not None:
            count += 1
        elapsed = time.perf_counter() - t0
        await conn.close()
    finally:
        await transport.aclose()
    if count != FLOOD_FRAMES:
        raise RuntimeError(f"{name}: received {count} of {FLOOD_FRAMES} frames")
    return (count - 1) / elapsed


async def _latency(name: str, port: int, n: int) -> list[int]:
    from bot.ingest.transport import make_transport

    transport = make_transport(name)  # type: ignore[arg-type]
    samples: list[int] = []
    clock = time.monotonic_ns
    try:
        conn = await transport.connect(f"ws://127.0.0.1:{port}/ask", max_frame_bytes=MAX_FRAME,
                                       timeout_s=TIMEOUT_S)  # fmt: skip
        for _ in range(n):
            await conn.send("next")
            data = await conn.receive()
            received = clock()
            if not isinstance(data, str):
                raise RuntimeError(f"{name}: expected a text frame, got {data!r:.40}")
            samples.append(received - int(data[:STAMP_DIGITS]))
        await conn.close()
    finally:
        await transport.aclose()
    return samples


async def _feed_throughput(name: str, port: int) -> float:
    from benchmarks.bench_ingest import _feed
    from bot.ingest.supervisor import FeedSupervisor, SupervisorOptions

    feed, state, _out = _feed(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    sup = FeedSupervisor(feed, lambda rows: None, state, symbols={0: "BTCUSDT"},
                         options=SupervisorOptions(monitor_period_s=5.0,
                                                   transport=name))  # type: ignore[arg-type]  # fmt: skip
    async with asyncio.TaskGroup() as tg:
        run = tg.create_task(sup.run())
        while feed.stats.messages == 0:  # noqa: ASYNC110 (polling a plain counter)
            await asyncio.sleep(0.001)
        t0 = time.perf_counter()
        first = feed.stats.messages
        while not sup.status.end_reasons:  # noqa: ASYNC110 (the server closes after the flood)
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - t0
        done = feed.stats.messages
        run.cancel()
    if feed.stats.gaps or feed.stats.malformed:
        raise RuntimeError(f"{name}: the feed fell out of sync: {feed.stats}")
    return (done - first) / elapsed


async def _client(port: int) -> dict[str, dict[str, list[float]]]:
    from bot.ingest.transport import TRANSPORTS

    out: dict[str, dict[str, list[float]]] = {
        t: {"rate": [], "latency": [], "feed": []} for t in TRANSPORTS
    }
    for name in TRANSPORTS:  # warm-up: imports, kernels, the server's first connections
        await _latency(name, port, WARMUP_FRAMES)
    for r in range(ROUNDS):
        order = TRANSPORTS if r % 2 == 0 else tuple(reversed(TRANSPORTS))
        for name in order:
            out[name]["rate"].append(await _throughput(name, port))
            out[name]["latency"].extend(await _latency(name, port, LATENCY_FRAMES))
            out[name]["feed"].append(await _feed_throughput(name, port))
    return out


def measure() -> dict[str, dict[str, list[float]]]:
    """Run the server process and both clients; return the raw samples per transport."""
    import uvloop

    with tempfile.TemporaryDirectory() as tmp:
        frames_path = Path(tmp) / "frames.json"
        frames_path.write_text(json.dumps(make_frames(max(FLOOD_FRAMES, FEED_FRAMES), seed=3)))
        ctx = mp.get_context("fork")
        port_queue = ctx.Queue()
        server = ctx.Process(target=_serve, args=(str(frames_path), port_queue), daemon=True)
        server.start()
        try:
            port = port_queue.get(timeout=TIMEOUT_S)
            return uvloop.run(_client(port))
        finally:
            server.terminate()
            server.join(10)


def run() -> list[dict[str, Any]]:
    """Return one throughput, latency and feed row per transport (websockets vs aiohttp)."""
    samples = measure()
    rows: list[dict[str, Any]] = []
    medians: dict[str, dict[str, float]] = {}
    for name, s in samples.items():
        lat = np.asarray(s["latency"], dtype=np.float64)
        medians[name] = {"rate": statistics.median(s["rate"]), "lat": float(np.median(lat)),
                         "lat99": float(np.percentile(lat, 99)),
                         "feed": statistics.median(s["feed"])}  # fmt: skip
    peer = "aiohttp"
    for name, m in medians.items():
        base = medians[peer] if name != peer else None
        rows += [
            {"name": f"transport_{name}_throughput", "median": m["rate"],
             "p99": min(samples[name]["rate"]), "unit": "msg/s",
             "baseline": {"name": "aiohttp, same run", "median": base["rate"]} if base else None,
             "note": f"median of {ROUNDS} floods of {FLOOD_FRAMES} frames; p99 column: slowest"},
            {"name": f"transport_{name}_receive_latency", "median": m["lat"], "p99": m["lat99"],
             "unit": "ns/frame",
             "baseline": {"name": "aiohttp, same run", "median": base["lat"]} if base else None},
            {"name": f"transport_{name}_feed_throughput", "median": m["feed"],
             "p99": min(samples[name]["feed"]), "unit": "msg/s",
             "baseline": {"name": "aiohttp, same run", "median": base["feed"]} if base else None},
        ]  # fmt: skip
    return rows


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(json.dumps(row) + "\n")
