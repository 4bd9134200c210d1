"""BingX swap user stream: listen key, gzip frames, ``Ping``/``Pong``, ``ORDER_TRADE_UPDATE``.

``POST /openApi/user/auth/userDataStream`` returns the key (60 min), extended with ``PUT``
every 30 minutes while connected. Every server frame is gzip-compressed; the server's ``Ping``
is answered with ``Pong``. A fill report is emitted for ``x == "TRADE"`` when the push carries
the last fill's size (``l``); pushes without it (the 2023 format) give the order report only,
and the fill is taken from ``recent_fills``. ``listenKeyExpired`` ends the iteration.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

import orjson

from bot.adapters.bingx.orders import SIDES, STATUS, _opt, negate
from bot.adapters.errors import AdapterError, RetryableError
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment, FillReport, OrderReport
from bot.core.dtypes import Liquidity, OrderStatus

if TYPE_CHECKING:
    from bot.adapters.bingx.orders import BingxOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://open-api-swap.bingx.com/swap-market",
    "testnet": "wss://vst-open-api-ws.bingx.com/swap-market",
}
KEEPALIVE_S = 30 * 60.0
_NS_PER_MS = 1_000_000


class ListenKeyExpiredError(RetryableError):
    """BingX expired the listen key: reconnect with a new one."""


def parse_order_update(event: dict[str, Any]) -> list[Report]:
    """One ``ORDER_TRADE_UPDATE`` as [fill (when it says how much), order report]."""
    o = event["o"]
    ts = int(o.get("T") or event.get("E") or 0) * _NS_PER_MS
    status = STATUS.get(o.get("X", ""), OrderStatus.UNKNOWN)
    filled = o.get("z") or "0"
    if status is OrderStatus.FILLED and _opt(filled) is None:
        filled = o["q"]  # the 2023 push reports z=0 on a FILLED order
    out: list[Report] = []
    last = o.get("l")
    if o.get("x") == "TRADE" and last and _opt(last) is not None:
        out.append(
            FillReport(
                client_order_id=o.get("c", ""),
                venue_order_id=str(o["i"]),
                trade_id=str(o.get("t") or f"{o['i']}-{o.get('T')}-{last}"),
                symbol=o["s"],
                side=SIDES[o["S"]],
                qty=last,
                price=o.get("L") or o.get("ap") or o["p"],
                fee=negate(o.get("n") or "0"),
                fee_asset=o.get("N", ""),
                liquidity=Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
                ts_exch_ns=ts,
            )
        )
    out.append(
        OrderReport(
            client_order_id=o.get("c", ""),
            venue_order_id=str(o["i"]),
            symbol=o["s"],
            status=status,
            side=SIDES[o["S"]],
            qty=o["q"],
            filled_qty=filled,
            price=_opt(o.get("p")),
            avg_price=_opt(o.get("ap")),
            ts_exch_ns=ts,
        )
    )
    return out


def parse_user_message(data: bytes) -> list[Report]:
    """Reports in one (already inflated) user-stream frame."""
    msg = orjson.loads(data)
    if not isinstance(msg, dict):
        return []
    kind = msg.get("e")
    if kind == "ORDER_TRADE_UPDATE":
        return parse_order_update(msg)
    if kind == "listenKeyExpired":
        raise ListenKeyExpiredError("bingx: listen key expired")
    return []


class BingxUserStream(WsUserStream):
    """The user data stream of the account behind ``entry``."""

    venue_name = "bingx"

    def __init__(
        self,
        entry: BingxOrderEntry,
        *,
        environment: Environment = "testnet",
        ws_url: str | None = None,
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        super().__init__(entry.http, ws_url=ws_url or WS_URLS[environment])
        self._entry = entry
        self._keepalive_s = keepalive_s
        self._keepalive: asyncio.Task[None] | None = None
        self.listen_key: str | None = None

    async def _url(self) -> str:
        self.listen_key = await self._entry.listen_key("POST")
        return f"{self.ws_url}?listenKey={self.listen_key}"

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._keepalive_s)
            await self._entry.listen_key("PUT", self.listen_key)

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
