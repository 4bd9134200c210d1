"""Binance USD-M user data stream: listen key, keepalive, ``ORDER_TRADE_UPDATE`` → reports.

``POST /fapi/v1/listenKey`` returns the key (valid 60 min); it is extended with ``PUT`` every
``KEEPALIVE_S`` while connected. Mainnet connects to ``/private/ws?listenKey=`` (the 2026 route
split), testnet to ``/ws/<listenKey>``. A ``listenKeyExpired`` event ends the iteration (the next
one creates a key again). Frames may come bare or in the combined-stream envelope.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import orjson

from bot.adapters.binance_usdm.orders import SIDES, STATUS, _price
from bot.adapters.errors import AdapterError, RetryableError
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment, FillReport, OrderReport
from bot.core.dtypes import Liquidity, OrderStatus

if TYPE_CHECKING:
    from bot.adapters.binance_usdm.orders import BinanceOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://fstream.binance.com",
    "testnet": "wss://stream.binancefuture.com",
}
KEEPALIVE_S = 30 * 60.0
"""Extend the 60-minute listen key every 30 minutes."""
_NS_PER_MS = 1_000_000


class ListenKeyExpiredError(RetryableError):
    """Binance expired the listen key: reconnect with a new one."""


def parse_order_update(event: dict[str, Any]) -> list[Report]:
    """One ``ORDER_TRADE_UPDATE`` as [fill (on TRADE), order report]."""
    o = event["o"]
    ts = int(o.get("T") or event.get("T") or 0) * _NS_PER_MS
    side = SIDES[o["S"]]
    out: list[Report] = []
    if o.get("x") == "TRADE":
        out.append(
            FillReport(
                client_order_id=o["c"],
                venue_order_id=str(o["i"]),
                trade_id=str(o["t"]),
                symbol=o["s"],
                side=side,
                qty=o["l"],
                price=o["L"],
                fee=o.get("n", "0"),
                fee_asset=o.get("N", ""),
                liquidity=Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
                ts_exch_ns=ts,
            )
        )
    out.append(
        OrderReport(
            client_order_id=o["c"],
            venue_order_id=str(o["i"]),
            symbol=o["s"],
            status=STATUS.get(o["X"], OrderStatus.UNKNOWN),
            side=side,
            qty=o["q"],
            filled_qty=o["z"],
            price=_price(o.get("p")),
            avg_price=_price(o.get("ap")),
            ts_exch_ns=ts,
        )
    )
    return out


def parse_user_message(data: bytes) -> list[Report]:
    """Reports in one user-stream frame (other events, e.g. ACCOUNT_UPDATE, yield none)."""
    msg = orjson.loads(data)
    if isinstance(msg, dict) and "data" in msg and "stream" in msg:
        msg = msg["data"]
    if not isinstance(msg, dict):
        return []
    kind = msg.get("e")
    if kind == "ORDER_TRADE_UPDATE":
        return parse_order_update(msg)
    if kind == "listenKeyExpired":
        raise ListenKeyExpiredError("binance-usdm: listen key expired")
    return []


class BinanceUserStream(WsUserStream):
    """The user data stream of the account behind ``entry``."""

    venue_name = "binance-usdm"

    def __init__(
        self,
        entry: BinanceOrderEntry,
        *,
        environment: Environment = "testnet",
        ws_url: str | None = None,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        super().__init__(entry.http, ws_url=ws_url or WS_URLS[environment])
        self._entry = entry
        self._environment = environment
        self._keepalive_s = keepalive_s
        self._keepalive: asyncio.Task[None] | None = None
        self.listen_key: str | None = None

    async def _url(self) -> str:
        self.listen_key = await self._entry.listen_key("POST")
        base = self.ws_url.rstrip("/")
        if self._environment == "mainnet":
            return f"{base}/private/ws?listenKey={self.listen_key}"
        return f"{base}/ws/{self.listen_key}"

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive_s)
            await self._entry.listen_key("PUT")

    async def _on_connected(self) -> None:
        self._keepalive = asyncio.create_task(self._keep())

    async def _on_disconnected(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError, AdapterError):
                await self._keepalive
            self._keepalive = None

    def _parse(self, data: bytes) -> list[Report]:
        return parse_user_message(data)
