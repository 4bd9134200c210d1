"""OKX v5 on the loopback order venue: signed ``/api/v5`` REST (ISO timestamps, base64 HMAC,
passphrase), private WS ``login`` / ``subscribe`` / text ``ping`` and ``orders`` pushes.

Per-order failures come back as HTTP 200 ``code "1"`` with ``sCode``/``sMsg`` (the real 51008
text); a timestamp more than 30 s off is the real HTTP 401 ``50102``; the rate limit is HTTP 429
``50011``. Post-only orders that would cross are accepted, then cancelled.
"""

from __future__ import annotations

import base64
import calendar
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

S_ERRORS: dict[str, tuple[str, str]] = {
    "insufficient_margin": ("51008", "Order failed. Insufficient USDT margin in account "),
    "price_filter": ("51006", "Order price is not within the price limit"),
    "lot_filter": ("51121", "Order quantity must be a multiple of the lot size."),
    "reduce_only": (
        "51169",
        "Order failed because you don't have any positions in this direction for this "
        "contract to reduce or close.",
    ),
    "duplicate": ("51016", "Duplicated clOrdId"),
    "unknown_order": (
        "51400",
        "Cancellation failed as the order has been filled, canceled or does not exist.",
    ),
}
TOP_ERRORS: dict[str, tuple[int, str, str]] = {
    "timestamp": (401, "50102", "Timestamp request expired"),
    "auth": (401, "50111", "Invalid OK-ACCESS-KEY"),
    "signature": (401, "50113", "Invalid Sign"),
    "rate_limit": (429, "50011", "Too Many Requests"),
    "http_429": (429, "50011", "Too Many Requests"),
    "server_error": (503, "50001", "Service temporarily unavailable. Please try again later."),
    "unknown_order_query": (200, "51603", "Order does not exist"),
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


def _parse_iso(ts: str) -> int:
    base, ms = ts.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(ms)


def order_json(o: SimOrder, fill: SimFill | None = None) -> dict[str, Any]:
    return {
        "accFillSz": fmt(o.filled),
        "avgPx": fmt(o.avg_price) if o.filled else "",
        "cTime": str(o.created_ms),
        "category": "normal",
        "ccy": "",
        "clOrdId": o.client_order_id,
        "code": "0",
        "execType": ("M" if fill.maker else "T") if fill else "",
        "fee": fmt(-o.notional * Decimal("0.0002")),
        "feeCcy": "USDT",
        "fillFee": fmt(-fill.fee) if fill else "0",
        "fillFeeCcy": "USDT" if fill else "",
        "fillPx": fmt(fill.price) if fill else "",
        "fillSz": fmt(fill.qty) if fill else "0",
        "fillTime": str(fill.ts_ms) if fill else "",
        "instId": o.symbol,
        "instType": "SWAP",
        "lever": "3",
        "ordId": o.venue_order_id,
        "ordType": "market"
        if o.market
        else "post_only"
        if o.post_only
        else "ioc"
        if o.ioc
        else "limit",
        "posSide": "net",
        "px": fmt(o.price) if o.price is not None else "",
        "reduceOnly": "true" if o.reduce_only else "false",
        "side": "buy" if o.side > 0 else "sell",
        "state": STATE[o.status],
        "sz": fmt(o.qty),
        "tdMode": "cross",
        "tradeId": fill.trade_id if fill else "",
        "uTime": str(o.updated_ms),
    }


class OkxPlugin(OrderVenuePlugin):
    """The OKX v5 side of the loopback order venue."""

    name = "okx"
    passphrase = "test-passphrase-1"
    post_only_rejects = False

    def _reply(self, data: Any, code: str = "0", msg: str = "", status: int = 200) -> web.Response:
        body = {"code": code, "msg": msg, "data": data}
        return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")

    def error(self, server: OrderVenueServer, kind: str, op: str) -> web.Response:
        if kind == "unknown_order" and op == "query":
            kind = "unknown_order_query"
        if kind.startswith("timestamp") or kind in TOP_ERRORS:
            status, code, msg = TOP_ERRORS["timestamp" if kind.startswith("timestamp") else kind]
            return self._reply([], code, msg, status)
        code, msg = S_ERRORS[kind]
        return self._reply(
            [
                {
                    "clOrdId": "",
                    "ordId": "",
                    "sCode": code,
                    "sMsg": msg,
                    "tag": "",
                    "ts": str(server.now_ms()),
                }
            ],
            "1",
            "All operations failed",
        )

    def verify(
        self, server: OrderVenueServer, request: web.Request, body: bytes, op: str
    ) -> str | None:
        if op in ("time", "stream"):
            return None
        h = request.headers
        if (
            h.get("OK-ACCESS-KEY") != self.api_key
            or h.get("OK-ACCESS-PASSPHRASE") != self.passphrase
        ):
            return "auth"
        ts = h.get("OK-ACCESS-TIMESTAMP", "")
        path = request.path_qs
        expected = base64.b64encode(
            hmac.new(
                self.api_secret.encode(),
                f"{ts}{request.method}{path}".encode() + body,
                hashlib.sha256,
            ).digest()
        ).decode()
        if not hmac.compare_digest(expected, h.get("OK-ACCESS-SIGN", "")):
            return "signature"
        if abs(_parse_iso(ts) - server.now_ms()) > TS_TOLERANCE_MS:
            return "timestamp"
        return None

    def stream_frames(self, server: OrderVenueServer, events: list[Event]) -> list[str | bytes]:
        frames: list[str | bytes] = []
        for i, (kind, item) in enumerate(events):
            if kind == "order" and i > 0 and events[i - 1][0] == "fill":
                continue  # OKX pushes the fill and the order state as one row
            row = order_json(item.order, item) if kind == "fill" else order_json(item)
            if kind == "fill" and i + 1 < len(events) and events[i + 1][0] == "order":
                row.update({k: v for k, v in order_json(events[i + 1][1], item).items()})
            frames.append(
                orjson.dumps(
                    {"arg": {"channel": "orders", "instType": "SWAP", "uid": "77"}, "data": [row]}
                ).decode()
            )
        return frames

    def routes(self) -> list[tuple[str, str, str, Any]]:
        return [
            ("GET", "/api/v5/public/time", "time", self._time),
            ("POST", "/api/v5/trade/order", "new", self._new),
            ("GET", "/api/v5/trade/order", "query", self._query),
            ("POST", "/api/v5/trade/cancel-order", "cancel", self._cancel),
            ("POST", "/api/v5/trade/cancel-batch-orders", "cancel_all", self._cancel_batch),
            ("POST", "/api/v5/trade/amend-order", "amend", self._amend),
            ("GET", "/api/v5/trade/orders-pending", "open_orders", self._pending),
            ("GET", "/api/v5/trade/fills", "fills", self._fills),
            ("GET", "/api/v5/account/positions", "position", self._positions),
            ("GET", "/api/v5/account/balance", "balance", self._balance),
            ("POST", "/api/v5/trade/cancel-all-after", "dms", self._cancel_after),
        ]

    def ws_routes(self) -> list[tuple[str, Any]]:
        return [("/ws/v5/private", self._stream)]

    def _ack(self, server: OrderVenueServer, o: SimOrder) -> web.Response:
        return self._reply(
            [
                {
                    "clOrdId": o.client_order_id,
                    "ordId": o.venue_order_id,
                    "tag": "",
                    "ts": str(server.now_ms()),
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    async def _time(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply([{"ts": str(server.now_ms())}])

    async def _new(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        market = p["ordType"] == "market"
        o = SimOrder(
            client_order_id=p["clOrdId"],
            venue_order_id="",
            symbol=p["instId"],
            side=1 if p["side"] == "buy" else -1,
            qty=Decimal(p["sz"]),
            price=None if market else Decimal(p["px"]),
            post_only=p["ordType"] == "post_only",
            ioc=p["ordType"] == "ioc",
            reduce_only=bool(p.get("reduceOnly")),
            market=market,
        )
        server.publish(server.matcher.new(o))
        return self._ack(server, o)

    def _find(self, server: OrderVenueServer, p: dict[str, Any]) -> SimOrder:
        return server.matcher.find(p.get("clOrdId"), p.get("ordId"))

    async def _query(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        return self._reply([order_json(self._find(server, dict(parse_qsl(request.query_string))))])

    async def _cancel(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        o = self._find(server, orjson.loads(body))
        server.publish(server.matcher.cancel(o.client_order_id))
        return self._ack(server, o)

    async def _cancel_batch(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        rows = []
        for p in orjson.loads(body):
            try:
                o = self._find(server, p)
                server.publish(server.matcher.cancel(o.client_order_id))
                rows.append(
                    {
                        "clOrdId": o.client_order_id,
                        "ordId": o.venue_order_id,
                        "sCode": "0",
                        "sMsg": "",
                    }
                )
            except MatchError:
                rows.append(
                    {
                        "clOrdId": "",
                        "ordId": p.get("ordId", ""),
                        "sCode": "51400",
                        "sMsg": S_ERRORS["unknown_order"][1],
                    }
                )
        ok = all(r["sCode"] == "0" for r in rows)
        return self._reply(
            rows, "0" if ok else "2", "" if ok else "Bulk operation partially succeeded."
        )

    async def _amend(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = orjson.loads(body)
        o = self._find(server, p)
        server.publish(
            server.matcher.amend(
                o,
                Decimal(p["newSz"]) if "newSz" in p else None,
                Decimal(p["newPx"]) if "newPx" in p else None,
            )
        )
        return self._reply(
            [
                {
                    "clOrdId": o.client_order_id,
                    "ordId": o.venue_order_id,
                    "ts": str(server.now_ms()),
                    "reqId": "",
                    "sCode": "0",
                    "sMsg": "",
                }
            ]
        )

    async def _pending(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        return self._reply([order_json(o) for o in server.matcher.open_orders(p.get("instId"))])

    async def _fills(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        since = int(p.get("begin", "0"))
        rows = [
            {
                "instType": "SWAP",
                "instId": f.order.symbol,
                "tradeId": f.trade_id,
                "ordId": f.order.venue_order_id,
                "clOrdId": f.order.client_order_id,
                "billId": "1",
                "tag": "",
                "fillPx": fmt(f.price),
                "fillSz": fmt(f.qty),
                "side": "buy" if f.order.side > 0 else "sell",
                "posSide": "net",
                "execType": "M" if f.maker else "T",
                "feeCcy": "USDT",
                "fee": fmt(-f.fee),
                "ts": str(f.ts_ms),
                "fillTime": str(f.ts_ms),
            }
            for f in server.fills
            if f.order.symbol == p["instId"] and f.ts_ms >= since
        ]
        return self._reply(rows)

    async def _positions(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        p = dict(parse_qsl(request.query_string))
        qty = server.positions.get(p["instId"], Decimal(0))
        if not qty:
            return self._reply([])
        entry = server.matcher.entry.get(p["instId"], Decimal(0))
        return self._reply(
            [
                {
                    "instId": p["instId"],
                    "instType": "SWAP",
                    "mgnMode": "cross",
                    "posSide": "net",
                    "pos": fmt(qty),
                    "avgPx": fmt(entry),
                }
            ]
        )

    async def _balance(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        m = fmt(server.matcher.margin)
        return self._reply(
            [{"totalEq": m, "details": [{"ccy": "USDT", "eq": m, "cashBal": m, "availBal": m}]}]
        )

    async def _cancel_after(
        self, server: OrderVenueServer, request: web.Request, body: bytes
    ) -> web.Response:
        seconds = int(orjson.loads(body)["timeOut"])
        trigger = server.arm_dms("*", seconds * 1000)
        return self._reply(
            [{"triggerTime": str(trigger // 1000), "tag": "", "ts": str(server.now_ms() // 1000)}]
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
                        f"{a['timestamp']}GET/users/self/verify".encode(),
                        hashlib.sha256,
                    ).digest()
                ).decode()
                authed = (
                    a["apiKey"] == self.api_key
                    and a["passphrase"] == self.passphrase
                    and hmac.compare_digest(good, a["sign"])
                    and abs(int(a["timestamp"]) * 1000 - server.now_ms()) < TS_TOLERANCE_MS
                )
                reply = (
                    {"event": "login", "code": "0", "msg": "", "connId": "a1"}
                    if authed
                    else {"event": "error", "code": "60009", "msg": "Login failed.", "connId": "a1"}
                )
                await ws.send_str(orjson.dumps(reply).decode())
            elif frame.get("op") == "subscribe" and authed:
                await ws.send_str(
                    orjson.dumps(
                        {"event": "subscribe", "arg": frame["args"][0], "connId": "a1"}
                    ).decode()
                )
                await server.add_stream(ws)
                break
        return ws
