"""``make soak``: ``tickbot run`` (paper mode) quoting for a long time against a fast venue.

``python -m tests.soak [--minutes 30] [--rate 1910] [--warmup-minutes 3]`` starts a loopback
Bybit v5 venue (``tests.support.synthetic_bybit``: real protocol, a synthetic market) that
pushes market data at ``--rate`` messages per second, runs the bot against it, and every
``--sample-s`` seconds reads the bot's RSS, open file descriptors and sockets (``/proc``), its
asyncio task count, event-loop lag and tick-to-trade histograms (``/metrics``). It prints:

- ``rss growth after warm-up``: the last sample's RSS against the first after warm-up;
- ``loop lag p99`` over the run after warm-up, from the histogram's buckets;
- ``t2t p99`` of the first and of the last fifth of the run after warm-up (the drift);
- fds, sockets and tasks at the end of warm-up and at the end (a leak grows them);
- frames the venue sent and the bot counted (nothing dropped on the way).

The default rate is 10x a busy real one: Binance USD-M BTCUSDT, 2024-08-08 23:54-24:00 UTC
(``binance_usdm/hftbacktest_raw_btcusdt_20240808.gz`` in the shared samples: 93,954 frames in
345 s; median 191 frames/s, p99 1,305). Exit status 1 if RSS grew by 2 % or more, or fds,
sockets or tasks grew.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

from bot.data.generate import GenerateParams, generate_chunks
from tests.support.botproc import BotProcess
from tests.support.synthetic_bybit import SYMBOL, SyntheticBybit

BUSY_REAL_RATE = 191
"""Median frames/s of the real Binance BTCUSDT session above (all its streams)."""
RATE_FACTOR = 10
MARKET_SEED = 5
RSS_GROWTH_MAX = 0.02
START_TIMEOUT_S = 900.0
"""A cold numba cache on a busy machine compiles for minutes before the bot listens."""
PAGE_TICK_S = 0.002
MAX_BURST_TICKS = 50
"""At most this many ticks' worth of messages in one go: a pump that fell behind (the process
starved of CPU) restarts its schedule instead of blocking the loop to catch up; what was
actually sent is reported."""
YIELD_EVERY = 32
"""The venue's pump wakes this often and sends every frame that is due (a steady rate without
one sleep per frame)."""

CONFIG = """
strategy:
  name: fixed_spread
  params: {{offset_ticks: 2, qty_lot: 1, interval_ms: 20}}
instruments: [{{venue: bybit, symbol: BTCUSDT}}]
risk: {{max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 200, burst: 400}}
backtest: {{latency: {{entry_ms: 1, response_ms: 1}}}}
mode: paper
venues: [{{name: bybit, ws_url: '{ws}', rest_url: '{rest}'}}]
metrics: {{host: 127.0.0.1, port: 0}}
logging: {{format: json}}
runtime: {{shutdown_timeout_s: 10}}
"""


class RatedBybit(SyntheticBybit):
    """The loopback venue at a set rate of book messages per second."""

    def __init__(self, rate: float) -> None:
        super().__init__(interval_s=PAGE_TICK_S)
        self.rate = rate
        self.restarts = 0

    def _fresh_market(self) -> None:
        """Start the next synthetic market (a generator's 2 M events last about 90 s here)."""
        self.restarts += 1
        params = GenerateParams(events=2_000_000, tick_size="0.1", lot_size="0.001",
                                price="60000", levels=20, duration_s=20_000.0)  # fmt: skip
        self._chunks = generate_chunks(params, MARKET_SEED + self.restarts)
        self._rows = np.zeros(0)
        self._pos = 0

    async def _run(self) -> None:
        start, base = time.monotonic(), self.messages_sent
        burst = max(1, int(self.rate * PAGE_TICK_S * MAX_BURST_TICKS))
        while True:
            await asyncio.sleep(PAGE_TICK_S)
            due = int((time.monotonic() - start) * self.rate) - (self.messages_sent - base)
            if due > burst:  # fallen behind (a starved process): drop the backlog, not the loop
                start, base, due = time.monotonic(), self.messages_sent, burst
            for k in range(due):
                await self._push_one()
                if k % YIELD_EVERY == YIELD_EVERY - 1:
                    await asyncio.sleep(0)  # let subscriptions and the sampler run

    async def _push_one(self) -> None:
        ts_ms = time.time_ns() // 1_000_000
        frames = []
        try:
            bids, asks, trades = self._next_message()
        except StopIteration:
            # The market ran out: the next one starts with its full book, sent as a Bybit
            # snapshot (the feed replaces its book, as after a venue-side reset).
            self._fresh_market()
            self._next_message()
            bids, asks, trades = [], [], []
            self.u += 1
            frames.append(self.snapshot_frame(ts_ms))
        if bids or asks:  # u counts book updates: a trades-only message leaves it alone
            self.u += 1
            frames.append(self._book_frame("delta", bids, asks, ts_ms))
        if trades:
            for t in trades:
                t["T"] = ts_ms
            frames.append(
                orjson.dumps(
                    {"topic": f"publicTrade.{SYMBOL}", "type": "snapshot", "ts": ts_ms,
                     "data": trades}
                ).decode()
            )  # fmt: skip
        for ws in list(self.subscribers):
            for frame in frames:
                with contextlib.suppress(ConnectionResetError):
                    await ws.send_str(frame)
        self.frames_sent += len(frames) if self.subscribers else 0
        self.messages_sent += 1

    frames_sent = 0


@dataclass
class Sample:
    """One reading of the bot process."""

    t_s: float
    rss_kib: int
    fds: int
    sockets: int
    tasks: float
    lag_buckets: dict[float, float]
    t2t_buckets: dict[float, float]
    md_messages: float


def _proc(pid: int) -> tuple[int, int, int]:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    fds = sockets = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        fds += 1
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                sockets += 1
    return rss, fds, sockets


def _buckets(metrics: dict, name: str) -> dict[float, float]:
    out: dict[float, float] = {}
    for (n, labels), v in metrics.items():
        if n == f"{name}_bucket":
            le = float(dict(labels)["le"])
            out[le] = out.get(le, 0.0) + v
    return out


def quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The ``q`` quantile of the observations between two readings of a cumulative histogram
    (the upper bound of the bucket it falls in, as Prometheus' histogram_quantile bounds it)."""
    edges = sorted(after)
    counts = [after[e] - before.get(e, 0.0) for e in edges]
    total = counts[-1] if counts else 0.0
    if total <= 0:
        return float("nan")
    for edge, c in zip(edges, counts, strict=True):
        if c >= q * total:
            return edge
    return float("inf")


async def _sample(proc: BotProcess, pid: int, t0: float) -> Sample:
    rss, fds, sockets = _proc(pid)
    metrics = await proc.metrics()
    tasks = sum(v for (n, _), v in metrics.items() if n == "tickbot_asyncio_tasks")
    md = sum(v for (n, _), v in metrics.items() if n == "tickbot_market_data_messages_total")
    return Sample(
        time.monotonic() - t0,
        rss,
        fds,
        sockets,
        tasks,
        _buckets(metrics, "tickbot_event_loop_lag_seconds"),
        _buckets(metrics, "tickbot_tick_to_trade_seconds"),
        md,
    )


async def soak(minutes: float, rate: float, warmup_minutes: float, sample_s: float) -> int:
    """Run the soak; print the figures; return the exit status."""
    venue = RatedBybit(rate)
    await venue.start()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"tickbot-soak-{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    config = tmp / "tickbot.yaml"
    config.write_text(CONFIG.format(ws=venue.ws_url, rest=venue.rest_url))
    proc = BotProcess("run", "--config", str(config), "--no-view")
    samples: list[Sample] = []
    try:
        await proc.start(timeout_s=START_TIMEOUT_S)
        assert proc.proc is not None
        pid = proc.proc.pid
        await proc.wait_ready(timeout_s=START_TIMEOUT_S)
        t0 = time.monotonic()
        sent0 = venue.frames_sent
        md0 = (await _sample(proc, pid, t0)).md_messages
        while time.monotonic() - t0 < minutes * 60:
            await asyncio.sleep(sample_s)
            if venue._pump is not None and venue._pump.done():
                print(f"the venue stopped pushing: {venue._pump!r}", file=sys.stderr)
                return 1
            s = await _sample(proc, pid, t0)
            samples.append(s)
            print(
                f"t={s.t_s:6.0f}s rss={s.rss_kib} KiB fds={s.fds} sockets={s.sockets} "
                f"tasks={s.tasks:.0f} md={s.md_messages - md0:.0f} "
                f"sent={venue.frames_sent - sent0} markets={venue.restarts + 1}",
                flush=True,
            )
        sent = venue.frames_sent - sent0
        orders = await proc.value("tickbot_orders_total", action="new")
        code = await proc.terminate()
    finally:
        if proc.exited or not samples:
            print("\n".join(proc.raw[-30:]), file=sys.stderr)
        await proc.kill()
        await venue.stop()
    warm = [s for s in samples if s.t_s >= warmup_minutes * 60]
    if len(warm) < 2:
        print("soak too short for figures after warm-up", file=sys.stderr)
        return 1
    first, last = warm[0], warm[-1]
    fifth = max(1, len(warm) // 5)
    growth = (last.rss_kib - first.rss_kib) / first.rss_kib
    rss_max = max(s.rss_kib for s in warm)
    lag_p99 = quantile(first.lag_buckets, last.lag_buckets, 0.99)
    t2t_early = quantile(warm[0].t2t_buckets, warm[fifth].t2t_buckets, 0.99)
    t2t_late = quantile(warm[-1 - fifth].t2t_buckets, last.t2t_buckets, 0.99)
    seconds = last.t_s
    print(f"duration: {seconds / 60:.1f} min at {rate:.0f} book messages/s asked ({RATE_FACTOR}x "
          f"the median {BUSY_REAL_RATE}/s of Binance BTCUSDT 2024-08-08), "
          f"{sent / seconds:.0f} frames/s sent")  # fmt: skip
    counted = last.md_messages - md0
    print(f"frames: sent {sent}, counted by the bot {counted:.0f}; orders {orders:.0f}")
    print(f"rss after warm-up: {first.rss_kib} KiB -> {last.rss_kib} KiB "
          f"(growth {growth * 100:+.2f} %, max {rss_max} KiB)")  # fmt: skip
    print(f"loop lag p99: <= {lag_p99 * 1e3:g} ms")
    print(f"t2t p99: first fifth <= {t2t_early * 1e6:g} us, last fifth <= {t2t_late * 1e6:g} us")
    print(f"fds: {first.fds} -> {last.fds}; sockets: {first.sockets} -> {last.sockets}; "
          f"tasks: {first.tasks:.0f} -> {last.tasks:.0f}")  # fmt: skip
    print(f"exit code after SIGTERM: {code}")
    leaks = last.fds > first.fds or last.sockets > first.sockets or last.tasks > first.tasks
    return 1 if growth >= RSS_GROWTH_MAX or leaks or code != 0 else 0


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and soak."""
    ap = argparse.ArgumentParser(prog="python -m tests.soak")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=RATE_FACTOR * BUSY_REAL_RATE)
    ap.add_argument("--warmup-minutes", type=float, default=3.0)
    ap.add_argument("--sample-s", type=float, default=10.0)
    args = ap.parse_args(argv)
    return asyncio.run(soak(args.minutes, args.rate, args.warmup_minutes, args.sample_s))


if __name__ == "__main__":
    sys.exit(main())
