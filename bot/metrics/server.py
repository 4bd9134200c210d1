"""One HTTP port on the trading loop: ``/metrics``, ``/healthz`` and ``/readyz`` (aiohttp).

``/healthz`` answers whether the loop is alive: the ``LoopMonitor`` beats every ``period_s`` and
records how late each beat ran (``tickbot_event_loop_lag_seconds``); a beat older than the
deadline means the loop is stuck (or was, just now) and the probe gets 503. ``/readyz`` asks
the app's readiness callback, which lists what is not ready (books out of sync, a venue
disconnected, the lease not held, the kill switch on); empty means ready. Both bodies are small
JSON objects, so an operator's ``curl`` says why.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from bot.metrics import registry as m

_S = 1e-9

Readiness = Callable[[], list[str]]
"""Return what is not ready (empty: ready)."""


class LoopMonitor:
    """Beat on the loop every ``period_s``; export how late each beat ran."""

    def __init__(self, period_s: float = 0.1) -> None:
        self.period_s = period_s
        self.last_beat_ns = time.monotonic_ns()
        self.last_lag_s = 0.0

    def beat(self) -> None:
        """Record a beat now (start-up work before ``run`` is not a stuck loop)."""
        self.last_beat_ns = time.monotonic_ns()

    async def run(self) -> None:
        """Beat until cancelled."""
        period_ns = int(self.period_s * 1e9)
        self.beat()
        while True:
            began = time.monotonic_ns()
            await asyncio.sleep(self.period_s)
            now = time.monotonic_ns()
            lag_s = max(0.0, (now - began - period_ns) * _S)
            self.last_lag_s = lag_s
            self.last_beat_ns = now
            m.LOOP_LAG.observe(lag_s)
            m.ASYNCIO_TASKS.set(len(asyncio.all_tasks()))

    def stuck_for_s(self) -> float:
        """Return how long since the last beat beyond one period (0 while beating)."""
        return max(0.0, (time.monotonic_ns() - self.last_beat_ns) * _S - self.period_s)


class MetricsServer:
    """The aiohttp app serving metrics and probes on one port."""

    def __init__(
        self,
        host: str,
        port: int,
        readiness: Readiness,
        monitor: LoopMonitor,
        *,
        health_deadline_s: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.readiness = readiness
        self.monitor = monitor
        self.health_deadline_s = health_deadline_s
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        self.app = app

    async def start(self) -> int:
        """Listen; return the bound port (useful with port 0)."""
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port, reuse_address=True)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        if addresses:
            self.port = int(addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Stop listening and close connections."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        ready = not self.readiness()
        m.READY.set(1 if ready else 0)
        body = generate_latest(m.REGISTRY)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        stuck_s = self.monitor.stuck_for_s()
        ok = stuck_s <= self.health_deadline_s
        body = {"ok": ok, "loop_lag_s": self.monitor.last_lag_s, "stuck_s": stuck_s}
        return _json(body, 200 if ok else 503)

    async def _readyz(self, request: web.Request) -> web.Response:
        reasons = self.readiness()
        m.READY.set(0 if reasons else 1)
        return _json({"ready": not reasons, "not_ready": reasons}, 503 if reasons else 200)


def _json(body: object, status: int) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")
