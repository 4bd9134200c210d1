"""BitMEX on the loopback order venue: signed ``/api/v1`` REST (``api-expires`` seconds,
hex HMAC over verb + raw path + expires + body), the realtime WebSocket with welcome,
``authKeyExpires``, per-topic subscribe acks and ``order`` / ``execution`` table pushes.

Numbers go out as JSON numbers, as BitMEX sends them. Order-table ``update`` rows carry only
the changed fields (no ``side``), as the venue's do, so clients must merge by ``orderID``.
Replies carry ``x-ratelimit-*`` headers. The real error texts are used where the samples
have them (expired, insufficient balance, signature, API key, rate limit); the reduce-only
refusal text is modelled on BitMEX's cancel reason.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
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
)

ERRORS: dict[str, tuple[int, str, str]] = {
    "auth": (401, "HTTPError", "Invalid API Key."),
    "signature": (401, "HTTPError", "Signature not valid."),
    "insufficient_margin": (
        400,
        "ValidationError",
        "Account has insufficient Available Balance, 21251123 XBt required",
    ),
    "price_filter": (400, "ValidationError", "Invalid price tickSize"),
    "lot_filter": (400, "ValidationError", "Order quantity must be a multiple of lot size: 0.001"),
    "reduce_only": (
        400,
        "ValidationError",
        "Order had execInst of ReduceOnly and side Buy which would increase position",
    ),
    "duplicate": (400, "ValidationError", "Duplicate clOrdID"),
    "unknown_order": (404, "HTTPError", "Not Found"),
    "rate_limit": (429, "RateLimitError", "Rate limit exceeded, retry in 1 seconds."),
    "http_429": (429, "RateLimitError", "Rate limit exceeded, retry in 1 seconds."),
    "server_error": (
        503,
        "HTTPError",
        "The system is currently overloaded. Please try again later.",
    ),
}
STATUS = {
    "NEW": "New",
    "PARTIALLY_FILLED": "PartiallyFilled",
    "FILLED": "Filled",
    "CANCELED": "Canceled",
    "EXPIRED": "Canceled",
    "REJECTED": "Rejected",
}
LIMIT_PER_MIN = 120


def _iso(ms: int) -> str:
    return (
        datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    )


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj, default=float)  # Decimals as JSON numbers, as BitMEX sends


def order_row(o: SimOrder) -> dict[str, Any]:
    inst = [
        x
        for x, on in (("ParticipateDoNotInitiate", o.post_only), ("ReduceOnly", o.reduce_only))
        if on
    ]
    return {
        "orderID": f"00000000-0000-0000-0000-{int(o.venue_order_id):012d}",
        "clOrdID": o.client_order_id,
        "account": 22,
        "symbol": o.symbol,
        "side": "Buy" if o.side > 0 else "Sell",
        "orderQty": o.qty,
        "price": o.price,
        "currency": "USD",
        "settlCurrency": "USDt",
        "ordType": "Market" if o.market else "Limit",
        "timeInForce": "ImmediateOrCancel" if o.ioc else "GoodTillCancel",
        "execInst": ",".join(inst),
        "ordStatus": STATUS[o.status],
        "workingIndicator": o.is_open,
        "leavesQty": o.qty - o.filled if o.is_open else 0,
        "cumQty": o.filled,
        "avgPx": o.avg_price if o.filled else None,
        "text": "Canceled: Order had execInst of ParticipateDoNotInitiate"
        if o.post_only and o.status == "CANCELED"
        else "Submitted via API.",
        "transactTime": _iso(o.updated_ms),
        "timestamp": _iso(o.updated_ms),
    }


def execution_row(f: SimFill) -> dict[str, Any]:
    o = f.order
    return {
        **order_row(o),
        "execID": f"e0000000-0000-0000-0000-{int(f.trade_id):012d}",
        "execType": "Trade",
        "lastQty": f.qty,
        "lastPx": f.price,
        "lastLiquidityInd": "AddedLiquidity" if f.maker else "RemovedLiquidity",
        "execComm": int(f.fee * 1_000_000),
        "commission": 0.0002 if f.maker else 0.0005,
        "transactTime": _iso(f.ts_ms),
        "timestamp": _iso(f.ts_ms),
    }


class BitmexPlugin(OrderVenuePlugin):
    """The BitMEX side of the loopback order venue."""

    name = "bitmex"
    post_only_rejects = False

    def __init__(self) -> None:
        self.requests_in_window = 0

    def _reply(self, payload: Any, status: int = 200, *, order: bool = False) -> web.Response:
        self.requests_in_window += 1
        headers = {
            "x-ratelimit-limit": str(LIMIT_PER_MIN),
            "x-ratelimit-remaining": str(max(0, LIMIT_PER_MIN - self.requests_in_window)),
            "x-ratelimit-reset": "1700000060",
        }
        if order:
            headers["x-ratelimit-remaining-1s"] = "9"
        return web.Response(
            body=dumps(payload), status=status, headers=headers, content_type="application/json"
        )

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        if kind.startswith("timestamp"):
            now_s = server.now_ms() // 1000
            msg = f"This request has expired - `expires` is in the past. Current time: {now_s}"
            return self._reply({"error": {"message": msg, "name": "HTTPError"}}, 400)
        status, name, msg = ERRORS[kind]
        response = self._reply({"error": {"message": msg, "name": name}}, status)
        if status == 429:
            response.headers["Retry-After"] = "1"
        return response

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op in ("time", "stream"):
            return None
        h = request.headers
        if h.get("api-key") != self.api_key:
            return "auth"
        expires = h.get("api-expires", "0")
        message = f"{request.method}{request.raw_path}{expires}".encode() + body
        expected = hmac.new(self.api_secret.encode(), message, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, h.get("api-signature", "")):
            return "signature"
        if int(expires) < server.now_ms() // 1000:
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for kind, item in events:
            if kind == "fill":
                frames.append(
                    dumps(
                        {"table": "execution", "action": "insert", "data": [execution_row(item)]}
                    ).decode()
                )
                continue
            row = order_row(item)
            if (
                item.status == "NEW"
                and item.filled == 0
                and item.created_ms == item.updated_ms
                and row["ordStatus"] == "New"
            ):
                frames.append(dumps({"table": "order", "action": "insert", "data": [row]}).decode())
            else:
                keep = (
                    "orderID",
                    "clOrdID",
                    "account",
                    "symbol",
                    "ordStatus",
                    "workingIndicator",
                    "leavesQty",
                    "cumQty",
                    "avgPx",
                    "orderQty",
                    "price",
                    "text",
                    "timestamp",
                )
                frames.append(
                    dumps(
                        {"table": "order", "action": "update", "data": [{k: row[k] for k in keep}]}
                    ).decode()
                )
        return frames

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/api/v1", "time", self._time),
            ("POST", "/api/v1/order", "new", self._new),
            ("DELETE", "/api/v1/order", "cancel", self._cancel),
            ("PUT", "/api/v1/order", "amend", self._amend),
            ("GET", "/api/v1/order", "*", self._orders),
            ("DELETE", "/api/v1/order/all", "cancel_all", self._cancel_all),
            ("GET", "/api/v1/execution/tradeHistory", "fills", self._trades),
            ("GET", "/api/v1/position", "position", self._position),
            ("GET", "/api/v1/user/margin", "balance", self._margin),
            ("POST", "/api/v1/order/cancelAllAfter", "dms", self._cancel_after),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [("/realtime", self._stream)]

    def op_of(self, request: web.Request, body: bytes) -> str:
        flt = orjson.loads(dict(parse_qsl(request.query_string)).get("filter", "{}"))
        return "query" if "clOrdID" in flt else "open_orders"

    def _find(self, server: OrderVenueServer, p: dict[str, Any]) -> SimOrder:
        oid = p.get("orderID")
        return server.matcher.find(
            p.get("clOrdID") or p.get("origClOrdID"),
            str(int(oid.rsplit("-", 1)[1])) if oid else None,
        )

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply({"name": "BitMEX API", "version": "1.2.0", "timestamp": server.now_ms()})

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        inst = (p.get("execInst") or "").split(",")
        market = p["ordType"] == "Market"
        o = SimOrder(
            client_order_id=p["clOrdID"],
            venue_order_id="",
            symbol=p["symbol"],
            side=1 if p["side"] == "Buy" else -1,
            qty=Decimal(str(p["orderQty"])),
            price=None if market else Decimal(str(p["price"])),
            post_only="ParticipateDoNotInitiate" in inst,
            ioc=p.get("timeInForce") == "ImmediateOrCancel",
            reduce_only="ReduceOnly" in inst,
            market=market,
        )
        server.publish(server.matcher.new(o))
        return self._reply(order_row(o), order=True)

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        o = self._find(server, orjson.loads(body))
        if not o.is_open:
            return self._reply(
                [
                    {
                        **order_row(o),
                        "error": "Unable to cancel order due to existing state: "
                        + STATUS[o.status],
                    }
                ],
                order=True,
            )
        server.publish(server.matcher.cancel(o.client_order_id))
        return self._reply([order_row(o)], order=True)

    async def _amend(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        o = self._find(server, p)
        qty = Decimal(str(p["orderQty"])) if "orderQty" in p else None
        price = Decimal(str(p["price"])) if "price" in p else None
        server.publish(server.matcher.amend(o, qty, price))
        return self._reply(order_row(o), order=True)

    async def _orders(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        flt = orjson.loads(p.get("filter", "{}"))
        if "clOrdID" in flt:
            try:
                return self._reply([order_row(self._find(server, flt))])
            except MatchError:
                return self._reply([])
        return self._reply([order_row(o) for o in server.matcher.open_orders(p.get("symbol"))])

    async def _cancel_all(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        events = server.matcher.cancel_all(orjson.loads(body).get("symbol"))
        server.publish(events)
        return self._reply([order_row(o) for _k, o in events], order=True)

    async def _trades(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        rows = [execution_row(f) for f in server.fills if f.order.symbol == p["symbol"]]
        return self._reply(rows)

    async def _position(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        symbol = orjson.loads(dict(parse_qsl(request.query_string))["filter"])["symbol"]
        qty = server.positions.get(symbol, Decimal(0))
        entry = server.matcher.entry.get(symbol) if qty else None
        return self._reply(
            [
                {
                    "account": 22,
                    "symbol": symbol,
                    "currency": "USDt",
                    "currentQty": qty,
                    "avgEntryPrice": entry,
                    "isOpen": bool(qty),
                }
            ]
        )

    async def _margin(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = int(server.matcher.margin)
        return self._reply(
            [{"account": 22, "currency": "USDT", "walletBalance": m, "availableMargin": m}]
        )

    async def _cancel_after(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        timeout = int(orjson.loads(body)["timeout"])
        deadline = server.arm_dms("*", timeout)
        payload = {"now": _iso(server.now_ms()), "cancelTime": _iso(deadline)} if timeout else {}
        return self._reply(payload)

    async def _stream(self, server: OrderVenueServer, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        await ws.send_str(
            orjson.dumps(
                {
                    "info": "Welcome to the BitMEX Realtime API.",
                    "version": "2026-01-01T00:00:00.000Z",
                    "timestamp": _iso(server.now_ms()),
                    "docs": "https://www.bitmex.com/app/wsAPI",
                    "limit": {"remaining": 39},
                }
            ).decode()
        )
        authed = False
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                break
            if msg.data == "ping":
                await ws.send_str("pong")
                continue
            frame = orjson.loads(msg.data)
            if frame.get("op") == "authKeyExpires":
                key, expires, sig = frame["args"]
                good = hmac.new(
                    self.api_secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256
                ).hexdigest()
                authed = (
                    key == self.api_key
                    and isinstance(expires, int)
                    and hmac.compare_digest(good, sig)
                    and expires >= server.now_ms() // 1000
                )
                reply = (
                    {"success": True, "request": frame}
                    if authed
                    else {
                        "status": 401,
                        "error": "Signature not valid.",
                        "meta": {},
                        "request": frame,
                    }
                )
                await ws.send_str(orjson.dumps(reply).decode())
            elif frame.get("op") == "subscribe" and authed:
                for topic in frame["args"]:
                    await ws.send_str(
                        orjson.dumps(
                            {"success": True, "subscribe": topic, "request": frame}
                        ).decode()
                    )
                for table in frame["args"]:
                    await ws.send_str(
                        orjson.dumps(
                            {
                                "table": table,
                                "action": "partial",
                                "keys": ["orderID"] if table == "order" else ["execID"],
                                "data": [],
                            }
                        ).decode()
                    )
                await server.add_stream(ws)
                break
        return ws
