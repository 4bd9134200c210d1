"""``tickbot run`` with ``lease.enabled`` against an emulated Kubernetes API server on loopback.

No order goes out before the Lease is held; when another holder takes it the bot stops
quoting, cancels its orders at once and reports not-ready.
"""

from __future__ import annotations

from pathlib import Path

from tests.support.botproc import BotProcess
from tests.support.kube_api import EmulatedLeaseApi

CONFIG = """
strategy: {name: fixed_spread, params: {offset_ticks: 2, qty_lot: 1, interval_ms: 20}}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 200, burst: 400}
backtest: {latency: {entry_ms: 1, response_ms: 1}}
mode: sim
sim: {seed: 4, speed: 5, events_per_s: 400}
metrics: {host: 127.0.0.1, port: 0}
logging: {format: json}
lease: {enabled: true, name: tickbot, namespace: trading, identity: pod-a, duration_s: 3,
        renew_every_s: 0.2, api_timeout_s: 1}
"""


async def test_emulated_api_lease_gates_orders_and_its_loss_cancels(tmp_path: Path) -> None:
    api = EmulatedLeaseApi()
    await api.start()
    api.failing = True  # the API is down at start: the lease cannot be acquired
    kubeconfig = api.kubeconfig(tmp_path / "kubeconfig")
    config = tmp_path / "tickbot.yaml"
    config.write_text(CONFIG)
    env = {"KUBECONFIG": str(kubeconfig), "KUBERNETES_SERVICE_HOST": ""}
    proc = BotProcess("run", "--config", str(config), "--no-view", env=env)
    try:
        await proc.start()

        async def lease_failures() -> bool:
            return sum(1 for m, _ in api.requests if m == "GET") >= 3

        await proc.until(lease_failures, what="lease attempts while the API is down")
        status, body = await proc.get("/readyz")
        assert status == 503
        assert b"lease not held" in body
        assert await proc.value("tickbot_orders_total", action="new") == 0

        api.failing = False

        async def ready() -> bool:
            status, _ = await proc.get("/readyz")
            return status == 200

        await proc.until(ready, what="ready once the lease is held")
        assert api.holder("trading", "tickbot") == "pod-a"

        async def quoting() -> bool:
            return await proc.value("tickbot_orders_total", action="new") > 0

        await proc.until(quoting, what="orders after the lease")

        api.take_over("trading", "tickbot", "pod-b", duration_s=600)  # and keeps it

        async def stopped() -> bool:
            return proc.logged("lease lost (another holder)")

        await proc.until(stopped, what="lease loss noticed")
        assert proc.logged("quoting stopped")
        status, body = await proc.get("/readyz")
        assert status == 503
        assert b"lease not held" in body

        async def exported() -> bool:
            return await proc.value("tickbot_lease_held") == 0

        await proc.until(exported, what="lease gauge exported")
        sent = await proc.value("tickbot_orders_total", action="new")
        attempts = sum(1 for m, _ in api.requests if m == "GET")

        async def later() -> bool:  # ~2 s of lease attempts later (every 0.2 s)
            return sum(1 for m, _ in api.requests if m == "GET") >= attempts + 10

        await proc.until(later, what="more lease attempts")
        assert await proc.value("tickbot_orders_total", action="new") == sent
        assert api.holder("trading", "tickbot") == "pod-b"
        code = await proc.terminate()
        assert code == 0
    finally:
        await proc.kill()
        await api.stop()
