"""Bybit v5 on the loopback order venue: signed ``/v5`` REST (JSON bodies), private WS with
``auth`` / ``subscribe`` / ``ping`` and ``order`` / ``execution`` pushes.

Verifies ``X-BAPI-*`` headers and the receive-window rule
(``server - recv_window <= timestamp < server + 1000``). Replies are HTTP 200 with ``retCode``
(the real 10002 and 10006 texts), plus ``X-Bapi-Limit*`` headers on order routes. New, cancel
and amend answer with acknowledgements; post-only orders that would cross are accepted and
then cancelled, as Bybit does.
"""

from __future__ import annotations

import hashlib
import hmac
import time
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

ERRORS: dict[str, tuple[int, str]] = {
    "auth": (10003, "API key is invalid."),
    "signature": (10004, "Error sign, please check your signature generation algorithm."),
    "insufficient_margin": (110007, "ab not enough for new order"),
    "price_filter": (10001, "The number of contracts exceeds maximum limit allowed: price invalid"),
    "lot_filter": (10001, "Qty invalid"),
    "reduce_only": (110017, "Reduce-only rule not satisfied"),
    "duplicate": (110072, "OrderLinkedID is duplicate"),
    "unknown_order": (110001, "order not exists or too late to cancel"),
    "rate_limit": (10006, "Too many visits. Exceeded the API Rate Limit."),
}
STATUS = {
    "NEW": "New",
    "PARTIALLY_FILLED": "PartiallyFilled",
    "FILLED": "Filled",
    "CANCELED": "Cancelled",
    "EXPIRED": "Cancelled",
    "REJECTED": "Rejected",
}
ORDER_LIMIT = 10


def order_json(o: SimOrder) -> dict[str, Any]:
    status = STATUS[o.status]
    if o.status == "CANCELED" and o.filled:
        status = "PartiallyFilledCanceled"
    return {
        "symbol": o.symbol,
        "orderId": f"uuid-{o.venue_order_id}",
        "orderLinkId": o.client_order_id,
        "side": "Buy" if o.side > 0 else "Sell",
        "orderType": "Market" if o.market else "Limit",
        "price": fmt(o.price) if o.price is not None else "0",
        "qty": fmt(o.qty),
        "timeInForce": "PostOnly" if o.post_only else "IOC" if o.ioc else "GTC",
        "orderStatus": status,
        "cumExecQty": fmt(o.filled),
        "cumExecValue": fmt(o.notional),
        "avgPrice": fmt(o.avg_price) if o.filled else "",
        "leavesQty": fmt(o.qty - o.filled),
        "reduceOnly": o.reduce_only,
        "positionIdx": 0,
        "category": "linear",
        "createdTime": str(o.created_ms),
        "updatedTime": str(o.updated_ms),
        "rejectReason": "EC_PostOnlyWillTakeLiquidity"
        if o.post_only and o.status == "CANCELED"
        else "EC_NoError",
    }


def execution_json(f: SimFill) -> dict[str, Any]:
    o = f.order
    return {
        "category": "linear",
        "symbol": o.symbol,
        "execFee": fmt(f.fee),
        "execId": f"exec-{f.trade_id}",
        "execPrice": fmt(f.price),
        "execQty": fmt(f.qty),
        "execType": "Trade",
        "execValue": fmt(f.qty * f.price),
        "feeRate": "0.0002" if f.maker else "0.0005",
        "leavesQty": fmt(o.qty - o.filled),
        "orderId": f"uuid-{o.venue_order_id}",
        "orderLinkId": o.client_order_id,
        "orderPrice": fmt(o.price) if o.price is not None else "0",
        "orderQty": fmt(o.qty),
        "orderType": "Market" if o.market else "Limit",
        "side": "Buy" if o.side > 0 else "Sell",
        "execTime": str(f.ts_ms),
        "isMaker": f.maker,
        "seq": int(f.trade_id),
        "feeCurrency": "USDT",
    }


class BybitPlugin(OrderVenuePlugin):
    """The Bybit v5 side of the loopback order venue."""

    name = "bybit"
    post_only_rejects = False

    def _reply(
        self,
        server: OrderVenueServer,
        result: Any,
        code: int = 0,
        msg: str = "OK",
        status: int = 200,
        *,
        limit: bool = False,
    ) -> web.Response:
        body = {
            "retCode": code,
            "retMsg": msg,
            "result": result,
            "retExtInfo": {},
            "time": server.now_ms(),
        }
        headers = {}
        if limit:
            headers = {
                "X-Bapi-Limit": str(ORDER_LIMIT),
                "X-Bapi-Limit-Status": str(ORDER_LIMIT - 1),
                "X-Bapi-Limit-Reset-Timestamp": str(server.now_ms()),
            }
        return web.Response(
            body=orjson.dumps(body), status=status, headers=headers, content_type="application/json"
        )

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        if kind == "http_429":
            r = web.Response(status=429, text="Too Many Requests")
            r.headers["Retry-After"] = "1"
            return r
        if kind == "server_error":
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        if kind.startswith("timestamp"):
            ts = getattr(self, "_last_ts", 0)
            msg = (
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{server.now_ms()}],recv_window[5000]"
            )
            return self._reply(server, {}, 10002, msg)
        code, msg = ERRORS[kind]
        return self._reply(server, {}, code, msg)

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op in ("time", "stream"):
            return None
        h = request.headers
        if h.get("X-BAPI-API-KEY") != self.api_key:
            return "auth"
        ts = h.get("X-BAPI-TIMESTAMP", "0")
        recv = h.get("X-BAPI-RECV-WINDOW", "5000")
        payload = body.decode() if request.method == "POST" else request.query_string
        expected = hmac.new(
            self.api_secret.encode(), f"{ts}{self.api_key}{recv}{payload}".encode(), hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(expected, h.get("X-BAPI-SIGN", "")):
            return "signature"
        now = server.now_ms()
        self._last_ts = int(ts)
        if not (now - int(recv) <= int(ts) < now + 1000):
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for kind, item in events:
            now = server.now_ms()
            if kind == "fill":
                frames.append(
                    orjson.dumps(
                        {
                            "topic": "execution",
                            "id": f"e{item.trade_id}",
                            "creationTime": now,
                            "data": [execution_json(item)],
                        }
                    ).decode()
                )
            else:
                frames.append(
                    orjson.dumps(
                        {
                            "id": f"o{now}",
                            "topic": "order",
                            "creationTime": now,
                            "data": [order_json(item)],
                        }
                    ).decode()
                )
        return frames

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/v5/market/time", "time", self._time),
            ("POST", "/v5/order/create", "new", self._new),
            ("POST", "/v5/order/cancel", "cancel", self._cancel),
            ("POST", "/v5/order/cancel-all", "cancel_all", self._cancel_all),
            ("POST", "/v5/order/amend", "amend", self._amend),
            ("GET", "/v5/order/realtime", "query", self._realtime),
            ("GET", "/v5/execution/list", "fills", self._executions),
            ("GET", "/v5/position/list", "position", self._position),
            ("GET", "/v5/account/wallet-balance", "balance", self._wallet),
            ("POST", "/v5/order/disconnected-cancel-all", "dms", self._dcp),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [("/v5/private", self._stream), ("/v5/trade", self._trade)]

    # -- WebSocket trade (order entry) ---------------------------------------------------

    def _trade_reply(
        self, server: OrderVenueServer, frame: dict[str, Any], code: int, msg: str, data: Any
    ) -> str:
        now = server.now_ms()
        header = {
            "X-Bapi-Limit": str(ORDER_LIMIT),
            "X-Bapi-Limit-Status": str(ORDER_LIMIT - 1),
            "X-Bapi-Limit-Reset-Timestamp": str(now),
            "Traceid": "t",
            "Timenow": str(now),
        }
        return orjson.dumps(
            {
                "reqId": frame.get("reqId"),
                "retCode": code,
                "retMsg": msg,
                "op": frame.get("op"),
                "data": data,
                "retExtInfo": {},
                "header": header,
                "connId": "c2",
            }
        ).decode()

    async def _trade(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        authed = False
        handlers = {
            "order.create": ("new", self._new),
            "order.cancel": ("cancel", self._cancel),
            "order.amend": ("amend", self._amend),
        }
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = orjson.loads(msg.data)
            op = frame.get("op")
            if op == "auth":
                key, expires, sig = frame["args"]
                good = hmac.new(
                    self.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256
                ).hexdigest()
                authed = (
                    key == self.api_key
                    and hmac.compare_digest(good, sig)
                    and expires > server.now_ms()
                )
                reply = {
                    "retCode": 0 if authed else 10004,
                    "retMsg": "OK" if authed else "Invalid sign",
                    "op": "auth",
                    "connId": "c2",
                }
                await ws.send_str(orjson.dumps(reply).decode())
                continue
            if op == "ping":
                await ws.send_str(
                    orjson.dumps(
                        {
                            "retCode": 0,
                            "retMsg": "OK",
                            "op": "pong",
                            "data": [str(server.now_ms())],
                            "connId": "c2",
                        }
                    ).decode()
                )
                continue
            if op not in handlers or not authed:
                await ws.send_str(
                    self._trade_reply(server, frame, 10404, "op not exist or not authorized", {})
                )
                continue
            name, handler = handlers[op]
            body = orjson.dumps(frame["args"][0])
            kind = server.begin_call(name, "WS", f"/v5/trade {op}", "", body)
            if kind == "timeout":
                continue
            if kind == "disconnect":
                await ws.close()
                break
            if kind == "http_500":
                await ws.send_str(
                    self._trade_reply(server, frame, 10016, "service is restarting", {})
                )
                continue
            if kind == "http_429" or server.limited(name):
                await ws.send_str(
                    self._trade_reply(server, frame, 10429, "System level frequency protection", {})
                )
                continue
            head = frame.get("header") or {}
            ts, recv, now = (
                int(head.get("X-BAPI-TIMESTAMP", "0")),
                int(head.get("X-BAPI-RECV-WINDOW", "5000")),
                server.now_ms(),
            )
            if not (now - recv <= ts < now + 1000):
                msg_ts = (
                    "invalid request, please check your server timestamp or recv_window param. "
                    f"req_timestamp[{ts}],server_timestamp[{now}],recv_window[{recv}]"
                )
                await ws.send_str(self._trade_reply(server, frame, 10002, msg_ts, {}))
                continue
            try:
                response = await handler(server, request, body)
            except MatchError as e:
                code, text = ERRORS[e.kind]
                await ws.send_str(self._trade_reply(server, frame, code, text, {}))
                continue
            if kind != "drop_ack":
                result = orjson.loads(response.body)["result"]  # type: ignore[arg-type]
                await ws.send_str(self._trade_reply(server, frame, 0, "OK", result))
        return ws

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        now = server.now_ms()
        return self._reply(
            server, {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}
        )

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        market = p["orderType"] == "Market"
        o = SimOrder(
            client_order_id=p["orderLinkId"],
            venue_order_id="",
            symbol=p["symbol"],
            side=1 if p["side"] == "Buy" else -1,
            qty=Decimal(p["qty"]),
            price=None if market else Decimal(p["price"]),
            post_only=p.get("timeInForce") == "PostOnly",
            ioc=p.get("timeInForce") == "IOC",
            reduce_only=bool(p.get("reduceOnly")),
            market=market,
        )
        server.publish(server.matcher.new(o))
        return self._reply(
            server,
            {"orderId": f"uuid-{o.venue_order_id}", "orderLinkId": o.client_order_id},
            limit=True,
        )

    def _find(self, server: OrderVenueServer, p: dict[str, Any]) -> SimOrder:
        oid = p.get("orderId")
        return server.matcher.find(p.get("orderLinkId"), oid.removeprefix("uuid-") if oid else None)

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        o = self._find(server, orjson.loads(body))
        server.publish(server.matcher.cancel(o.client_order_id))
        return self._reply(
            server,
            {"orderId": f"uuid-{o.venue_order_id}", "orderLinkId": o.client_order_id},
            limit=True,
        )

    async def _cancel_all(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        events = server.matcher.cancel_all(p.get("symbol"))
        server.publish(events)
        rows = [
            {"orderId": f"uuid-{o.venue_order_id}", "orderLinkId": o.client_order_id}
            for _k, o in events
        ]
        return self._reply(server, {"list": rows, "success": "1"}, limit=True)

    async def _amend(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        o = self._find(server, p)
        qty = Decimal(p["qty"]) if "qty" in p else None
        price = Decimal(p["price"]) if "price" in p else None
        server.publish(server.matcher.amend(o, qty, price))
        return self._reply(
            server,
            {"orderId": f"uuid-{o.venue_order_id}", "orderLinkId": o.client_order_id},
            limit=True,
        )

    async def _realtime(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        if "orderLinkId" in p or "orderId" in p:
            try:
                rows = [order_json(self._find(server, p))]
            except MatchError:
                rows = []
        else:
            rows = [order_json(o) for o in server.matcher.open_orders(p.get("symbol"))]
        return self._reply(server, {"list": rows, "nextPageCursor": "", "category": "linear"})

    async def _executions(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        since = int(p.get("startTime", "0"))
        rows = [
            execution_json(f)
            for f in server.fills
            if f.order.symbol == p["symbol"] and f.ts_ms >= since
        ]
        return self._reply(server, {"list": rows, "nextPageCursor": "", "category": "linear"})

    async def _position(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        qty = server.positions.get(p["symbol"], Decimal(0))
        side = "Buy" if qty > 0 else "Sell" if qty < 0 else ""
        entry = server.matcher.entry.get(p["symbol"], Decimal(0)) if qty else Decimal(0)
        row = {
            "positionIdx": 0,
            "symbol": p["symbol"],
            "side": side,
            "size": fmt(abs(qty)),
            "avgPrice": fmt(entry),
        }
        return self._reply(server, {"list": [row], "nextPageCursor": "", "category": "linear"})

    async def _wallet(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = fmt(server.matcher.margin)
        coin = {"coin": "USDT", "walletBalance": m, "availableToWithdraw": m, "equity": m}
        return self._reply(server, {"list": [{"accountType": "UNIFIED", "coin": [coin]}]})

    async def _dcp(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        server.arm_dms("*", int(p["timeWindow"]) * 1000)
        return web.Response(
            body=orjson.dumps({"retCode": 0, "retMsg": "success"}), content_type="application/json"
        )

    async def _stream(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        authed = False
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            frame = orjson.loads(msg.data)
            op = frame.get("op")
            if op == "auth":
                key, expires, sig = frame["args"]
                good = hmac.new(
                    self.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256
                ).hexdigest()
                authed = (
                    key == self.api_key
                    and hmac.compare_digest(good, sig)
                    and expires > server.now_ms()
                )
                await ws.send_str(
                    orjson.dumps(
                        {
                            "success": authed,
                            "ret_msg": "" if authed else "Params Error",
                            "op": "auth",
                            "conn_id": "c1",
                        }
                    ).decode()
                )
            elif op == "subscribe" and authed:
                await ws.send_str(
                    orjson.dumps(
                        {"success": True, "ret_msg": "", "op": "subscribe", "conn_id": "c1"}
                    ).decode()
                )
                await server.add_stream(ws)
                break
            elif op == "ping":
                await ws.send_str(
                    orjson.dumps(
                        {"op": "pong", "args": [str(int(time.time() * 1000))], "conn_id": "c1"}
                    ).decode()
                )
        return ws
