"""Binance USD-M signed order entry (``OrderEntry``), PROTOCOLS.md section 1.

New, cancel and amend go over the WebSocket API (``transport="ws"``, the default: on a loopback
venue it hands an order to the socket in about a third of the REST path's time, see
``bench_orders``) or over REST (``transport="rest"``); queries, lists, cancel-all and the
dead-man switch always use REST. WebSocket-API requests are signed one by one (parameters
sorted by name). Over REST every parameter travels in the query string (the signed string
is the query, see ``signing.py``). New orders ask for ``newOrderRespType=RESULT`` so the
reply states the order's state (a marketable IOC comes back FILLED or EXPIRED at once).
One-way position mode (``positionSide=BOTH``) is assumed. The dead-man switch is
``countdownCancelAll``, per symbol, so it is armed for every configured symbol.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from typing import Any, Literal

import orjson

from bot.adapters.binance_usdm.errors import order_error
from bot.adapters.binance_usdm.signing import DEFAULT_RECV_WINDOW_MS, BinanceSigner
from bot.adapters.errors import AdapterError, UnknownOutcomeError
from bot.adapters.rest.entry import (
    F_IOC,
    F_MARKET,
    F_POST_ONLY,
    F_REDUCE_ONLY,
    RestOrderEntry,
    check_client_id,
    check_decimal,
    check_symbol,
)
from bot.adapters.rest.session import DEFAULT_TIMEOUT_S, RestReply, WireRequest
from bot.adapters.rest.usage import binance_usage, retry_after_s
from bot.adapters.rest.wsorders import WsOrderChannel
from bot.adapters.trading import (
    AmendRequest,
    BalanceReport,
    Capabilities,
    Credentials,
    Environment,
    FillReport,
    OrderRejectedError,
    OrderReport,
    OrderRequest,
    PositionReport,
    RateLimitedError,
    RateLimitUsage,
    RejectReason,
    UsageHook,
    WriteHook,
)
from bot.core.dtypes import Liquidity, OrderStatus, Side, VenueId

Transport = Literal["rest", "ws"]
WS_API_URLS: dict[str, str] = {
    "mainnet": "wss://ws-fapi.binance.com/ws-fapi/v1",
    "testnet": "wss://testnet.binancefuture.com/ws-fapi/v1",
}
REST_URLS: dict[str, str] = {
    "mainnet": "https://fapi.binance.com",
    "testnet": "https://testnet.binancefuture.com",
}
ORDER_PATH = "/fapi/v1/order"
OPEN_ORDERS_PATH = "/fapi/v1/openOrders"
ALL_OPEN_ORDERS_PATH = "/fapi/v1/allOpenOrders"
USER_TRADES_PATH = "/fapi/v1/userTrades"
POSITION_PATH = "/fapi/v2/positionRisk"
BALANCE_PATH = "/fapi/v2/balance"
COUNTDOWN_PATH = "/fapi/v1/countdownCancelAll"
TIME_PATH = "/fapi/v1/time"
LISTEN_KEY_PATH = "/fapi/v1/listenKey"
CLIENT_ID_RE = re.compile(r"[\.A-Z\:/a-z0-9_-]{1,36}", re.ASCII)
MAX_CLIENT_ID_LEN = 36
_NS_PER_MS = 1_000_000
_MS_PER_S = 1000
HTTP_REDIRECT = 300
HTTP_OK = 200
HTTP_TOO_MANY = 429
HTTP_BANNED = 418
HTTP_SERVER_ERROR = 500

STATUS: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
    "REJECTED": OrderStatus.REJECTED,
}
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}


def order_params(req: OrderRequest) -> str:
    """The unsigned query of a new order (exact strings in, exact strings out)."""
    check_client_id(req.client_order_id, CLIENT_ID_RE, "binance-usdm")
    qty = check_decimal("qty", req.qty)
    symbol = check_symbol(req.symbol)
    side = "BUY" if req.side == Side.BUY else "SELL"
    flags = int(req.flags)
    if flags & F_MARKET:
        query = f"symbol={symbol}&side={side}&type=MARKET&quantity={qty}"
    else:
        price = check_decimal("price", req.price)
        tif = "GTX" if flags & F_POST_ONLY else "IOC" if flags & F_IOC else "GTC"
        query = (
            f"symbol={symbol}&side={side}&type=LIMIT&timeInForce={tif}&quantity={qty}&price={price}"
        )
    if flags & F_REDUCE_ONLY:
        query += "&reduceOnly=true"
    return f"{query}&newClientOrderId={req.client_order_id}&newOrderRespType=RESULT"


def order_ws_params(req: OrderRequest) -> dict[str, str | int]:
    """The unsigned WebSocket-API params of a new order (exact strings)."""
    check_client_id(req.client_order_id, CLIENT_ID_RE, "binance-usdm")
    params: dict[str, str | int] = {
        "symbol": check_symbol(req.symbol),
        "side": "BUY" if req.side == Side.BUY else "SELL",
        "quantity": check_decimal("qty", req.qty),
        "newClientOrderId": req.client_order_id,
        "newOrderRespType": "RESULT",
    }
    flags = int(req.flags)
    if flags & F_MARKET:
        params["type"] = "MARKET"
    else:
        params["type"] = "LIMIT"
        params["price"] = check_decimal("price", req.price)
        params["timeInForce"] = "GTX" if flags & F_POST_ONLY else "IOC" if flags & F_IOC else "GTC"
    if flags & F_REDUCE_ONLY:
        params["reduceOnly"] = "true"
    return params


def ws_usage(limits: list[dict[str, Any]]) -> tuple[RateLimitUsage, ...]:
    """The ``rateLimits`` array of a WebSocket-API reply as usage rows."""
    names = {"REQUEST_WEIGHT": "weight", "ORDERS": "orders"}
    return tuple(
        RateLimitUsage(
            f"{names.get(r.get('rateLimitType', ''), 'requests')}-"
            f"{r.get('intervalNum', 1)}{str(r.get('interval', 'M'))[:1].lower()}",
            used=r.get("count"),
            limit=r.get("limit"),
        )
        for r in limits
    )


def _price(value: str | None) -> str | None:
    return None if value in (None, "", "0", "0.0", "0.00000") or _is_zero(value) else value


def _is_zero(value: str | None) -> bool:
    return value is not None and value.strip("0.") == ""


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order object (new/cancel/amend reply, query, open orders) as a report."""
    return OrderReport(
        client_order_id=data["clientOrderId"],
        venue_order_id=str(data["orderId"]),
        symbol=data["symbol"],
        status=STATUS.get(data["status"], OrderStatus.UNKNOWN),
        side=SIDES[data["side"]],
        qty=data["origQty"],
        filled_qty=data["executedQty"],
        price=_price(data.get("price")),
        avg_price=_price(data.get("avgPrice")),
        ts_exch_ns=int(data.get("updateTime") or data.get("time") or 0) * _NS_PER_MS,
    )


def parse_user_trade(data: dict[str, Any]) -> FillReport:
    """A ``userTrades`` row as a fill (Binance gives the order id there, not the client id)."""
    return FillReport(
        client_order_id="",
        venue_order_id=str(data["orderId"]),
        trade_id=str(data["id"]),
        symbol=data["symbol"],
        side=SIDES[data["side"]],
        qty=data["qty"],
        price=data["price"],
        fee=data["commission"],
        fee_asset=data["commissionAsset"],
        liquidity=Liquidity.MAKER if data.get("maker") else Liquidity.TAKER,
        ts_exch_ns=int(data["time"]) * _NS_PER_MS,
    )


class BinanceOrderEntry(RestOrderEntry):
    """Binance USD-M futures order entry for one account (REST; see the module docstring)."""

    venue = VenueId.BINANCE_USDM
    venue_name = "binance-usdm"
    time_path = TIME_PATH
    capabilities = Capabilities(
        amend=True,
        cancel_all=True,
        dead_man_switch=True,
        ws_order_entry=False,
        max_client_id_len=MAX_CLIENT_ID_LEN,
    )

    def __init__(
        self,
        credentials: Credentials,
        *,
        environment: Environment = "testnet",
        base_url: str | None = None,
        symbols: tuple[str, ...] = (),
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        on_usage: UsageHook | None = None,
        transport: Transport = "ws",
        ws_api_url: str | None = None,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or REST_URLS[environment],
            symbols=symbols,
            timeout_s=timeout_s,
            on_usage=on_usage,
            usage_parser=binance_usage,
        )
        self.environment = environment
        self.signer = BinanceSigner(credentials, recv_window_ms)
        self.recv_window_ms = recv_window_ms
        self.transport = transport
        self.ws = WsOrderChannel(
            self.http,
            ws_api_url or WS_API_URLS[environment],
            venue=self.venue_name,
            id_of=lambda reply: reply.get("id"),
            timeout_s=timeout_s,
        )
        if transport == "ws":
            self.capabilities = replace(self.capabilities, ws_order_entry=True)
        self._request_ids = itertools.count(1)
        self._fast_ws = credentials.api_key.isascii() and credentials.api_key.isalnum()
        """The fast frame writes the key into JSON unescaped: only for plain keys."""

    # -- building ---------------------------------------------------------------------------

    def signed(self, method: str, path: str, params: str = "") -> WireRequest:
        """A signed request for ``path`` with ``params`` (timestamped with the venue's clock)."""
        query = self.signer.sign_query(params, self.clock.now_ms())
        return WireRequest(method, f"{self.base_url}{path}?{query}", self.signer.headers)

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.signed("POST", ORDER_PATH, order_params(req))

    def build_ws(self, method: str, params: dict[str, str | int]) -> tuple[str, str]:
        """(request id, frame) of a signed WebSocket-API request."""
        rid = f"r{next(self._request_ids)}"
        params["recvWindow"] = self.recv_window_ms
        signed = self.signer.sign_ws_params(params, self.clock.now_ms())
        return rid, orjson.dumps({"id": rid, "method": method, "params": signed}).decode()

    def build_ws_submit(self, req: OrderRequest) -> tuple[str, str]:
        """The signed WebSocket-API frame of a new order (``order.place``).

        The parameters of a new order are a fixed set, so the alphabetical string to sign and
        the JSON frame are written directly (every value is checked first); the result is the
        same as ``build_ws("order.place", order_ws_params(req))``, several times cheaper.
        """
        if not self._fast_ws:
            return self.build_ws("order.place", order_ws_params(req))
        cid = check_client_id(req.client_order_id, CLIENT_ID_RE, "binance-usdm")
        symbol = check_symbol(req.symbol)
        qty = check_decimal("qty", req.qty)
        side = "BUY" if req.side == Side.BUY else "SELL"
        flags = int(req.flags)
        key, rw, ts = self.signer.api_key, self.recv_window_ms, self.clock.now_ms()
        ro = "&reduceOnly=true" if flags & F_REDUCE_ONLY else ""
        ro_json = ',"reduceOnly":"true"' if ro else ""
        if flags & F_MARKET:
            kind, px, px_json, tif, tif_json = "MARKET", "", "", "", ""
        else:
            price = check_decimal("price", req.price)
            tif_v = "GTX" if flags & F_POST_ONLY else "IOC" if flags & F_IOC else "GTC"
            kind, px, px_json = "LIMIT", f"&price={price}", f',"price":"{price}"'
            tif, tif_json = f"&timeInForce={tif_v}", f',"timeInForce":"{tif_v}"'
        payload = (
            f"apiKey={key}&newClientOrderId={cid}&newOrderRespType=RESULT{px}&quantity={qty}"
            f"&recvWindow={rw}{ro}&side={side}&symbol={symbol}{tif}&timestamp={ts}&type={kind}"
        )
        signature = self.signer.signature(payload)
        rid = f"r{next(self._request_ids)}"
        frame = (
            f'{{"id":"{rid}","method":"order.place","params":{{"apiKey":"{key}",'
            f'"newClientOrderId":"{cid}","newOrderRespType":"RESULT"{px_json},'
            f'"quantity":"{qty}","recvWindow":{rw}{ro_json},"side":"{side}",'
            f'"symbol":"{symbol}"{tif_json},"timestamp":{ts},"type":"{kind}",'
            f'"signature":"{signature}"}}}}'
        )
        return rid, frame

    async def _ws_call(self, request: tuple[str, str], on_write: WriteHook | None) -> Any:
        """Send one WebSocket-API request; return its result or raise the typed error."""
        if not self.ws.connected:
            await self.ws.connect()
        reply = await self.ws.request(request[0], request[1], on_write)
        if self._on_usage is not None and reply.get("rateLimits"):
            self._on_usage(ws_usage(reply["rateLimits"]))
        status = int(reply.get("status") or 0)
        if status == HTTP_OK:
            return reply.get("result")
        error = reply.get("error") or {}
        message = str(error.get("msg", ""))
        if status in (HTTP_TOO_MANY, HTTP_BANNED):
            retry_ms = (error.get("data") or {}).get("retryAfter")
            wait = max(0, int(retry_ms) - self.clock.now_ms()) / _MS_PER_S if retry_ms else None
            raise RateLimitedError(f"binance-usdm: {message} (WebSocket status {status})", wait)
        if status >= HTTP_SERVER_ERROR:
            raise UnknownOutcomeError(f"binance-usdm: {message} (status {status}; outcome unknown)")
        err = order_error(error.get("code", status), message)
        if isinstance(err, OrderRejectedError) and err.reason is RejectReason.TIMESTAMP:
            await self.clock.resync()
        raise err

    # -- replies ----------------------------------------------------------------------------

    def _server_ms(self, payload: Any) -> int:
        return int(payload["serverTime"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        code = payload.get("code") if isinstance(payload, dict) else None
        failed = isinstance(code, int) and code < 0  # cancel-all succeeds with code 200
        if reply.status < HTTP_REDIRECT and not failed:
            return None
        if code is not None:
            message = str(payload.get("msg", ""))
            return order_error(code, message, retry_after_s(reply.headers))
        return OrderRejectedError(
            RejectReason.OTHER, f"HTTP {reply.status}", "binance-usdm: unexpected reply"
        )

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order and return its state as Binance states it."""
        if self.transport == "ws":
            return parse_order(await self._ws_call(self.build_ws_submit(req), on_write))
        signed = self.build_submit(req)
        return parse_order(await self._call(signed, state_changing=True, on_write=on_write))

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id; the reply is the cancelled order."""
        if self.transport == "ws":
            params: dict[str, str | int] = {
                "symbol": symbol,
                "origClientOrderId": client_order_id,
            }
            return parse_order(await self._ws_call(self.build_ws("order.cancel", params), on_write))
        signed = self.signed(
            "DELETE", ORDER_PATH, f"symbol={symbol}&origClientOrderId={client_order_id}"
        )
        return parse_order(await self._call(signed, state_changing=True, on_write=on_write))

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order of ``symbol``."""
        await self._call(
            self.signed("DELETE", ALL_OPEN_ORDERS_PATH, f"symbol={symbol}"), state_changing=True
        )

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Modify price and/or size (Binance needs side, size and price: missing ones are read
        from the order first)."""
        qty, price = req.qty, req.price
        current = await self.query_order(req.symbol, req.client_order_id)
        if current is None:
            raise OrderRejectedError(
                RejectReason.UNKNOWN_ORDER, "-2013", "binance-usdm: order does not exist"
            )
        qty = check_decimal("qty", qty if qty is not None else current.qty)
        price = check_decimal("price", price if price is not None else current.price)
        side = "BUY" if current.side == Side.BUY else "SELL"
        if self.transport == "ws":
            ws_params: dict[str, str | int] = {
                "symbol": req.symbol,
                "origClientOrderId": req.client_order_id,
                "side": side,
                "quantity": qty,
                "price": price,
            }
            request = self.build_ws("order.modify", ws_params)
            return parse_order(await self._ws_call(request, on_write))
        params = (
            f"symbol={req.symbol}&origClientOrderId={req.client_order_id}&side={side}"
            f"&quantity={qty}&price={price}"
        )
        signed = self.signed("PUT", ORDER_PATH, params)
        return parse_order(await self._call(signed, state_changing=True, on_write=on_write))

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if Binance does not know the id."""
        signed = self.signed(
            "GET", ORDER_PATH, f"symbol={symbol}&origClientOrderId={client_order_id}"
        )
        try:
            return parse_order(await self._call(signed, state_changing=False))
        except OrderRejectedError as e:
            if e.reason is RejectReason.UNKNOWN_ORDER:
                return None
            raise

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders of one symbol, or of the whole account."""
        signed = self.signed("GET", OPEN_ORDERS_PATH, f"symbol={symbol}" if symbol else "")
        return [parse_order(o) for o in await self._call(signed, state_changing=False)]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our trades in ``symbol`` since ``since_ns`` (wall clock, ns)."""
        params = f"symbol={symbol}&startTime={since_ns // _NS_PER_MS}"
        rows = await self._call(self.signed("GET", USER_TRADES_PATH, params), state_changing=False)
        return [parse_user_trade(r) for r in rows]

    async def position(self, symbol: str) -> PositionReport:
        """Net position (one-way mode) of ``symbol``."""
        rows = await self._call(
            self.signed("GET", POSITION_PATH, f"symbol={symbol}"), state_changing=False
        )
        for row in rows:
            if row["symbol"] == symbol and row.get("positionSide", "BOTH") == "BOTH":
                entry = row.get("entryPrice")
                return PositionReport(
                    symbol, row["positionAmt"], None if _is_zero(entry) else entry
                )
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Wallet balance and available balance per asset."""
        rows = await self._call(self.signed("GET", BALANCE_PATH), state_changing=False)
        return [BalanceReport(r["asset"], r["balance"], r["availableBalance"]) for r in rows]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh ``countdownCancelAll`` on every configured symbol (0 disarms)."""
        if not self.symbols:
            raise ValueError("binance-usdm: the dead-man switch is per symbol; configure symbols")
        countdown_ms = round(timeout_s * _MS_PER_S)
        for symbol in self.symbols:
            params = f"symbol={symbol}&countdownTime={countdown_ms}"
            await self._call(self.signed("POST", COUNTDOWN_PATH, params), state_changing=True)

    # -- listen key (user stream) -----------------------------------------------------------

    async def listen_key(self, method: str = "POST") -> str:
        """Create (POST) or extend (PUT) the user-stream listen key; return it."""
        signed = WireRequest(method, self.base_url + LISTEN_KEY_PATH, self.signer.headers)
        payload = await self._call(signed, state_changing=False)
        return str(payload.get("listenKey", ""))

    async def close(self) -> None:
        """Close the order WebSocket and the HTTP session."""
        await self.ws.close()
        await super().close()
