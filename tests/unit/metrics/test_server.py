"""The metrics/health port: Prometheus text that promtool accepts, liveness and readiness."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import aiohttp
import pytest

from bot.metrics import registry as m
from bot.metrics.server import LoopMonitor, MetricsServer
from tests.support.asyncutil import eventually

PROMTOOL = shutil.which("promtool")


async def _get(port: int, path: str) -> tuple[int, bytes]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}{path}") as r:
        return r.status, await r.read()


def _touch_every_metric() -> None:
    """Give every labelled metric one series, so the lint sees them all."""
    for metric in list(m.REGISTRY._collector_to_names):
        names = getattr(metric, "_labelnames", ())
        if names:
            child = metric.labels(*["x"] * len(names))
            if hasattr(child, "observe"):
                child.observe(1e-5)
            elif hasattr(child, "inc"):
                child.inc(0)


async def test_metrics_pass_promtool_and_probes_answer() -> None:
    reasons: list[str] = ["book sim:BTCUSDT out of sync"]
    monitor = LoopMonitor(period_s=0.01)
    server = MetricsServer("127.0.0.1", 0, lambda: list(reasons), monitor, health_deadline_s=0.05)
    port = await server.start()
    beat = asyncio.create_task(monitor.run())
    try:
        _touch_every_metric()
        status, body = await _get(port, "/metrics")
        assert status == 200
        assert b"tickbot_tick_to_trade_seconds_bucket" in body
        assert b'le="1e-06"' in body
        assert b'le="0.01"' in body
        if PROMTOOL is None:
            pytest.skip("promtool not installed (apt-get install prometheus)")
        lint = await asyncio.to_thread(
            subprocess.run, [PROMTOOL, "check", "metrics"], input=body, capture_output=True
        )
        assert lint.returncode == 0, lint.stdout.decode() + lint.stderr.decode()
        assert lint.stdout.strip() == b""
        assert lint.stderr.strip() == b""

        status, body = await _get(port, "/readyz")
        assert status == 503
        assert b"out of sync" in body
        reasons.clear()
        status, _ = await _get(port, "/readyz")
        assert status == 200
        status, _ = await _get(port, "/healthz")
        assert status == 200
    finally:
        beat.cancel()
        await server.stop()


async def test_healthz_fails_when_the_loop_stops_beating() -> None:
    monitor = LoopMonitor(period_s=0.01)
    server = MetricsServer("127.0.0.1", 0, list, monitor, health_deadline_s=0.05)
    port = await server.start()
    try:
        # no beat task: the loop's monitor is silent, as when the loop is blocked or lost it
        await eventually(lambda: monitor.stuck_for_s() > 0.05)
        status, body = await _get(port, "/healthz")
        assert status == 503
        assert b'"ok":false' in body
        beat = asyncio.create_task(monitor.run())
        try:
            await eventually(lambda: monitor.stuck_for_s() == 0.0)
            status, _ = await _get(port, "/healthz")
            assert status == 200
        finally:
            beat.cancel()
    finally:
        await server.stop()


async def test_the_task_gauge_follows_the_tasks_on_the_loop() -> None:
    """``make soak`` reads this gauge for task leaks: it must count tasks coming and going."""
    monitor = LoopMonitor(period_s=0.01)
    beat = asyncio.create_task(monitor.run())
    stop = asyncio.Event()
    try:
        await eventually(lambda: m.ASYNCIO_TASKS._value.get() > 0, 10.0, "first beat")
        # compare with the loop's real task count, not a count read before: a task a previous
        # test left on the shared loop may end meanwhile (the gauge must follow that too)
        extra = [asyncio.create_task(stop.wait()) for _ in range(5)]
        with_extra = 0

        def counts_extra() -> bool:
            nonlocal with_extra
            with_extra = len(asyncio.all_tasks())
            return m.ASYNCIO_TASKS._value.get() == with_extra >= len(extra) + 2  # + test, beat

        await eventually(counts_extra, 10.0, "the 5 new tasks counted")
        stop.set()
        await asyncio.gather(*extra)
        await eventually(
            lambda: m.ASYNCIO_TASKS._value.get() == len(asyncio.all_tasks()) <= with_extra - 5,
            10.0,
            "the 5 ended tasks uncounted",
        )
    finally:
        beat.cancel()
