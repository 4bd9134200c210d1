"""``tickbot run`` in paper mode against a loopback Bybit venue, scraped by a real Prometheus.

Market data comes over real sockets from a synthetic but protocol-true Bybit v5 venue on
127.0.0.1; orders are filled by the in-process simulated exchange against that live book (the
paper mode's order entry: the loopback order-entry venues are not used here yet). The bot
starts, becomes ready, quotes, applies a ConfigMap-style reload, refuses a bad one while
trading on, goes not-ready and back across a venue outage, and on SIGTERM cancels everything
and exits 0. A real Prometheus scrapes it meanwhile and the test reads the series back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.botproc import BotProcess
from tests.support.configmap import ConfigMapVolume
from tests.support.prometheus import PROMETHEUS, SKIP_REASON, Prometheus
from tests.support.synthetic_bybit import SyntheticBybit

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


async def _ready(proc: BotProcess) -> bool:
    status, _ = await proc.get("/readyz")
    return status == 200


async def _not_ready(proc: BotProcess) -> bool:
    status, _ = await proc.get("/readyz")
    return status == 503


async def test_paper_run_trades_reloads_survives_an_outage_and_stops_clean(tmp_path: Path) -> None:
    venue = SyntheticBybit()
    await venue.start()
    text = CONFIG.format(ws=venue.ws_url, rest=venue.rest_url)
    volume = ConfigMapVolume(tmp_path / "config", {"tickbot.yaml": text})
    proc = BotProcess("run", "--config", str(volume.path("tickbot.yaml")), "--no-view")
    prom: Prometheus | None = None
    try:
        await proc.start()
        if PROMETHEUS is not None:
            prom = Prometheus(tmp_path, proc.port)
            await prom.start()
        await proc.until(lambda: _ready(proc), what="ready")

        async def orders_above(n: float) -> bool:
            return await proc.value("tickbot_orders_total", action="new") > n

        await proc.until(lambda: orders_above(0), what="quoting")
        assert await proc.value("tickbot_market_data_messages_total", venue="bybit") > 0

        # a good reload is applied, a bad one refused while trading goes on
        applied = await proc.value("tickbot_config_reloads_total", result="applied")
        volume.update({"tickbot.yaml": text.replace("offset_ticks: 2", "offset_ticks: 3")})

        async def reloaded() -> bool:
            v = await proc.value("tickbot_config_reloads_total", result="applied")
            return v == applied + 1

        await proc.until(reloaded, what="reload applied")
        failures = await proc.value("tickbot_config_reload_failures_total", reason="invalid")
        volume.update({"tickbot.yaml": text.replace("max_order_lot: 5", "max_order_lot: zero")})

        async def refused() -> bool:
            v = await proc.value("tickbot_config_reload_failures_total", reason="invalid")
            return v == failures + 1

        await proc.until(refused, what="bad reload refused")
        before = await proc.value("tickbot_orders_total", action="new")
        await proc.until(lambda: orders_above(before), what="trading on after the bad reload")

        # a venue outage: not ready while disconnected, ready again after
        reconnects = await proc.value("tickbot_ws_reconnects_total", venue="bybit")
        await venue.disconnect()
        await proc.until(lambda: _not_ready(proc), what="not ready during the outage")
        _, body = await proc.get("/readyz")
        assert b"bybit" in body
        venue.reconnect()
        await proc.until(lambda: _ready(proc), what="ready again")
        assert await proc.value("tickbot_ws_reconnects_total", venue="bybit") > reconnects
        before = await proc.value("tickbot_orders_total", action="new")
        await proc.until(lambda: orders_above(before), what="quoting after the outage")

        if prom is not None:

            async def scraped() -> bool:
                got = await prom.query('tickbot_orders_total{action="new"}')
                return bool(got) and float(got[0]["value"][1]) > 0

            await proc.until(scraped, timeout_s=60, what="prometheus scraped the bot")
            t2t = await prom.query("sum(tickbot_tick_to_trade_seconds_count)")
            assert t2t
            assert float(t2t[0]["value"][1]) > 0
            up = await prom.query('up{job="tickbot"}')
            assert up
            assert up[0]["value"][1] == "1"

        code = await proc.terminate()
        assert code == 0, "\n".join(proc.raw[-30:])
        assert proc.logged("cancel-all: done, no order left")
    finally:
        await proc.kill()
        if prom is not None:
            await prom.stop()
        await venue.stop()
    if prom is None:
        pytest.skip(f"the Prometheus part did not run: {SKIP_REASON}")
