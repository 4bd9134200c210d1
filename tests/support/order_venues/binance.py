"""Binance USD-M on the loopback order venue: ``/fapi`` REST, listen key, user-stream pushes.

Verifies ``X-MBX-APIKEY``, the query-string HMAC and the recvWindow rule
(``timestamp < server + 1000 and server - timestamp <= recvWindow``). Replies carry
``X-MBX-USED-WEIGHT-1M`` and, on orders, ``X-MBX-ORDER-COUNT-10S``/``-1M``. Error bodies are the
real ones from PROTOCOLS.md section 1 where the samples have them.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import deque
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
    "timestamp": (400, -1021, "Timestamp for this request is outside of the recvWindow."),
    "timestamp_ahead": (
        400,
        -1021,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    ),
    "auth": (401, -2015, "Invalid API-key, IP, or permissions for action."),
    "signature": (400, -1022, "Signature for this request is not valid."),
    "insufficient_margin": (400, -2019, "Margin is insufficient."),
    "price_filter": (400, -4014, "Price not increased by tick size."),
    "lot_filter": (400, -4023, "Quantity not increased by step size."),
    "post_only": (
        400,
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    ),
    "reduce_only": (400, -2022, "ReduceOnly Order is rejected."),
    "duplicate": (400, -4116, "ClientOrderId is duplicated."),
    "unknown_order": (400, -2011, "Unknown order sent."),
    "unknown_order_query": (400, -2013, "Order does not exist."),
    "rate_limit": (
        429,
        -1003,
        (
            "Too many requests; current limit is 1200 requests per minute. Please use the "
            "websocket for live updates to avoid polling the API."
        ),
    ),
    "server_error": (503, -1000, "Unknown error, please check your request or try again later."),
}
RETRY_AFTER_S = "2"
WS_OPS = {
    "order.place": "new",
    "order.cancel": "cancel",
    "order.modify": "amend",
    "order.status": "query",
}
RECV_TOLERANCE_AHEAD_MS = 1000


def _order_json(o: SimOrder) -> dict[str, Any]:
    return {
        "orderId": int(o.venue_order_id),
        "symbol": o.symbol,
        "status": o.status,
        "clientOrderId": o.client_order_id,
        "price": fmt(o.price) if o.price is not None else "0",
        "avgPrice": fmt(o.avg_price) if o.filled else "0",
        "origQty": fmt(o.qty),
        "executedQty": fmt(o.filled),
        "cumQty": fmt(o.filled),
        "cumQuote": fmt(o.notional),
        "timeInForce": "GTX" if o.post_only else "IOC" if o.ioc else "GTC",
        "type": "MARKET" if o.market else "LIMIT",
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": "BUY" if o.side > 0 else "SELL",
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": "MARKET" if o.market else "LIMIT",
        "updateTime": o.updated_ms,
    }


class BinancePlugin(OrderVenuePlugin):
    """The Binance USD-M side of the loopback order venue."""

    name = "binance-usdm"
    post_only_rejects = True

    def __init__(self) -> None:
        self.listen_keys: set[str] = set()
        self._orders_10s: deque[float] = deque()
        self._weight_1m: deque[float] = deque()

    # -- framing -------------------------------------------------------------------------

    def _json(
        self, server: OrderVenueServer, payload: Any, status: int = 200, *, order: bool = False
    ) -> web.Response:
        now = time.monotonic()
        self._weight_1m.append(now)
        while now - self._weight_1m[0] > 60:
            self._weight_1m.popleft()
        headers = {"X-MBX-USED-WEIGHT-1M": str(len(self._weight_1m))}
        if order:
            self._orders_10s.append(now)
            while now - self._orders_10s[0] > 10:
                self._orders_10s.popleft()
            headers["X-MBX-ORDER-COUNT-10S"] = str(len(self._orders_10s))
            headers["X-MBX-ORDER-COUNT-1M"] = str(len(self._orders_10s))
        return web.Response(
            body=orjson.dumps(payload),
            status=status,
            headers=headers,
            content_type="application/json",
        )

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        if kind == "http_429":
            kind = "rate_limit"
        if kind == "unknown_order" and op == "query":
            kind = "unknown_order_query"
        status, code, msg = ERRORS[kind]
        response = self._json(server, {"code": code, "msg": msg}, status)
        if kind == "rate_limit":
            response.headers["Retry-After"] = RETRY_AFTER_S
        return response

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op == "time":
            return None
        if request.headers.get("X-MBX-APIKEY") != self.api_key:
            return "auth"
        if op in ("listen_key", "stream"):
            return None
        query = request.query_string
        payload, sep, signature = query.rpartition("&signature=")
        if not sep:
            return "signature"
        total = payload + body.decode()
        expected = hmac.new(self.api_secret.encode(), total.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.lower()):
            return "signature"
        params = dict(parse_qsl(total))
        ts = int(params.get("timestamp", "0"))
        recv = int(params.get("recvWindow", "5000"))
        now = server.now_ms()
        if ts >= now + RECV_TOLERANCE_AHEAD_MS:
            return "timestamp_ahead"
        if now - ts > recv:
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for kind, item in events:
            o: SimOrder = item.order if kind == "fill" else item
            fill: SimFill | None = item if kind == "fill" else None
            ts = fill.ts_ms if fill else o.updated_ms
            exec_type = (
                "TRADE"
                if fill
                else {"NEW": "NEW", "CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}.get(
                    o.status, "NEW"
                )
            )
            frames.append(
                orjson.dumps(
                    {
                        "e": "ORDER_TRADE_UPDATE",
                        "T": ts,
                        "E": ts + 2,
                        "o": {
                            "s": o.symbol,
                            "c": o.client_order_id,
                            "S": "BUY" if o.side > 0 else "SELL",
                            "o": "MARKET" if o.market else "LIMIT",
                            "f": "GTX" if o.post_only else "IOC" if o.ioc else "GTC",
                            "q": fmt(o.qty),
                            "p": fmt(o.price) if o.price is not None else "0",
                            "ap": fmt(o.avg_price) if o.filled else "0",
                            "sp": "0",
                            "x": exec_type,
                            "X": o.status,
                            "i": int(o.venue_order_id),
                            "l": fmt(fill.qty) if fill else "0",
                            "z": fmt(o.filled),
                            "L": fmt(fill.price) if fill else "0",
                            "n": fmt(fill.fee) if fill else "0",
                            "N": "USDT",
                            "T": ts,
                            "t": int(fill.trade_id) if fill else 0,
                            "b": "0",
                            "a": "0",
                            "m": fill.maker if fill else False,
                            "R": o.reduce_only,
                            "wt": "CONTRACT_PRICE",
                            "ot": "LIMIT",
                            "ps": "BOTH",
                            "cp": False,
                            "rp": "0",
                            "pP": False,
                            "si": 0,
                            "ss": 0,
                            "V": "EXPIRE_MAKER",
                            "pm": "NONE",
                            "gtd": 0,
                        },
                    }
                ).decode()
            )
        return frames

    # -- routes --------------------------------------------------------------------------

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/fapi/v1/time", "time", self._time),
            ("POST", "/fapi/v1/order", "new", self._new),
            ("DELETE", "/fapi/v1/order", "cancel", self._cancel),
            ("PUT", "/fapi/v1/order", "amend", self._amend),
            ("GET", "/fapi/v1/order", "query", self._query),
            ("DELETE", "/fapi/v1/allOpenOrders", "cancel_all", self._cancel_all),
            ("GET", "/fapi/v1/openOrders", "open_orders", self._open),
            ("GET", "/fapi/v1/userTrades", "fills", self._trades),
            ("GET", "/fapi/v2/positionRisk", "position", self._position),
            ("GET", "/fapi/v2/balance", "balance", self._balance),
            ("POST", "/fapi/v1/countdownCancelAll", "dms", self._dms),
            ("POST", "/fapi/v1/listenKey", "listen_key", self._listen_key),
            ("PUT", "/fapi/v1/listenKey", "listen_key", self._listen_key),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [
            ("/ws/{key}", self._stream),
            ("/private/ws", self._stream),
            ("/ws-fapi/v1", self._ws_api),
        ]

    # -- WebSocket API (order entry) -----------------------------------------------------

    def _ws_reply(self, rid: Any, status: int, **fields: Any) -> str:
        limits = [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
                "count": len(self._weight_1m),
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": 300,
                "count": len(self._orders_10s),
            },
        ]
        return orjson.dumps({"id": rid, "status": status, **fields, "rateLimits": limits}).decode()

    def _ws_error(self, server: OrderVenueServer, rid: Any, kind: str, op: str) -> str:
        if kind == "http_429":
            kind = "rate_limit"
        if kind == "unknown_order" and op == "query":
            kind = "unknown_order_query"
        status, code, msg = ERRORS[kind]
        error: dict[str, Any] = {"code": code, "msg": msg}
        if kind == "rate_limit":
            error["data"] = {"serverTime": server.now_ms(), "retryAfter": server.now_ms() + 2000}
        return self._ws_reply(rid, status, error=error)

    def _ws_verify(self, server: OrderVenueServer, p: dict[str, str]) -> str | None:
        if p.get("apiKey") != self.api_key:
            return "auth"
        signature = p.pop("signature", "")
        payload = "&".join(f"{k}={p[k]}" for k in sorted(p))
        expected = hmac.new(self.api_secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            return "signature"
        ts, recv, now = (
            int(p.get("timestamp", "0")),
            int(p.get("recvWindow", "5000")),
            server.now_ms(),
        )
        if ts >= now + RECV_TOLERANCE_AHEAD_MS:
            return "timestamp_ahead"
        if now - ts > recv:
            return "timestamp"
        return None

    def _ws_dispatch(self, server: OrderVenueServer, method: str, p: dict[str, str]) -> Any:
        self._json(server, None, order=method != "order.status")  # count the usage windows
        if method == "order.place":
            o = self._order_from(p)
            server.publish(server.matcher.new(o))
            return _order_json(o)
        o = server.matcher.find(p.get("origClientOrderId"), p.get("orderId"))
        if method == "order.cancel":
            server.publish(server.matcher.cancel(o.client_order_id))
        elif method == "order.modify":
            server.publish(server.matcher.amend(o, Decimal(p["quantity"]), Decimal(p["price"])))
        return _order_json(o)

    async def _ws_api(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = orjson.loads(msg.data)
            rid, method = frame.get("id"), str(frame.get("method", ""))
            p = {
                k: v if isinstance(v, str) else orjson.dumps(v).decode()
                for k, v in (frame.get("params") or {}).items()
            }
            op = WS_OPS.get(method, "query")
            kind = server.begin_call(op, "WS", f"/ws-fapi/v1 {method}", "", msg.data.encode())
            if kind == "timeout":
                continue
            if kind == "disconnect":
                await ws.close()
                break
            if kind == "http_500":
                await ws.send_str(self._ws_error(server, rid, "server_error", op))
                continue
            if kind == "http_429" or server.limited(op):
                await ws.send_str(self._ws_error(server, rid, "rate_limit", op))
                continue
            bad = self._ws_verify(server, p)
            if bad is not None:
                await ws.send_str(self._ws_error(server, rid, bad, op))
                continue
            try:
                result = self._ws_dispatch(server, method, p)
            except MatchError as e:
                await ws.send_str(self._ws_error(server, rid, e.kind, op))
                continue
            if kind != "drop_ack":
                await ws.send_str(self._ws_reply(rid, 200, result=result))
        return ws

    @staticmethod
    def _params(request: web.Request, body: bytes) -> dict[str, str]:
        return dict(parse_qsl(request.query_string + body.decode()))

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._json(server, {"serverTime": server.now_ms()})

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        o = self._order_from(self._params(request, body))
        events = server.matcher.new(o)
        server.publish(events)
        return self._json(server, _order_json(o), order=True)

    @staticmethod
    def _order_from(p: dict[str, str]) -> SimOrder:
        market = p["type"] == "MARKET"
        return SimOrder(
            client_order_id=p["newClientOrderId"],
            venue_order_id="",
            symbol=p["symbol"],
            side=1 if p["side"] == "BUY" else -1,
            qty=Decimal(p["quantity"]),
            price=None if market else Decimal(p["price"]),
            post_only=p.get("timeInForce") == "GTX",
            ioc=p.get("timeInForce") == "IOC",
            reduce_only=p.get("reduceOnly") == "true",
            market=market,
        )

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        events = server.matcher.cancel(p.get("origClientOrderId"), p.get("orderId"))
        server.publish(events)
        return self._json(
            server,
            _order_json(server.matcher.find(p.get("origClientOrderId"), p.get("orderId"))),
            order=True,
        )

    async def _amend(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        o = server.matcher.find(p.get("origClientOrderId"), p.get("orderId"))
        server.publish(server.matcher.amend(o, Decimal(p["quantity"]), Decimal(p["price"])))
        return self._json(server, _order_json(o), order=True)

    async def _query(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        return self._json(
            server, _order_json(server.matcher.find(p.get("origClientOrderId"), p.get("orderId")))
        )

    async def _cancel_all(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        server.publish(server.matcher.cancel_all(p["symbol"]))
        return self._json(
            server, {"code": 200, "msg": "The operation of cancel all open order is done."}
        )

    async def _open(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        return self._json(
            server, [_order_json(o) for o in server.matcher.open_orders(p.get("symbol"))]
        )

    async def _trades(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        since = int(p.get("startTime", "0"))
        rows = [
            {
                "buyer": f.order.side > 0,
                "commission": fmt(f.fee),
                "commissionAsset": "USDT",
                "id": int(f.trade_id),
                "maker": f.maker,
                "orderId": int(f.order.venue_order_id),
                "price": fmt(f.price),
                "qty": fmt(f.qty),
                "quoteQty": fmt(f.qty * f.price),
                "realizedPnl": "0",
                "side": "BUY" if f.order.side > 0 else "SELL",
                "positionSide": "BOTH",
                "symbol": f.order.symbol,
                "time": f.ts_ms,
            }
            for f in server.fills
            if f.order.symbol == p["symbol"] and f.ts_ms >= since
        ]
        return self._json(server, rows)

    async def _position(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        symbol = p["symbol"]
        qty = server.positions.get(symbol, Decimal(0))
        entry = server.matcher.entry.get(symbol, Decimal(0)) if qty else Decimal(0)
        return self._json(
            server,
            [
                {
                    "symbol": symbol,
                    "positionAmt": fmt(qty),
                    "entryPrice": fmt(entry),
                    "markPrice": "0",
                    "unRealizedProfit": "0",
                    "positionSide": "BOTH",
                }
            ],
        )

    async def _balance(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = fmt(server.matcher.margin)
        return self._json(
            server, [{"accountAlias": "x", "asset": "USDT", "balance": m, "availableBalance": m}]
        )

    async def _dms(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = self._params(request, body)
        server.arm_dms(p["symbol"], int(p["countdownTime"]))
        return self._json(server, {"symbol": p["symbol"], "countdownTime": p["countdownTime"]})

    async def _listen_key(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        if request.method == "PUT" and not self.listen_keys:
            return self._json(server, {"code": -1125, "msg": "This listenKey does not exist."}, 400)
        key = "lk" + "0" * 50 + str(len(self.listen_keys))
        if request.method == "POST":
            self.listen_keys.add(key)
        return self._json(server, {"listenKey": key} if request.method == "POST" else {})

    async def _stream(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("key") or request.query.get("listenKey", "")
        if key not in self.listen_keys:
            raise MatchError("auth")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await server.add_stream(ws)
        return ws
