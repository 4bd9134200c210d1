"""``tickbot run`` in live mode: real signed orders to a loopback order-entry venue, per venue.

Market data comes over real sockets from a synthetic, protocol-true venue on 127.0.0.1 (Bybit
v5's public stream, or Binance USD-M's depth diffs with REST snapshots and aggTrades); orders
go through the order router to the loopback order-entry server of the same venue
(``tests/support/order_venue.py``), which checks every signature, keeps the orders and pushes
order updates and fills on the private stream. The bot starts (journal replayed, account
reconciled), becomes ready, quotes, gets a maker fill (position and fill metrics move), and on
SIGTERM cancels every order on the venue, flushes the journal and exits 0.

Also here: live mode refuses to start without credentials (exit 2, one line, no secret).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.botproc import BotProcess
from tests.support.order_venue import Filters, OrderVenuePlugin, OrderVenueServer
from tests.support.order_venues.binance import BinancePlugin
from tests.support.order_venues.bybit import BybitPlugin
from tests.support.synthetic_binance import SyntheticBinance
from tests.support.synthetic_bybit import SyntheticBybit

CONFIG = """
strategy:
  name: fixed_spread
  params: {{offset_ticks: 3, qty_lot: 1, interval_ms: 200}}
instruments: [{{venue: {venue}, symbol: {symbol}}}]
risk: {{max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 50, burst: 100}}
mode: live
venues:
  - {{name: {venue}, ws_url: '{md_ws}', rest_url: '{md_rest}', order_url: '{order_url}',
      order_ws_url: '{order_ws}', user_ws_url: '{user_ws}'}}
journal: {{path: '{journal}'}}
execution: {{dead_man_timeout_s: 60, shutdown_deadline_s: 15}}
metrics: {{host: 127.0.0.1, port: 0}}
logging: {{format: json}}
"""


@dataclass(frozen=True)
class LiveVenue:
    """One venue's market-data server, order-entry plug-in and URL layout."""

    name: str
    market: Callable[[], Any]
    plugin: Callable[[], OrderVenuePlugin]
    order_ws_path: str
    """Order entry over the venue's WebSocket API, below the loopback server's ``ws_url``."""
    user_ws_path: str

    @property
    def env_prefix(self) -> str:
        return self.name.upper().replace("-", "_")


VENUES = [
    LiveVenue("bybit", SyntheticBybit, BybitPlugin, "/v5/trade", "/v5/private"),
    LiveVenue("binance-usdm", SyntheticBinance, BinancePlugin, "/ws-fapi/v1", ""),
]
SYMBOL = "BTCUSDT"
FILTERS = {SYMBOL: Filters("0.1", "0.001", "0.001")}


async def _ready(proc: BotProcess) -> bool:
    status, _ = await proc.get("/readyz")
    return status == 200


def _config(tmp_path: Path, kind: LiveVenue, market: Any, orders: OrderVenueServer) -> Path:
    text = CONFIG.format(
        venue=kind.name, symbol=SYMBOL, md_ws=market.ws_url, md_rest=market.rest_url,
        order_url=orders.base_url, order_ws=orders.ws_url + kind.order_ws_path,
        user_ws=orders.ws_url + kind.user_ws_path, journal=tmp_path / "journal",
    )  # fmt: skip
    path = tmp_path / "tickbot.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("kind", VENUES, ids=[v.name for v in VENUES])
async def test_live_run_quotes_gets_fills_and_cancels_everything_on_sigterm(
    tmp_path: Path, kind: LiveVenue
) -> None:
    market = kind.market()
    await market.start()
    async with OrderVenueServer(kind.plugin(), filters=FILTERS) as venue:
        creds = venue.credentials
        env = {f"{kind.env_prefix}_API_KEY": creds.api_key,
               f"{kind.env_prefix}_API_SECRET": creds.api_secret}  # fmt: skip
        path = _config(tmp_path, kind, market, venue)
        proc = BotProcess("run", "--config", str(path), "--no-view", env=env)
        try:
            await proc.start()
            await proc.until(lambda: _ready(proc), what="ready")
            assert venue.stream_count >= 1  # the private stream is up before it quotes

            async def resting() -> bool:
                return any(o.status == "NEW" for o in venue.orders.values())

            await proc.until(resting, what="a quote resting on the venue")
            assert venue.calls["new"] > 0

            async def exported() -> bool:  # the metrics are folded in once a second
                return await proc.value("tickbot_orders_total", action="new", result="sent") > 0

            await proc.until(exported, what="orders sent exported")

            # a maker fill on the venue reaches the bot through the private stream
            fills_before = await proc.value("tickbot_fills_total")
            order = next(o for o in venue.orders.values() if o.status == "NEW")
            venue.fill(order.client_order_id, "0.001")
            side = 1 if order.side > 0 else -1

            async def filled() -> bool:
                return await proc.value("tickbot_fills_total") > fills_before

            await proc.until(filled, what="the fill reached the bot")
            pos = await proc.value("tickbot_position_lots", symbol=SYMBOL)
            assert pos == side
            assert venue.positions[SYMBOL] == Decimal("0.001") * side

            code = await proc.terminate()
            assert code == 0, "\n".join(proc.raw[-30:])
            assert proc.logged("cancel-all: done, no order left")
            assert not [o for o in venue.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")]
            assert venue.calls["cancel"] + venue.calls["cancel_all"] > 0
            journal = b"".join(p.read_bytes() for p in (tmp_path / "journal").iterdir())
            assert order.client_order_id.encode() in journal  # flushed: the filled order
            assert creds.api_secret.encode() not in journal
            assert not any(creds.api_secret in line for line in proc.raw)
        finally:
            await proc.kill()
            await market.stop()


async def test_live_mode_refuses_to_start_without_credentials(tmp_path: Path) -> None:
    kind = VENUES[0]
    market = kind.market()
    await market.start()
    async with OrderVenueServer(kind.plugin()) as venue:
        path = _config(tmp_path, kind, market, venue)
        env = {"BYBIT_API_KEY": "", "BYBIT_API_SECRET": ""}
        proc = BotProcess("run", "--config", str(path), "--no-view", env=env)
        try:
            await proc.start_process()
            code = await proc.wait_exit()
        finally:
            await proc.kill()
            await market.stop()
    assert code == 2
    assert any("mode live needs credentials" in line for line in proc.raw), proc.raw
    assert not any("Traceback" in line for line in proc.raw)
    assert venue.calls["new"] == 0
