"""Ingest benchmarks: Binance depthUpdate frame -> book, and loopback throughput.

``run()`` returns result rows ``{"name", "median", "p99", "unit", "baseline": {"name",
"median"}}``; every baseline is measured in the same run on the same messages:

* ``binance_depth_frame_to_book``: ``BinanceUsdmFeed.on_message`` on ~10-level depthUpdate
  frames (text as aiohttp delivers it: encode, scan, sequence check, exact fixed point, book
  update, crossed check), ns per message. Baselines: ``orjson.loads`` + per-level ``float()``
  into a dict book (the common pure-Python approach), and cryptofeed's own Binance futures
  handler when it can be installed in ``benchmarks/.venvs/cryptofeed`` (run as a subprocess,
  never imported here).
* ``loopback_*``: a server process pushes depth frames as fast as it can over one WebSocket;
  the client is the real ``FeedSupervisor`` + feed on uvloop: sustained messages/s (vs a bare
  aiohttp receive loop), event-loop lag while saturated (vs idle), and RSS.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson

ROOT = Path(__file__).resolve().parent.parent
CRYPTOFEED_PY = ROOT / "benchmarks" / ".venvs" / "cryptofeed" / "bin" / "python"
N_FRAMES = 20_000
WARMUP = 2_000
LOOPBACK_FRAMES = 300_000


def make_frames(n: int, first_u: int = 1_000, levels: int = 5, seed: int = 1) -> list[str]:
    """``n`` chained BTCUSDT depthUpdate frames (combined-stream envelope), ``2*levels`` levels."""
    rng = random.Random(seed)
    frames = []
    u = first_u
    for _ in range(n):
        first, last = u + 1, u + rng.randint(1, 40)
        bids = [[f"{49_990.0 - rng.randint(0, 60) * 0.1:.1f}", _size(rng)] for _ in range(levels)]
        asks = [[f"{50_000.5 + rng.randint(0, 60) * 0.1:.1f}", _size(rng)] for _ in range(levels)]
        data = {"e": "depthUpdate", "E": 1_700_000_000_000 + u, "T": 1_700_000_000_000 + u,
                "s": "BTCUSDT", "U": first, "u": last, "pu": u, "b": bids, "a": asks}  # fmt: skip
        frames.append(orjson.dumps({"stream": "btcusdt@depth@100ms", "data": data}).decode())
        u = last
    return frames


def _size(rng: random.Random) -> str:
    return "0" if rng.random() < 0.1 else f"{rng.randint(1, 5000) / 1000:.3f}"


def snapshot_body(first_u: int = 1_000) -> bytes:
    """A snapshot the first frame of ``make_frames(first_u=...)`` continues (U <= id <= u)."""
    bids = [[f"{49_990.0 - k * 0.1:.1f}", "1.000"] for k in range(100)]
    asks = [[f"{50_000.5 + k * 0.1:.1f}", "1.000"] for k in range(100)]
    return orjson.dumps({"lastUpdateId": first_u + 1, "E": 0, "T": 0, "bids": bids, "asks": asks})


def _feed(ws_base: str = "ws://127.0.0.1:1", rest_base: str = "http://127.0.0.1:1"):
    from bot.adapters.base import EventBuffer, InstrumentRef
    from bot.adapters.binance_usdm import BinanceUsdmFeed
    from bot.core.book import new_books
    from bot.core.instruments import InstrumentSpec

    spec = InstrumentSpec(venue="binance-usdm", symbol="BTCUSDT", tick_size="0.1",
                          lot_size="0.001")  # fmt: skip
    qty, state = new_books(1)
    feed = BinanceUsdmFeed([InstrumentRef.of(0, spec)], qty, state, ws_url=ws_base,
                           rest_url=rest_base, trades=False, mark_price=False)  # fmt: skip
    return feed, state, EventBuffer(1 << 16)


def _stats(samples: list[int]) -> tuple[float, float]:
    arr = np.asarray(samples[WARMUP:], dtype=np.float64)
    return float(np.median(arr)), float(np.percentile(arr, 99))


def bench_depth_fast(frames: list[str]) -> list[int]:
    """ns per message through the real feed (warm: kernels compiled before timing)."""
    feed, state, out = _feed()
    feed.on_connect(0, out, url=feed.ws_urls()[0])
    feed.on_snapshot(feed.pending_snapshots()[0], snapshot_body(), 0, out)
    clock = time.perf_counter_ns
    samples = []
    on_message = feed.on_message
    for frame in frames:
        if out.n > 60_000:
            out.clear()
        t0 = clock()
        on_message(frame, 1, out)
        samples.append(clock() - t0)
    if feed.stats.gaps or feed.stats.malformed or not state[0, 8]:
        raise RuntimeError(f"benchmark feed fell out of sync: {feed.stats}")
    return samples


def bench_depth_python(frames: list[str]) -> list[int]:
    """The pure-Python baseline: orjson.loads, pu check, per-level float() into dicts."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    last_u = 1_000
    clock = time.perf_counter_ns
    samples = []
    for frame in frames:
        t0 = clock()
        data = orjson.loads(frame)["data"]
        if data["pu"] != last_u:
            raise RuntimeError("gap")
        for side, key in ((bids, "b"), (asks, "a")):
            for price, size in data[key]:
                p, q = float(price), float(size)
                if q == 0.0:
                    side.pop(p, None)
                else:
                    side[p] = q
        last_u = data["u"]
        samples.append(clock() - t0)
    return samples


_CRYPTOFEED_SCRIPT = r"""
import asyncio, json, sys, time
from decimal import Decimal
frames = json.load(open(sys.argv[1]))
snapshot = json.load(open(sys.argv[2]))
from cryptofeed.defines import L2_BOOK
from cryptofeed.exchanges import BinanceFutures
from cryptofeed.symbols import Symbols
from cryptofeed.types import OrderBook
info = {"symbols": [{"symbol": "BTCUSDT", "contractType": "PERPETUAL", "baseAsset": "BTC",
                     "quoteAsset": "USDT", "status": "TRADING",
                     "filters": [{"filterType": "PRICE_FILTER", "tickSize": "0.1"}]}]}
Symbols.set(BinanceFutures.id, *BinanceFutures._parse_symbol_data(info))  # no network
async def noop(*args, **kwargs):
    pass
async def main():
    feed = BinanceFutures(symbols=["BTC-USDT-PERP"], channels=[L2_BOOK], callbacks={L2_BOOK: noop})
    pair = "BTC-USDT-PERP"
    feed._l2_book[pair] = OrderBook(feed.id, pair, max_depth=feed.max_depth,
        bids={Decimal(p): Decimal(q) for p, q in snapshot["bids"]},
        asks={Decimal(p): Decimal(q) for p, q in snapshot["asks"]})
    feed.last_update_id[pair] = snapshot["lastUpdateId"]
    conn = type("Conn", (), {"uuid": "bench"})()
    samples = []
    clock = time.perf_counter_ns
    for frame in frames:
        t0 = clock()
        await feed.message_handler(frame, conn, 1.0)
        samples.append(clock() - t0)
    assert feed.last_update_id[pair] == json.loads(frames[-1])["data"]["u"], "cryptofeed lost sync"
    print(json.dumps(samples))
asyncio.run(main())
"""


def ensure_cryptofeed() -> str | None:
    """Create ``benchmarks/.venvs/cryptofeed`` with cryptofeed in it unless it exists.

    cryptofeed pins its own dependency versions, so it never goes into the project's venv.
    Returns None when ready, else a note saying why the comparison is skipped: offline (pip
    cannot reach the registry), opted out (``TICKBOT_BENCH_CRYPTOFEED=0``), or a failed install.
    A failed attempt leaves no half-built venv behind, so the next run tries again.
    """
    if CRYPTOFEED_PY.exists():
        return None
    if os.environ.get("TICKBOT_BENCH_CRYPTOFEED", "1") == "0":
        return "cryptofeed comparison skipped (TICKBOT_BENCH_CRYPTOFEED=0)"
    venv_dir = CRYPTOFEED_PY.parent.parent
    sys.stderr.write(f"# installing cryptofeed into {venv_dir} (once) ...\n")
    pip = [str(CRYPTOFEED_PY), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
           "--timeout", "15", "--retries", "1", "cryptofeed"]  # fmt: skip
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv_dir)], check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        proc = subprocess.run(pip, capture_output=True, text=True, timeout=600, check=False)
    except (OSError, subprocess.SubprocessError) as e:
        shutil.rmtree(venv_dir, ignore_errors=True)
        return f"cryptofeed comparison skipped: could not create its venv ({e})"
    if proc.returncode != 0:
        shutil.rmtree(venv_dir, ignore_errors=True)
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1][:160]
        offline = any(
            w in proc.stderr
            for w in (
                "NewConnectionError",
                "Could not find a version",
                "No matching distribution",
                "Temporary failure",
            )
        )
        why = "offline: pip cannot reach the package index" if offline else "pip install failed"
        return f"cryptofeed comparison skipped ({why}: {last})"
    return None


def bench_cryptofeed(frames: list[str], tmp: Path) -> tuple[list[int] | None, str]:
    """Run cryptofeed's BinanceFutures.message_handler in its own venv; (samples, note)."""
    note = ensure_cryptofeed()
    if note is not None:
        return None, note
    frames_path = tmp / "frames.json"
    snap_path = tmp / "snapshot.json"
    frames_path.write_text(json.dumps(frames))
    snap_path.write_bytes(snapshot_body())
    script = tmp / "cf_bench.py"
    script.write_text(_CRYPTOFEED_SCRIPT)
    try:
        proc = subprocess.run([str(CRYPTOFEED_PY), str(script), str(frames_path), str(snap_path)],
                              capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as e:
        return None, f"cryptofeed run failed: {e}"
    if proc.returncode != 0:
        return None, "cryptofeed run failed: " + proc.stderr.strip().splitlines()[-1][:200]
    return json.loads(proc.stdout), "cryptofeed " + _cryptofeed_version()


def _cryptofeed_version() -> str:
    try:
        code = "import importlib.metadata as m; print(m.version('cryptofeed'))"
        out = subprocess.run([str(CRYPTOFEED_PY), "-c", code],
                             capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        return out.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


# -- loopback throughput -------------------------------------------------------------------


def _serve(frames_path: str, port_queue: Any, rounds: int) -> None:
    """Server process: push every frame as fast as possible on each connection."""
    import uvloop
    from aiohttp import web

    frames = json.loads(Path(frames_path).read_text())

    snapshot_served = asyncio.Event()

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if request.path == "/public/stream":
            # Like the venue: the snapshot is fresh relative to the stream the client buffers.
            await snapshot_served.wait()
        for frame in frames:
            await ws.send_str(frame)
        await ws.close()
        return ws

    async def depth(request: web.Request) -> web.Response:
        snapshot_served.set()
        return web.Response(body=snapshot_body(), content_type="application/json")

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/public/stream", ws_handler)
        app.router.add_get("/raw/stream", ws_handler)
        app.router.add_get("/fapi/v1/depth", depth)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_queue.put(site._server.sockets[0].getsockname()[1])
        await asyncio.sleep(3600)

    uvloop.run(main())


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _lag_probe(samples: list[float], stop: asyncio.Event) -> None:
    period = 0.001
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(period)
        # the loop's timer has millisecond granularity and can fire a little early: that is
        # no lag, so clamp at zero rather than report negative latency
        samples.append(max(0.0, (time.perf_counter() - t0 - period) * 1e6))


async def _loopback_client(port: int, n: int) -> dict[str, Any]:
    import aiohttp

    from bot.ingest.supervisor import FeedSupervisor, SupervisorOptions

    # Baseline: bare aiohttp receive loop (transport ceiling), and idle loop lag.
    idle_lag: list[float] = []
    stop = asyncio.Event()
    probe = asyncio.create_task(_lag_probe(idle_lag, stop))
    await asyncio.sleep(0.5)
    stop.set()
    await probe
    url = f"ws://127.0.0.1:{port}/raw/stream"
    async with aiohttp.ClientSession() as http, http.ws_connect(url, max_msg_size=0) as ws:
        t0 = time.perf_counter()
        count = 0
        async for _ in ws:
            count += 1
        raw_rate = count / (time.perf_counter() - t0)
    rss_before = _rss_mib()
    feed, state, _out = _feed(f"ws://127.0.0.1:{port}", f"http://127.0.0.1:{port}")
    rows = [0]

    def sink(batch: np.ndarray) -> None:
        rows[0] += len(batch)

    sup = FeedSupervisor(feed, sink, state, symbols={0: "BTCUSDT"},
                         options=SupervisorOptions(monitor_period_s=5.0))  # fmt: skip
    lag: list[float] = []
    stop = asyncio.Event()
    windows: list[float] = []
    async with asyncio.TaskGroup() as tg:
        run = tg.create_task(sup.run())
        probe = tg.create_task(_lag_probe(lag, stop))
        while feed.stats.messages == 0:  # noqa: ASYNC110 (polling a plain counter)
            await asyncio.sleep(0.001)
        t_start = time.perf_counter()
        last_t, last_n = t_start, feed.stats.messages
        while feed.stats.messages < n:
            await asyncio.sleep(0.1)
            now, msgs = time.perf_counter(), feed.stats.messages
            windows.append((msgs - last_n) / (now - last_t))
            last_t, last_n = now, msgs
        elapsed = time.perf_counter() - t_start
        stop.set()
        run.cancel()
    if feed.stats.gaps or feed.stats.malformed:
        raise RuntimeError(f"loopback feed fell out of sync: {feed.stats}")
    full = windows[1:-1] or windows
    return {
        "rate": n / elapsed,
        "windows": full,
        "raw_rate": raw_rate,
        "lag": lag,
        "idle_lag": idle_lag,
        "rss": _rss_mib(),
        "rss_before": rss_before,
        "rows": rows[0],
    }


def bench_loopback(tmp: Path) -> dict[str, Any]:
    import uvloop

    frames_path = tmp / "loopback_frames.json"
    frames_path.write_text(json.dumps(make_frames(LOOPBACK_FRAMES, seed=2)))
    ctx = mp.get_context("fork")
    port_queue = ctx.Queue()
    server = ctx.Process(target=_serve, args=(str(frames_path), port_queue, 2), daemon=True)
    server.start()
    try:
        port = port_queue.get(timeout=30)
        return uvloop.run(_loopback_client(port, LOOPBACK_FRAMES))
    finally:
        server.terminate()
        server.join(10)


def run() -> list[dict[str, Any]]:
    """Run every ingest benchmark; return result rows."""
    import tempfile

    frames = make_frames(N_FRAMES)
    bench_depth_fast(frames[:WARMUP])  # compile / load kernels outside the timing
    fast = _stats(bench_depth_fast(frames))
    python = _stats(bench_depth_python(frames))
    results = [
        {"name": "binance_depth_frame_to_book", "median": fast[0], "p99": fast[1], "unit": "ns/msg",
         "baseline": {"name": "orjson.loads + per-level float() into dicts", "median": python[0],
                      "p99": python[1]}},
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        cf_samples, note = bench_cryptofeed(frames, tmp)
        if cf_samples is not None:
            cf = _stats(cf_samples)
            results.append({"name": "binance_depth_frame_to_book_vs_cryptofeed", "median": fast[0],
                            "p99": fast[1], "unit": "ns/msg",
                            "baseline": {"name": f"{note} BinanceFutures.message_handler",
                                         "median": cf[0], "p99": cf[1]}})  # fmt: skip
        else:
            results[0]["note"] = note
        loop = bench_loopback(tmp)
    lag = np.asarray(loop["lag"])
    idle = np.asarray(loop["idle_lag"])
    results += [
        {"name": "loopback_depth_throughput", "median": statistics.median(loop["windows"]),
         "p99": float(np.percentile(loop["windows"], 1)), "unit": "msg/s",
         "baseline": {"name": "bare aiohttp receive loop (no parsing)", "median": loop["raw_rate"]},
         "note": f"overall {loop['rate']:.0f} msg/s over {LOOPBACK_FRAMES} frames; p99 column is "
                 "the slowest 1% of 0.1 s windows"},
        {"name": "loopback_event_loop_lag", "median": float(np.median(lag)),
         "p99": float(np.percentile(lag, 99)), "unit": "us",
         "baseline": {"name": "same probe on an idle loop", "median": float(np.median(idle)),
                      "p99": float(np.percentile(idle, 99))}},
        {"name": "loopback_rss", "median": loop["rss"], "p99": loop["rss"], "unit": "MiB",
         "baseline": {"name": "RSS before connecting", "median": loop["rss_before"]}},
    ]  # fmt: skip
    return results


if __name__ == "__main__":
    for row in run():
        sys.stdout.write(json.dumps(row) + "\n")
