"""Bitget v2 private stream: ``login``, the ``orders`` channel → order reports and fills.

Each ``orders`` push carries the order's state and, when it traded, that execution
(``tradeId``, ``baseVolume``, ``fillPrice``, ``fillFee``, ``tradeScope``): a fill report is
emitted before the order report (the ``fill`` channel lacks the client id, so it is not used).
Keepalive is the text ``ping`` every 30 s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from bot.adapters.bitget.orders import SIDES, negate, parse_order
from bot.adapters.errors import FatalError
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment, FillReport
from bot.core.dtypes import Liquidity

if TYPE_CHECKING:
    from bot.adapters.bitget.orders import BitgetOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://ws.bitget.com/v2/ws/private",
    "testnet": "wss://wspap.bitget.com/v2/ws/private",
}
_NS_PER_MS = 1_000_000
_MS_PER_S = 1000


def _fill(row: dict[str, Any]) -> FillReport | None:
    trade_id = row.get("tradeId")
    size = row.get("baseVolume") or "0"
    if not trade_id or size.strip("0.") == "":
        return None
    return FillReport(
        client_order_id=row.get("clientOid", ""),
        venue_order_id=str(row["orderId"]),
        trade_id=str(trade_id),
        symbol=row.get("instId", "").upper(),
        side=SIDES[row["side"]],
        qty=size,
        price=row.get("fillPrice") or row["priceAvg"],
        fee=negate(row.get("fillFee") or "0"),
        fee_asset=row.get("fillFeeCoin", ""),
        liquidity=Liquidity.MAKER if row.get("tradeScope") in ("M", "maker") else Liquidity.TAKER,
        ts_exch_ns=int(row.get("fillTime") or 0) * _NS_PER_MS,
    )


def parse_user_message(data: bytes) -> list[Report]:
    """Reports in one private-stream frame (events, acks and other channels yield none)."""
    msg = orjson.loads(data)
    if not isinstance(msg, dict) or msg.get("arg", {}).get("channel") != "orders":
        return []
    out: list[Report] = []
    for row in msg.get("data") or []:
        fill = _fill(row)
        if fill is not None:
            out.append(fill)
        out.append(parse_order(row))
    return out


class BitgetUserStream(WsUserStream):
    """The private stream of the account behind ``entry``."""

    venue_name = "bitget"
    ping_interval_s = 30.0

    def __init__(
        self,
        entry: BitgetOrderEntry,
        *,
        environment: Environment = "testnet",
        ws_url: str | None = None,
    ) -> None:
        super().__init__(entry.http, ws_url=ws_url or WS_URLS[environment])
        self._entry = entry

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        login = self._entry.signer.ws_login(self._entry.clock.now_ms() // _MS_PER_S)
        await ws.send_str(orjson.dumps(login).decode())
        ack = await self.receive_json(ws)
        if ack.get("event") != "login" or str(ack.get("code")) != "0":
            raise FatalError(
                f"bitget: private stream login refused: {ack.get('code')} {ack.get('msg')}"
            )
        arg = {"instType": self._entry.product_type, "channel": "orders", "instId": "default"}
        await ws.send_str(orjson.dumps({"op": "subscribe", "args": [arg]}).decode())
        ack = await self.receive_json(ws)
        if ack.get("event") != "subscribe":
            raise FatalError(f"bitget: subscription refused: {ack.get('code')} {ack.get('msg')}")

    def _ping_frame(self) -> str | None:
        return "ping"

    def _parse(self, data: bytes) -> list[Report]:
        return parse_user_message(data)
