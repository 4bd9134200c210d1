"""Bybit v5 private stream: ``auth`` op, ``order`` and ``execution`` topics → reports.

Auth signs ``GET/realtime`` + expiry (ms). Keepalive is the ``{"op":"ping"}`` frame every 20 s.
With ``dcp=True`` the stream also subscribes ``dcp.future``, which Bybit's disconnect
protection requires.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from bot.adapters.bybit.orders import parse_execution, parse_order
from bot.adapters.errors import FatalError
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment

if TYPE_CHECKING:
    from bot.adapters.bybit.orders import BybitOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://stream.bybit.com/v5/private",
    "testnet": "wss://stream-testnet.bybit.com/v5/private",
}
AUTH_VALID_MS = 10_000
PING_FRAME = '{"op":"ping"}'


def parse_user_message(data: bytes) -> list[Report]:
    """Reports in one private-stream frame (acks, pongs and other topics yield none)."""
    msg = orjson.loads(data)
    if not isinstance(msg, dict):
        return []
    topic = msg.get("topic")
    rows: list[Any] = msg.get("data") or []
    if topic == "order":
        return [parse_order(r) for r in rows]
    if topic in ("execution", "execution.fast"):
        return [parse_execution(r) for r in rows if r.get("execType", "Trade") == "Trade"]
    return []


class BybitUserStream(WsUserStream):
    """The private stream of the account behind ``entry``."""

    venue_name = "bybit"
    ping_interval_s = 20.0

    def __init__(
        self,
        entry: BybitOrderEntry,
        *,
        environment: Environment = "testnet",
        ws_url: str | None = None,
        dcp: bool = False,
    ) -> None:
        super().__init__(entry.http, ws_url=ws_url or WS_URLS[environment])
        self._entry = entry
        self._topics = ["order", "execution"] + (["dcp.future"] if dcp else [])

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        auth = self._entry.signer.ws_auth(self._entry.clock.now_ms() + AUTH_VALID_MS)
        await ws.send_str(orjson.dumps(auth).decode())
        ack = await self.receive_json(ws)
        if not (ack.get("success") or ack.get("retCode") == 0):
            raise FatalError(
                f"bybit: private stream login refused: {ack.get('ret_msg') or ack.get('retMsg')}"
            )
        await ws.send_str(orjson.dumps({"op": "subscribe", "args": self._topics}).decode())
        sub = await self.receive_json(ws)
        if not sub.get("success"):
            raise FatalError(f"bybit: subscription refused: {sub.get('ret_msg')}")

    def _ping_frame(self) -> str | None:
        return PING_FRAME

    def _parse(self, data: bytes) -> list[Report]:
        return parse_user_message(data)
