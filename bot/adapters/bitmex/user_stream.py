"""BitMEX private stream: ``authKeyExpires``, the ``order`` and ``execution`` tables → reports.

Order-table ``update`` rows carry only the changed fields, so rows are merged by ``orderID``
(``partial``/``insert`` set them, ``update`` merges, ``delete`` drops) and every change yields
the merged order's report. ``execution`` rows with ``execType == "Trade"`` yield fills. Numbers
stay exact strings. Keepalive: the text ``ping`` when the stream is quiet.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from bot.adapters.bitmex.orders import decode_exact, parse_execution, parse_order
from bot.adapters.errors import FatalError
from bot.adapters.rest.stream import Report, WsUserStream
from bot.adapters.trading import Environment

if TYPE_CHECKING:
    from bot.adapters.bitmex.orders import BitmexOrderEntry

WS_URLS: dict[str, str] = {
    "mainnet": "wss://ws.bitmex.com/realtime",
    "testnet": "wss://ws.testnet.bitmex.com/realtime",
}
AUTH_VALID_S = 30
_MS_PER_S = 1000
_ORDER_FIELDS = ("orderID", "symbol", "side", "orderQty", "ordStatus")


class BitmexStreamParser:
    """Turns table frames into reports, keeping the merged order rows."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}

    def feed(self, data: bytes | str) -> list[Report]:
        """Reports in one frame (welcome, acks and other tables yield none)."""
        msg = decode_exact(data)
        if not isinstance(msg, dict):
            return []
        table, action, rows = msg.get("table"), msg.get("action"), msg.get("data") or []
        if table == "execution":
            return [parse_execution(r) for r in rows if r.get("execType") == "Trade"]
        if table != "order":
            return []
        out: list[Report] = []
        if action == "partial":
            self.orders.clear()
        for row in rows:
            oid = row.get("orderID")
            if oid is None:
                continue
            if action == "delete":
                self.orders.pop(oid, None)
                continue
            merged = self.orders.setdefault(oid, {})
            merged.update(row)
            if all(merged.get(f) is not None for f in _ORDER_FIELDS):
                out.append(parse_order(merged))
        return out


class BitmexUserStream(WsUserStream):
    """The private stream of the account behind ``entry``."""

    venue_name = "bitmex"
    ping_interval_s = 5.0

    def __init__(
        self,
        entry: BitmexOrderEntry,
        *,
        environment: Environment = "testnet",
        ws_url: str | None = None,
    ) -> None:
        super().__init__(entry.http, ws_url=ws_url or WS_URLS[environment])
        self._entry = entry
        self.parser = BitmexStreamParser()

    async def _handshake(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        welcome = await self.receive_json(ws)
        if "info" not in welcome:
            raise FatalError("bitmex: no welcome message on the realtime stream")
        expires = self._entry.clock.now_ms() // _MS_PER_S + AUTH_VALID_S
        await ws.send_str(orjson.dumps(self._entry.signer.ws_auth(expires)).decode())
        ack = await self.receive_json(ws)
        if not ack.get("success"):
            raise FatalError(f"bitmex: realtime auth refused: {ack.get('error')}")
        topics = ["order", "execution"]
        await ws.send_str(orjson.dumps({"op": "subscribe", "args": topics}).decode())
        for _ in topics:
            ack = await self.receive_json(ws)
            if not ack.get("success"):
                raise FatalError(f"bitmex: subscription refused: {ack.get('error')}")
        self.parser = BitmexStreamParser()

    def _ping_frame(self) -> str | None:
        return "ping"

    def _parse(self, data: bytes) -> list[Report]:
        return self.parser.feed(data)
