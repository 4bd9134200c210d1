"""``tickbot run`` in sim mode as a real process: ready, quoting, ConfigMap reloads, SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.botproc import BotProcess
from tests.support.configmap import ConfigMapVolume

CONFIG = """
strategy:
  name: fixed_spread
  params: {offset_ticks: 2, qty_lot: 1, interval_ms: 20}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 200, burst: 400, kill_switch: false}
backtest: {latency: {entry_ms: 1, response_ms: 1}}
mode: sim
sim: {seed: 3, speed: 5, events_per_s: 400}
metrics: {host: 127.0.0.1, port: 0}
logging: {format: json}
runtime: {shutdown_timeout_s: 10}
"""


@pytest.fixture
async def bot(tmp_path: Path):  # type: ignore[no-untyped-def]
    volume = ConfigMapVolume(tmp_path / "config", {"tickbot.yaml": CONFIG})
    proc = BotProcess("run", "--config", str(volume.path("tickbot.yaml")), "--no-view")
    await proc.start()
    try:
        yield proc, volume
    finally:
        await proc.kill()


async def test_sim_run_quotes_reloads_and_cancels_on_sigterm(bot) -> None:  # type: ignore[no-untyped-def]
    proc, volume = bot
    await proc.wait_ready()
    status, _ = await proc.get("/healthz")
    assert status == 200

    async def orders_above(n: float) -> bool:
        return await proc.value("tickbot_orders_total", action="new") > n

    await proc.until(lambda: orders_above(0), what="first orders")
    hashes = [r["config_hash"] for r in proc.lines if "config_hash" in r]
    first_hash = hashes[0]
    assert await proc.value("tickbot_config_info", hash=first_hash) == 1

    # a reloadable change (risk and params) is applied while trading
    applied = await proc.value("tickbot_config_reloads_total", result="applied")
    volume.update({"tickbot.yaml": CONFIG.replace("offset_ticks: 2", "offset_ticks: 3")
                   .replace("max_order_lot: 5", "max_order_lot: 4")})  # fmt: skip

    async def reloaded() -> bool:
        return await proc.value("tickbot_config_reloads_total", result="applied") == applied + 1

    await proc.until(reloaded, what="reload applied")
    assert await proc.value("tickbot_config_info", hash=first_hash) == 0
    new_hash = next(
        r["config_hash"] for r in reversed(proc.lines) if "config reloaded" in r["message"]
    )
    assert await proc.value("tickbot_config_info", hash=new_hash) == 1

    # an invalid file is refused and counted; trading goes on with the old config
    failures = await proc.value("tickbot_config_reload_failures_total", reason="invalid")
    volume.update({"tickbot.yaml": CONFIG.replace("offset_ticks: 2", "offset_ticks: -1")})

    async def refused() -> bool:
        v = await proc.value("tickbot_config_reload_failures_total", reason="invalid")
        return v == failures + 1

    await proc.until(refused, what="bad reload refused")
    assert await proc.value("tickbot_config_info", hash=new_hash) == 1
    before = await proc.value("tickbot_orders_total", action="new")
    await proc.until(lambda: orders_above(before), what="orders after the bad reload")
    status, _ = await proc.get("/readyz")
    assert status == 200

    # a restart-only change is refused too
    volume.update({"tickbot.yaml": CONFIG.replace("symbol: BTCUSDT", "symbol: ETHUSDT")})

    async def restart_refused() -> bool:
        v = await proc.value("tickbot_config_reload_failures_total", reason="restart_needed")
        return v >= 1

    await proc.until(restart_refused, what="restart-only change refused")

    code = await proc.terminate()
    assert code == 0, "\n".join(proc.raw[-30:])
    assert proc.logged("SIGTERM received")
    # on a miss, the last lines say which it was: orders still live (and how many), or no line
    assert proc.logged("cancel-all: done, no order left"), "\n".join(proc.raw[-30:])
