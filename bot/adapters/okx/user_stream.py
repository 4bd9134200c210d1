"""OKX v5 private stream: ``login``, the ``orders`` channel (SWAP) → order reports and fills.

Each ``orders`` push carries the order's state and, when it traded, the last fill
(``tradeId``, ``fillSz``, ``fillPx``, ``fillFee``): a fill report is emitted before the order
report. Keepalive is the text ``ping`` (OKX drops a connection silent for 30 s).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from bot.adapters.errors import FatalError
from bot.adapters.okx.orders import SIDES, negate, parse_order
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment, FillReport
from bot.core.dtypes import Liquidity

if TYPE_CHECKING:
    from bot.adapters.okx.orders import OkxOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://ws.okx.com:8443/ws/v5/private",
    "testnet": "wss://wspap.okx.com:8443/ws/v5/private",
}
_NS_PER_MS = 1_000_000
_MS_PER_S = 1000


def _fill(row: dict[str, Any]) -> FillReport | None:
    trade_id = row.get("tradeId")
    size = row.get("fillSz") or "0"
    if not trade_id or size.strip("0.") == "":
        return None
    fee = row.get("fillFee")
    if not fee and row.get("accFillSz") == size:
        fee = row.get("fee")  # older pushes: the cumulative fee is this (only) fill's
    return FillReport(
        client_order_id=row.get("clOrdId", ""),
        venue_order_id=row["ordId"],
        trade_id=trade_id,
        symbol=row["instId"],
        side=SIDES[row["side"]],
        qty=size,
        price=row["fillPx"],
        fee=negate(fee or "0"),
        fee_asset=row.get("fillFeeCcy") or row.get("feeCcy", ""),
        liquidity=Liquidity.MAKER if row.get("execType") == "M" else Liquidity.TAKER,
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


class OkxUserStream(WsUserStream):
    """The private stream of the account behind ``entry``."""

    venue_name = "okx"
    ping_interval_s = 20.0

    def __init__(
        self,
        entry: OkxOrderEntry,
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
        if ack.get("event") != "login" or ack.get("code") != "0":
            raise FatalError(
                f"okx: private stream login refused: {ack.get('code')} {ack.get('msg')}"
            )
        sub = {"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]}
        await ws.send_str(orjson.dumps(sub).decode())
        ack = await self.receive_json(ws)
        if ack.get("event") != "subscribe":
            raise FatalError(f"okx: subscription refused: {ack.get('code')} {ack.get('msg')}")

    def _ping_frame(self) -> str | None:
        return "ping"

    def _parse(self, data: bytes) -> list[Report]:
        return parse_user_message(data)
