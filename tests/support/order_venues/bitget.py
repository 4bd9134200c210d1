"""Bitget v2 on the loopback order venue: signed ``/api/v2/mix`` REST (ms timestamp, base64
HMAC, passphrase), private WS ``login`` / ``subscribe`` / text ``ping`` and ``orders`` pushes.

Replies use Bitget's envelope ``{code, msg, requestTime, data}`` (success ``"00000"``; the real
``40009`` signature text); timestamps more than 30 s off get ``40008``; the rate limit is HTTP
429 with code ``"429"``. Post-only orders that would cross are accepted, then cancelled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import WSMsgType, web

from tests.support.order_venue import (
    Event,
    OrderVenuePlugin,
    OrderVenueServer,
    SimFill,
    SimOrder,
    fmt,
)

ERRORS: dict[str, tuple[int, str, str]] = {
    "timestamp": (400, "40008", "Request timestamp expired"),
    "auth": (400, "40006", "Invalid ACCESS_KEY"),
    "signature": (400, "40009", "sign signature error"),
    "insufficient_margin": (400, "40762", "The order amount exceeds the balance"),
    "price_filter": (400, "40020", "Parameter price error"),
    "lot_filter": (400, "45110", "less than the minimum order quantity"),
    "reduce_only": (400, "22002", "No position to close"),
    "duplicate": (400, "40786", "Duplicate clientOid"),
    "unknown_order": (400, "40768", "Order does not exist"),
    "rate_limit": (429, "429", "Too Many Requests"),
    "http_429": (429, "429", "Too Many Requests"),
    "server_error": (500, "40015", "System error"),
}
STATE = {
    "NEW": "live",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "EXPIRED": "canceled",
    "REJECTED": "canceled",
}
TS_TOLERANCE_MS = 30_000


def order_json(o: SimOrder, fill: SimFill | None = None) -> dict[str, Any]:
    row: dict[str, Any] = {
        "symbol": o.symbol,
        "instId": o.symbol,
        "size": fmt(o.qty),
        "orderId": o.venue_order_id,
        "clientOid": o.client_order_id,
        "baseVolume": fmt(o.filled),
        "accBaseVolume": fmt(o.filled),
        "priceAvg": fmt(o.avg_price) if o.filled else "",
        "fee": "",
        "price": fmt(o.price) if o.price is not None else "0",
        "state": STATE[o.status],
        "status": STATE[o.status],
        "side": "buy" if o.side > 0 else "sell",
        "force": "post_only" if o.post_only else "ioc" if o.ioc else "gtc",
        "orderType": "market" if o.market else "limit",
        "marginCoin": "USDT",
        "marginMode": "crossed",
        "reduceOnly": "yes" if o.reduce_only else "no",
        "posMode": "one_way_mode",
        "cTime": str(o.created_ms),
        "uTime": str(o.updated_ms),
    }
    if fill is not None:
        row.update(
            {
                "tradeId": fill.trade_id,
                "baseVolume": fmt(fill.qty),
                "fillPrice": fmt(fill.price),
                "fillFee": fmt(-fill.fee),
                "fillFeeCoin": "USDT",
                "fillTime": str(fill.ts_ms),
                "tradeScope": "M" if fill.maker else "T",
            }
        )
    return row


class BitgetPlugin(OrderVenuePlugin):
    """The Bitget v2 side of the loopback order venue."""

    name = "bitget"
    passphrase = "test-passphrase-2"
    post_only_rejects = False

    def _reply(
        self,
        server: OrderVenueServer,
        data: Any,
        code: str = "00000",
        msg: str = "success",
        status: int = 200,
    ) -> web.Response:
        body = {"code": code, "msg": msg, "requestTime": server.now_ms(), "data": data}
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        status, code, msg = ERRORS["timestamp" if kind.startswith("timestamp") else kind]
        return self._reply(server, None, code, msg, status)

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op in ("time", "stream"):
            return None
        h = request.headers
        if h.get("ACCESS-KEY") != self.api_key or h.get("ACCESS-PASSPHRASE") != self.passphrase:
            return "auth"
        ts = h.get("ACCESS-TIMESTAMP", "0")
        prehash = f"{ts}{request.method}{request.path_qs}".encode() + body
        expected = base64.b64encode(
            hmac.new(self.api_secret.encode(), prehash, hashlib.sha256).digest()
        ).decode()
        if not hmac.compare_digest(expected, h.get("ACCESS-SIGN", "")):
            return "signature"
        if abs(int(ts) - server.now_ms()) > TS_TOLERANCE_MS:
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for i, (kind, item) in enumerate(events):
            if kind == "order" and i > 0 and events[i - 1][0] == "fill":
                continue  # the order state went out with its fill
            if kind == "fill":
                nxt = (
                    events[i + 1][1]
                    if i + 1 < len(events) and events[i + 1][0] == "order"
                    else item.order
                )
                row = order_json(nxt, item)
            else:
                row = order_json(item)
            frames.append(
                orjson.dumps(
                    {
                        "action": "snapshot",
                        "arg": {
                            "instType": "USDT-FUTURES",
                            "channel": "orders",
                            "instId": "default",
                        },
                        "data": [row],
                        "ts": server.now_ms(),
                    }
                ).decode()
            )
        return frames

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/api/v2/public/time", "time", self._time),
            ("POST", "/api/v2/mix/order/place-order", "new", self._new),
            ("POST", "/api/v2/mix/order/cancel-order", "cancel", self._cancel),
            ("POST", "/api/v2/mix/order/batch-cancel-orders", "cancel_all", self._batch_cancel),
            ("GET", "/api/v2/mix/order/detail", "query", self._detail),
            ("GET", "/api/v2/mix/order/orders-pending", "open_orders", self._pending),
            ("GET", "/api/v2/mix/order/fills", "fills", self._fills),
            ("GET", "/api/v2/mix/position/single-position", "position", self._position),
            ("GET", "/api/v2/mix/account/accounts", "balance", self._accounts),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [("/v2/ws/private", self._stream)]

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply(server, {"serverTime": str(server.now_ms())})

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        market = p["orderType"] == "market"
        o = SimOrder(
            client_order_id=p["clientOid"],
            venue_order_id="",
            symbol=p["symbol"],
            side=1 if p["side"] == "buy" else -1,
            qty=Decimal(p["size"]),
            price=None if market else Decimal(p["price"]),
            post_only=p.get("force") == "post_only",
            ioc=p.get("force") == "ioc",
            reduce_only=p.get("reduceOnly") == "YES",
            market=market,
        )
        server.publish(server.matcher.new(o))
        return self._reply(server, {"clientOid": o.client_order_id, "orderId": o.venue_order_id})

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        o = server.matcher.find(p.get("clientOid"), p.get("orderId"))
        server.publish(server.matcher.cancel(o.client_order_id))
        return self._reply(server, {"orderId": o.venue_order_id, "clientOid": o.client_order_id})

    async def _batch_cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        ok, failed = [], []
        for ref in p.get("orderIdList") or []:
            o = server.matcher.find(ref.get("clientOid"), ref.get("orderId"))
            if o.is_open:
                server.publish(server.matcher.cancel(o.client_order_id))
                ok.append({"orderId": o.venue_order_id, "clientOid": o.client_order_id})
            else:
                failed.append(
                    {
                        "orderId": o.venue_order_id,
                        "clientOid": o.client_order_id,
                        "errorMsg": "notExistend",
                    }
                )
        return self._reply(server, {"successList": ok, "failureList": failed})

    async def _detail(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        return self._reply(
            server, order_json(server.matcher.find(p.get("clientOid"), p.get("orderId")))
        )

    async def _pending(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        rows = [order_json(o) for o in server.matcher.open_orders(p.get("symbol"))]
        return self._reply(server, {"entrustedList": rows or None, "endId": ""})

    async def _fills(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        since = int(p.get("startTime", "0"))
        rows = [
            {
                "tradeId": f.trade_id,
                "symbol": f.order.symbol.lower(),
                "orderId": f.order.venue_order_id,
                "price": fmt(f.price),
                "baseVolume": fmt(f.qty),
                "side": "buy" if f.order.side > 0 else "sell",
                "feeDetail": [
                    {
                        "feeCoin": "USDT",
                        "deduction": "no",
                        "totalDeductionFee": "0",
                        "totalFee": fmt(-f.fee),
                    }
                ],
                "tradeScope": "maker" if f.maker else "taker",
                "cTime": str(f.ts_ms),
            }
            for f in server.fills
            if f.order.symbol == p["symbol"] and f.ts_ms >= since
        ]
        return self._reply(server, {"fillList": rows, "endId": ""})

    async def _position(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        qty = server.positions.get(p["symbol"], Decimal(0))
        if not qty:
            return self._reply(server, [])
        entry = server.matcher.entry.get(p["symbol"], Decimal(0))
        return self._reply(
            server,
            [
                {
                    "symbol": p["symbol"],
                    "marginCoin": "USDT",
                    "holdSide": "long" if qty > 0 else "short",
                    "total": fmt(abs(qty)),
                    "openPriceAvg": fmt(entry),
                    "posMode": "one_way_mode",
                }
            ],
        )

    async def _accounts(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = fmt(server.matcher.margin)
        return self._reply(
            server, [{"marginCoin": "USDT", "accountEquity": m, "available": m, "locked": "0"}]
        )

    async def _stream(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        authed = False
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            frame = orjson.loads(msg.data)
            if frame.get("op") == "login":
                a = frame["args"][0]
                good = base64.b64encode(
                    hmac.new(
                        self.api_secret.encode(),
                        f"{a['timestamp']}GET/user/verify".encode(),
                        hashlib.sha256,
                    ).digest()
                ).decode()
                authed = (
                    a["apiKey"] == self.api_key
                    and a["passphrase"] == self.passphrase
                    and hmac.compare_digest(good, a["sign"])
                )
                reply = (
                    {"event": "login", "code": 0, "msg": ""}
                    if authed
                    else {"event": "error", "code": 30005, "msg": "Invalid sign"}
                )
                await ws.send_str(orjson.dumps(reply).decode())
            elif frame.get("op") == "subscribe" and authed:
                await ws.send_str(
                    orjson.dumps({"event": "subscribe", "arg": frame["args"][0]}).decode()
                )
                await server.add_stream(ws)
                break
        return ws
