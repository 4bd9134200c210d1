"""BingX swap on the loopback order venue: ``/openApi/swap/v2`` REST signed in the query,
listen key, gzip-compressed user-stream frames with the server's ``Ping`` (answered ``Pong``).

Verifies ``X-BX-APIKEY``, the query HMAC (signature last) and the 5 s timestamp window (the real
``100421`` text). Replies are HTTP 200 ``{code, msg, data}`` (``101204`` with its real empty
message); the rate limit is HTTP 429. Post-only orders that would cross are accepted, then
cancelled. ``pongs`` counts the client's answers to ``Ping``.
"""

from __future__ import annotations

import gzip
import hashlib
import hmac
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import WSMsgType, web

from tests.support.order_venue import (
    Event,
    MatchError,
    OrderVenuePlugin,
    OrderVenueServer,
    SimFill,
    SimOrder,
    fmt,
)

ERRORS: dict[str, tuple[int, int, str]] = {
    "timestamp": (
        200,
        100421,
        "Null timestamp or timestamp mismatch, try to run our sample code from the link https://bingx-api.github.io/docs/#/en-us/spot/account-api.html#Query%20Assets",
    ),
    "auth": (200, 100413, "Incorrect apiKey"),
    "signature": (200, 100001, "Signature verification failed"),
    "insufficient_margin": (200, 101204, ""),
    "price_filter": (200, 80014, "Invalid parameters, price precision error"),
    "lot_filter": (200, 80014, "Invalid parameters, quantity precision error"),
    "reduce_only": (200, 101290, "reduce-only order rejected: no position"),
    "duplicate": (200, 80018, "duplicate clientOrderID"),
    "unknown_order": (200, 80016, "order not exist"),
    "rate_limit": (429, 100410, "rate limited"),
    "http_429": (429, 100410, "rate limited"),
    "server_error": (502, 100500, "internal error"),
}
STATUS = {
    "NEW": "PENDING",
    "PARTIALLY_FILLED": "PARTIALLY_FILLED",
    "FILLED": "FILLED",
    "CANCELED": "CANCELLED",
    "EXPIRED": "CANCELLED",
    "REJECTED": "FAILED",
}
RECV_WINDOW_MS = 5000


def order_json(o: SimOrder) -> dict[str, Any]:
    return {
        "symbol": o.symbol,
        "orderId": int(o.venue_order_id) * 10**15 + 123,
        "side": "BUY" if o.side > 0 else "SELL",
        "positionSide": "BOTH",
        "type": "MARKET" if o.market else "LIMIT",
        "origQty": fmt(o.qty),
        "price": fmt(o.price) if o.price is not None else "0",
        "executedQty": fmt(o.filled),
        "avgPrice": fmt(o.avg_price) if o.filled else "0.0",
        "cumQuote": fmt(o.notional),
        "status": STATUS[o.status],
        "time": o.created_ms,
        "updateTime": o.updated_ms,
        "clientOrderId": o.client_order_id,
        "postOnly": o.post_only,
    }


def venue_id(o: SimOrder) -> int:
    return int(o.venue_order_id) * 10**15 + 123  # above 2**53, as BingX's ids are


class BingxPlugin(OrderVenuePlugin):
    """The BingX swap side of the loopback order venue."""

    name = "bingx"
    post_only_rejects = False

    def __init__(self) -> None:
        self.listen_keys: set[str] = set()
        self.pongs = 0

    def _reply(self, data: Any, code: int = 0, msg: str = "", status: int = 200) -> web.Response:
        return web.Response(
            body=orjson.dumps({"code": code, "msg": msg, "data": data}),
            status=status,
            content_type="application/json",
        )

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        status, code, msg = ERRORS["timestamp" if kind.startswith("timestamp") else kind]
        body = (
            {"code": code, "msg": msg, "timestamp": server.now_ms()}
            if kind.startswith("timestamp")
            else {"code": code, "msg": msg, "data": {}}
        )
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op in ("time", "stream"):
            return None
        if request.headers.get("X-BX-APIKEY") != self.api_key:
            return "auth"
        if op == "listen_key":
            return None
        payload, sep, signature = request.query_string.rpartition("&signature=")
        expected = hmac.new(
            self.api_secret.encode(), (payload + body.decode()).encode(), hashlib.sha256
        ).hexdigest()
        if not sep or not hmac.compare_digest(expected, signature):
            return "signature"
        params = dict(parse_qsl(payload))
        ts = int(params.get("timestamp", "0"))
        window = int(params.get("recvWindow", RECV_WINDOW_MS))
        if abs(server.now_ms() - ts) > window:
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for kind, item in events:
            o: SimOrder = item.order if kind == "fill" else item
            fill: SimFill | None = item if kind == "fill" else None
            ts = fill.ts_ms if fill else o.updated_ms
            push = {
                "e": "ORDER_TRADE_UPDATE",
                "E": ts + 3,
                "o": {
                    "s": o.symbol,
                    "c": o.client_order_id,
                    "i": venue_id(o),
                    "S": "BUY" if o.side > 0 else "SELL",
                    "o": "MARKET" if o.market else "LIMIT",
                    "q": fmt(o.qty),
                    "p": fmt(o.price) if o.price is not None else "0",
                    "ap": fmt(o.avg_price) if o.filled else "0",
                    "x": "TRADE" if fill else ("CANCELED" if o.status == "CANCELED" else "NEW"),
                    "X": {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "CANCELED"}.get(
                        o.status, o.status
                    ),
                    "N": "USDT",
                    "n": fmt(-fill.fee) if fill else "0",
                    "T": ts,
                    "wt": "MARK_PRICE",
                    "ps": "BOTH",
                    "rp": "0",
                    "z": fmt(o.filled),
                    **(
                        {
                            "l": fmt(fill.qty),
                            "L": fmt(fill.price),
                            "t": fill.trade_id,
                            "m": fill.maker,
                        }
                        if fill
                        else {}
                    ),
                },
            }
            frames.append(gzip.compress(orjson.dumps(push)))
        return frames

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/openApi/swap/v2/server/time", "time", self._time),
            ("POST", "/openApi/swap/v2/trade/order", "new", self._new),
            ("DELETE", "/openApi/swap/v2/trade/order", "cancel", self._cancel),
            ("GET", "/openApi/swap/v2/trade/order", "query", self._query),
            ("DELETE", "/openApi/swap/v2/trade/allOpenOrders", "cancel_all", self._cancel_all),
            ("GET", "/openApi/swap/v2/trade/openOrders", "open_orders", self._open),
            ("GET", "/openApi/swap/v2/trade/allFillOrders", "fills", self._fills),
            ("GET", "/openApi/swap/v2/user/positions", "position", self._positions),
            ("GET", "/openApi/swap/v2/user/balance", "balance", self._balance),
            ("POST", "/openApi/swap/v2/trade/cancelAllAfter", "dms", self._cancel_after),
            ("POST", "/openApi/user/auth/userDataStream", "listen_key", self._listen_key),
            ("PUT", "/openApi/user/auth/userDataStream", "listen_key", self._listen_key),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [("/swap-market", self._stream)]

    @staticmethod
    def _params(request: web.Request) -> dict[str, str]:
        return dict(parse_qsl(request.query_string))

    def _find(self, server: OrderVenueServer, p: dict[str, str]) -> SimOrder:
        cid = p.get("clientOrderId") or p.get("clientOrderID")
        oid = p.get("orderId")
        return server.matcher.find(cid, str(int(oid) // 10**15) if oid else None)

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply({"serverTime": server.now_ms()})

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request)
        market = p["type"] == "MARKET"
        o = SimOrder(
            client_order_id=p["clientOrderID"],
            venue_order_id="",
            symbol=p["symbol"],
            side=1 if p["side"] == "BUY" else -1,
            qty=Decimal(p["quantity"]),
            price=None if market else Decimal(p["price"]),
            post_only=p.get("timeInForce") == "PostOnly",
            ioc=p.get("timeInForce") == "IOC",
            reduce_only=p.get("reduceOnly") == "true",
            market=market,
        )
        server.publish(server.matcher.new(o))
        return self._reply(
            {
                "order": {
                    "symbol": o.symbol,
                    "orderId": venue_id(o),
                    "side": p["side"],
                    "positionSide": "BOTH",
                    "type": p["type"],
                    "clientOrderID": o.client_order_id,
                    "workingType": "MARK_PRICE",
                }
            }
        )

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        o = self._find(server, self._params(request))
        server.publish(server.matcher.cancel(o.client_order_id))
        return self._reply({"order": order_json(o)})

    async def _query(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply({"order": order_json(self._find(server, self._params(request)))})

    async def _cancel_all(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        events = server.matcher.cancel_all(self._params(request)["symbol"])
        server.publish(events)
        return self._reply({"success": [order_json(o) for _k, o in events], "failed": None})

    async def _open(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply(
            {
                "orders": [
                    order_json(o)
                    for o in server.matcher.open_orders(self._params(request).get("symbol"))
                ]
            }
        )

    async def _fills(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        import datetime as dt

        p = self._params(request)
        since = int(p.get("startTs", "0"))
        rows = [
            {
                "volume": fmt(f.qty),
                "price": fmt(f.price),
                "amount": fmt(f.qty * f.price),
                "commission": fmt(-f.fee),
                "currency": "USDT",
                "orderId": str(venue_id(f.order)),
                "liquidity": "MAKER" if f.maker else "TAKER",
                "filledTm": dt.datetime.fromtimestamp(f.ts_ms / 1000, dt.UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S+0000"
                ),
                "tradeId": f.trade_id,
                "side": "BUY" if f.order.side > 0 else "SELL",
                "symbol": f.order.symbol,
            }
            for f in server.fills
            if f.order.symbol == p["symbol"] and f.ts_ms >= since - 1000
        ]
        return self._reply({"fill_orders": rows})

    async def _positions(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        symbol = self._params(request)["symbol"]
        qty = server.positions.get(symbol, Decimal(0))
        if not qty:
            return self._reply([])
        entry = server.matcher.entry.get(symbol, Decimal(0))
        return self._reply(
            [
                {
                    "symbol": symbol,
                    "positionId": "1",
                    "positionSide": "LONG" if qty > 0 else "SHORT",
                    "isolated": False,
                    "positionAmt": fmt(abs(qty)),
                    "availableAmt": fmt(abs(qty)),
                    "avgPrice": fmt(entry),
                    "leverage": 10,
                }
            ]
        )

    async def _balance(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = fmt(server.matcher.margin)
        return self._reply(
            {"balance": {"asset": "USDT", "balance": m, "equity": m, "availableMargin": m}}
        )

    async def _cancel_after(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request)
        seconds = int(p["timeOut"]) if p["type"] == "ACTIVATE" else 0
        trigger = server.arm_dms("*", seconds * 1000)
        return web.Response(
            body=orjson.dumps(
                {
                    "code": 0,
                    "msg": "",
                    "debugMsg": "",
                    "data": {
                        "triggerTime": trigger // 1000,
                        "status": "ACTIVATED" if seconds else "CLOSED",
                        "note": "",
                    },
                }
            ),
            content_type="application/json",
        )

    async def _listen_key(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        if request.method == "PUT":
            return web.Response(body=b"{}", content_type="application/json")
        key = f"{len(self.listen_keys):064x}"
        self.listen_keys.add(key)
        return web.Response(body=orjson.dumps({"listenKey": key}), content_type="application/json")

    async def _stream(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        if request.query.get("listenKey") not in self.listen_keys:
            raise MatchError("auth")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_bytes(gzip.compress(b"Ping"))
        msg = await ws.receive()
        if msg.type is WSMsgType.TEXT and msg.data == "Pong":
            self.pongs += 1
            await server.add_stream(ws)
        return ws
