"""``tickbot run``'s figures: tick-to-trade over the live path, cold start, steady RSS.

Tick-to-trade: Binance depth frames (bytes) go through the real feed parser and book sync, the
core (signals, the strategy's ``decide``, pre-trade risk, dispatch into the simulated venue) and
the wire writer, which encodes each order as a JSON body and ``send``s it on a TCP connection to
127.0.0.1; the time runs from taking the frame (``time.monotonic_ns`` before parsing, as the tap
does live) to the return of ``send``. The measured strategy is a touch-following maker
(cancel/replace on every touch move); the floor is the same path with a strategy that sends one
fixed order per message, measured in the same run. The simulated venue answers with zero
latency after each frame, so orders are acknowledged and cancelled as they would be.

Allocations on the hot path: the same frames through the same path after the warm-up, under
``tracemalloc``: the memory and the blocks (``sys.getallocatedblocks``) still held after N
messages, per message (what the path keeps: zero means nothing grows per message), and the
largest transient peak inside one message (objects made and freed within it: Python ints and
numpy scalars, views). The floor is ``orjson.loads`` of the same frame, measured the same way.

Cold start: ``tickbot run`` in sim mode as a process, from spawn to the first 200 of ``/readyz``,
with the numba cache warm (a first start fills it). Steady RSS: that process's VmRSS after it has
traded for ``RSS_AFTER_S`` seconds at ``--speed 20``.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import socket
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from benchmarks import run_strategies as rs
from benchmarks.bench_ingest import _feed, snapshot_body

MIN_ORDERS = 100_000
FRAMES = 120_000
WARMUP_FRAMES = 2_000
ALLOC_FRAMES = 20_000
RSS_AFTER_S = 10.0
ROOT = Path(__file__).resolve().parent.parent

SIM_CONFIG = """
strategy: {name: avellaneda_stoikov, params: {interval_ms: 100, qty_lot: 2}}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 50, max_order_lot: 10, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 100, burst: 200}
mode: sim
sim: {speed: 20, events_per_s: 400}
metrics: {host: 127.0.0.1, port: 0}
logging: {format: json}
"""


def make_walk_frames(n: int, first_u: int = 1_000, seed: int = 2) -> list[bytes]:
    """``n`` chained BTCUSDT depthUpdate frames whose touch random-walks a tick at a time.

    The book starts as ``bench_ingest.snapshot_body`` (bids from 49990.0 down, asks from
    50000.5 up, 0.1 apart). Each frame moves one side's touch: it adds a level one tick better
    or deletes the best level (never crossing, never emptying a side), and resizes two deeper
    levels: a market whose top changes on every message, as a busy perpetual's does.
    """
    rng = np.random.default_rng(seed)
    bid, ask = 499_900, 500_005  # in ticks of 0.1
    low_bid, high_ask = bid - 99, ask + 99
    frames = []
    u = first_u
    for _ in range(n):
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        side, up = rng.integers(0, 2), rng.integers(0, 2)
        if side == 0:
            if up and bid + 1 < ask:
                bid += 1
                bids.append([f"{bid / 10:.1f}", "0.500"])
            elif bid - 1 > low_bid:
                bids.append([f"{bid / 10:.1f}", "0"])
                bid -= 1
        else:
            if up and ask - 1 > bid:
                ask -= 1
                asks.append([f"{ask / 10:.1f}", "0.500"])
            elif ask + 1 < high_ask:
                asks.append([f"{ask / 10:.1f}", "0"])
                ask += 1
        bids.append([f"{(bid - 1 - int(rng.integers(0, 20))) / 10:.1f}", "1.250"])
        asks.append([f"{(ask + 1 + int(rng.integers(0, 20))) / 10:.1f}", "1.250"])
        first, last = u + 1, u + 3
        data = {
            "e": "depthUpdate",
            "E": 1_700_000_000_000 + u,
            "T": 1_700_000_000_000 + u,
            "s": "BTCUSDT",
            "U": first,
            "u": last,
            "pu": u,
            "b": bids,
            "a": asks,
        }
        frames.append(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": data}))
        u = last
    return frames


def _strategy(decide: Any) -> types.ModuleType:
    module = types.ModuleType(f"bench_{decide.__name__}")
    for name in (
        "Params",
        "pack",
        "ISTATE_SIZE",
        "FSTATE_SIZE",
        "USES_SIGNALS",
        "WAKE_ON_EVENT",
        "WAKE_ON_ORDER",
    ):
        setattr(module, name, getattr(rs, name))
    module.decide = decide  # type: ignore[attr-defined]
    return module


def _loopback() -> tuple[socket.socket, socket.socket]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    server.close()
    for s in (client, peer):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    client.setblocking(False)
    peer.setblocking(False)
    return client, peer


_SINK = bytearray(1 << 20)
"""Where the peer's reads land: preallocated, so draining the socket allocates nothing."""


def _drain(peer: socket.socket) -> int:
    got = 0
    while True:
        try:
            n = peer.recv_into(_SINK)
        except BlockingIOError:
            return got
        if not n:
            return got
        got += n


def tick_to_trade(decide: Any, frames: list[bytes]) -> dict[str, Any]:
    """Run ``frames`` through the live path with ``decide``; return latency samples and counts."""
    feed, core, out, client, peer = _live_path(decide)
    on_message, on_frame, advance = feed.on_message, core.on_frame, core.advance
    mono, wall = time.monotonic_ns, time.time_ns
    received = 0
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for k, frame in enumerate(frames):
            if k == WARMUP_FRAMES:
                warm = core.t2t_n
            rx = mono()
            ts = wall()
            on_message(frame, ts, out)
            on_frame(out.view(), rx)
            out.clear()
            advance(ts)
            if k & 1023 == 0:
                received += _drain(peer)
    finally:
        gc.enable()
        gc.unfreeze()
    received += _drain(peer)
    client.close()
    peer.close()
    if feed.stats.gaps or feed.stats.malformed:
        raise RuntimeError(f"benchmark feed fell out of sync: {feed.stats}")
    from bot.runtime.export import latency_samples

    samples = latency_samples(core, warm)
    return {
        "samples": samples,
        "orders": int(core.t2t_n - warm),
        "bytes": received,
        "wire_orders": core.wire.sent,
    }


def _measure(step: Any, n: int) -> dict[str, float]:
    """Run ``step(k)`` for ``k < n`` under tracemalloc; return what it keeps and its peak."""
    gc.collect()
    gc.disable()
    tracemalloc.start()
    try:
        blocks0 = sys.getallocatedblocks()
        base, _ = tracemalloc.get_traced_memory()
        peak_one = 0
        for k in range(n):
            tracemalloc.reset_peak()
            before, _ = tracemalloc.get_traced_memory()
            step(k)
            _, peak = tracemalloc.get_traced_memory()
            peak_one = max(peak_one, peak - before)
        held, _ = tracemalloc.get_traced_memory()
        blocks = sys.getallocatedblocks() - blocks0
    finally:
        tracemalloc.stop()
        gc.enable()
    return {"bytes_kept": (held - base) / n, "blocks_kept": blocks / n, "peak_bytes": peak_one}


def hot_path_allocations(decide: Any, frames: list[bytes]) -> dict[str, Any]:
    """Allocations per message on the live path after the warm-up, and orjson's as the floor."""
    feed, core, out, client, peer = _live_path(decide)
    on_message, on_frame, advance = feed.on_message, core.on_frame, core.advance
    mono, wall = time.monotonic_ns, time.time_ns
    for frame in frames[:WARMUP_FRAMES]:
        ts = wall()
        on_message(frame, ts, out)
        on_frame(out.view(), mono())
        out.clear()
        advance(ts)
    _drain(peer)
    measured = frames[WARMUP_FRAMES : WARMUP_FRAMES + ALLOC_FRAMES]
    orders0 = core.t2t_n

    def step(k: int) -> None:
        ts = wall()
        on_message(measured[k], ts, out)
        on_frame(out.view(), mono())
        out.clear()
        advance(ts)
        if k & 255 == 0:  # the kernel's socket buffer is not ours to count
            _drain(peer)

    ours = _measure(step, len(measured))
    orders = core.t2t_n - orders0
    client.close()
    peer.close()
    loads = orjson.loads
    floor = _measure(lambda k: loads(measured[k]), len(measured))
    return {"ours": ours, "floor": floor, "messages": len(measured), "orders": int(orders)}


def _live_path(decide: Any) -> tuple[Any, Any, Any, socket.socket, socket.socket]:
    """The feed, the core and its wire writer on a loopback socket, synced, kernels warm."""
    from bot.backtest.engine import EngineOptions
    from bot.core.risk import make_limits, new_risk
    from bot.runtime.core import TradingCore
    from bot.runtime.wire import WireWriter

    feed, state, out = _feed()
    spec = feed.refs[0].spec  # the feed's one instrument
    limits, _, _ = new_risk(1)
    limits[0] = make_limits(
        max_position_lot=1 << 40,
        max_order_lot=10,
        max_notional_quote=1e12,
        price_band_bps=5_000,
        max_open_orders=4096,
        orders_per_s=1e12,
        burst=1e12,
    )
    options = EngineOptions(lat_in_ns=np.array([0]), lat_out_ns=np.array([0]), max_orders=4096)
    core = TradingCore(
        [spec],
        _strategy(decide),
        rs.Params(),
        [0],
        limits,
        options,
        apply_books=False,
        venue_local_clock=True,
        qty=feed.qty,
        state=state,
    )
    core.warm_up()
    client, peer = _loopback()
    core.wire = WireWriter(client, [spec])
    feed.on_connect(0, out, url=feed.ws_urls()[0])
    feed.on_snapshot(feed.pending_snapshots()[0], snapshot_body(), 0, out)
    core.on_frame(out.view(), time.monotonic_ns())
    out.clear()
    return feed, core, out, client, peer


def _rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def _start_to_ready(config: Path) -> tuple[float, int]:
    """Spawn ``tickbot run``; return (seconds to ready, RSS after RSS_AFTER_S of trading)."""
    import aiohttp
    import orjson

    t0 = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "run",
        "--config",
        str(config),
        "--no-view",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    port = 0
    while port == 0:
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError("tickbot run exited before serving metrics")
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        port = int(record.get("metrics_port", 0))
    drain = asyncio.create_task(proc.stdout.read())
    async with aiohttp.ClientSession() as http:
        while True:
            async with http.get(f"http://127.0.0.1:{port}/readyz") as r:
                if r.status == 200:
                    break
            await asyncio.sleep(0.005)
    ready_s = time.perf_counter() - t0
    await asyncio.sleep(RSS_AFTER_S)
    rss = _rss_bytes(proc.pid)
    proc.send_signal(signal.SIGTERM)
    await proc.wait()
    drain.cancel()
    return ready_s, rss


def run() -> list[dict[str, Any]]:
    """Tick-to-trade (maker vs the fixed-order floor), cold start and steady RSS."""
    frames = make_walk_frames(FRAMES)
    floor = tick_to_trade(rs.fixed_order, frames)
    maker = tick_to_trade(rs.touch_maker, frames)
    if maker["orders"] < MIN_ORDERS:
        raise RuntimeError(f"only {maker['orders']} orders; the figure needs {MIN_ORDERS}")
    ms, fs = maker["samples"] * 1e-3, floor["samples"] * 1e-3
    rows: list[dict[str, Any]] = [
        {
            "name": "tick_to_trade_frame_to_socket",
            "median": float(np.median(ms)),
            "p99": float(np.percentile(ms, 99)),
            "unit": "us",
            "orders": maker["orders"],
            "wire_bytes": maker["bytes"],
            "baseline": {
                "name": "same path, fixed one-order strategy (floor)",
                "median": float(np.median(fs)),
                "p99": float(np.percentile(fs, 99)),
                "orders": floor["orders"],
            },
        },
    ]
    alloc = hot_path_allocations(rs.touch_maker, frames)
    ours, base = alloc["ours"], alloc["floor"]
    rows.append(
        {
            "name": "hot_path_bytes_kept_per_message",
            "median": ours["bytes_kept"],
            "p99": ours["bytes_kept"],
            "unit": "B/msg",
            "baseline": None,
            "note": f"{alloc['messages']} frames, {alloc['orders']} orders after the warm-up; "
            f"blocks kept per message {ours['blocks_kept']:.4f} "
            f"(orjson.loads of the same frame: {base['blocks_kept']:.4f})",
        }
    )
    rows.append(
        {
            "name": "hot_path_peak_transient_bytes_in_one_message",
            "median": ours["peak_bytes"],
            "p99": ours["peak_bytes"],
            "unit": "B",
            "baseline": {
                "name": "orjson.loads of the same frame",
                "median": base["peak_bytes"],
                "p99": base["peak_bytes"],
            },
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "sim.yaml"
        config.write_text(SIM_CONFIG)
        asyncio.run(_start_to_ready(config))  # fills the numba cache if it is cold
        ready_s, rss = asyncio.run(_start_to_ready(config))
    rows.append(
        {
            "name": "cold_start_to_ready",
            "median": ready_s,
            "p99": ready_s,
            "unit": "s",
            "baseline": None,
            "note": "process spawn to /readyz 200, numba cache warm",
        }
    )
    rows.append(
        {
            "name": "steady_rss",
            "median": rss / (1 << 20),
            "p99": rss / (1 << 20),
            "unit": "MiB",
            "baseline": None,
            "note": f"VmRSS after {RSS_AFTER_S:.0f} s of sim trading at speed 20",
        }
    )
    return rows


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    for row in run():
        print(row)
