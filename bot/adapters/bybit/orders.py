"""Bybit v5 (linear) signed order entry (``OrderEntry``), PROTOCOLS.md section 2.

New, cancel and amend go over the WebSocket trade connection (``transport="ws"``, the default:
authenticated once, each frame carrying timestamp and receive window; on a loopback venue it
hands an order to the socket in about a fifth of the REST path's time, see ``bench_orders``) or
over REST (``transport="rest"``); everything else uses REST. REST POST bodies are compact JSON
signed byte for byte. ``/v5/order/create``, ``cancel`` and
``amend`` answer with an acknowledgement only (ids), so ``submit`` reports PENDING_NEW,
``cancel`` PENDING_CANCEL, ``amend`` PENDING_NEW with the new figures: the state follows on the
user stream (or ``query_order``). One-way mode (``positionIdx=0``). The dead-man switch is DCP
(``/v5/order/disconnected-cancel-all``), enabled only for accounts Bybit has approved: elsewhere
the venue refuses and this raises ``NotSupportedError``. DCP also needs the private stream to
subscribe ``dcp.future`` (``BybitUserStream(dcp=True)``).
"""

from __future__ import annotations

import asyncio
import itertools
import re
from dataclasses import replace
from typing import Any, Literal

import aiohttp
import orjson

from bot.adapters.bybit.errors import order_error
from bot.adapters.bybit.signing import DEFAULT_RECV_WINDOW_MS, BybitSigner
from bot.adapters.errors import AdapterError, FatalError
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
from bot.adapters.rest.usage import bybit_usage
from bot.adapters.rest.wsorders import WsOrderChannel
from bot.adapters.trading import (
    AmendRequest,
    BalanceReport,
    Capabilities,
    Credentials,
    Environment,
    FillReport,
    NotSupportedError,
    OrderRejectedError,
    OrderReport,
    OrderRequest,
    PositionReport,
    RateLimitedError,
    RejectReason,
    UsageHook,
    WriteHook,
)
from bot.core.dtypes import Liquidity, OrderStatus, Side, VenueId

Transport = Literal["rest", "ws"]
WS_TRADE_URLS: dict[str, str] = {
    "mainnet": "wss://stream.bybit.com/v5/trade",
    "testnet": "wss://stream-testnet.bybit.com/v5/trade",
}
WS_AUTH_VALID_MS = 10_000
WS_HANDSHAKE_TIMEOUT_S = 10.0
WS_PING = '{"op":"ping"}'
REST_URLS: dict[str, str] = {
    "mainnet": "https://api.bybit.com",
    "testnet": "https://api-testnet.bybit.com",
}
CATEGORY = "linear"
CREATE_PATH = "/v5/order/create"
CANCEL_PATH = "/v5/order/cancel"
CANCEL_ALL_PATH = "/v5/order/cancel-all"
AMEND_PATH = "/v5/order/amend"
REALTIME_PATH = "/v5/order/realtime"
EXECUTIONS_PATH = "/v5/execution/list"
POSITION_PATH = "/v5/position/list"
WALLET_PATH = "/v5/account/wallet-balance"
DCP_PATH = "/v5/order/disconnected-cancel-all"
TIME_PATH = "/v5/market/time"
DCP_MIN_S, DCP_MAX_S = 3, 300
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,36}", re.ASCII)
MAX_CLIENT_ID_LEN = 36
_NS_PER_MS = 1_000_000
_MS_PER_S = 1000

STATUS: dict[str, OrderStatus] = {
    "Created": OrderStatus.PENDING_NEW,
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "PartiallyFilledCanceled": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
    "Deactivated": OrderStatus.CANCELLED,
}
SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}


def order_body(req: OrderRequest) -> bytes:
    """The JSON body of a new order (exact strings; compact, as signed).

    Written with an f-string: every interpolated value is checked first (symbol, id and
    decimals cannot carry a quote), and it is several times cheaper than dict + dumps.
    """
    cid = check_client_id(req.client_order_id, CLIENT_ID_RE, "bybit")
    symbol = check_symbol(req.symbol)
    side = "Buy" if req.side == Side.BUY else "Sell"
    qty = check_decimal("qty", req.qty)
    head = (
        f'{{"category":"{CATEGORY}","symbol":"{symbol}","side":"{side}","qty":"{qty}",'
        f'"orderLinkId":"{cid}","positionIdx":0,'
    )
    flags = int(req.flags)
    if flags & F_MARKET:
        tail = '"orderType":"Market"'
    else:
        price = check_decimal("price", req.price)
        tif = "PostOnly" if flags & F_POST_ONLY else "IOC" if flags & F_IOC else "GTC"
        tail = f'"orderType":"Limit","price":"{price}","timeInForce":"{tif}"'
    if flags & F_REDUCE_ONLY:
        tail += ',"reduceOnly":true'
    return f"{head}{tail}}}".encode()


def _opt(value: str | None) -> str | None:
    return None if not value or value.strip("0.") == "" else value


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order object (realtime query, user-stream ``order`` push) as a report."""
    return OrderReport(
        client_order_id=data.get("orderLinkId", ""),
        venue_order_id=data["orderId"],
        symbol=data["symbol"],
        status=STATUS.get(data["orderStatus"], OrderStatus.UNKNOWN),
        side=SIDES[data["side"]],
        qty=data["qty"],
        filled_qty=data.get("cumExecQty") or "0",
        price=_opt(data.get("price")),
        avg_price=_opt(data.get("avgPrice")),
        ts_exch_ns=int(data.get("updatedTime") or 0) * _NS_PER_MS,
    )


def parse_execution(data: dict[str, Any]) -> FillReport:
    """An execution row (REST list, ``execution`` push) as a fill."""
    return FillReport(
        client_order_id=data.get("orderLinkId", ""),
        venue_order_id=data["orderId"],
        trade_id=data["execId"],
        symbol=data["symbol"],
        side=SIDES[data["side"]],
        qty=data["execQty"],
        price=data["execPrice"],
        fee=data.get("execFee") or "0",
        fee_asset=data.get("feeCurrency", ""),
        liquidity=Liquidity.MAKER if data.get("isMaker") else Liquidity.TAKER,
        ts_exch_ns=int(data.get("execTime") or 0) * _NS_PER_MS,
    )


class BybitOrderEntry(RestOrderEntry):
    """Bybit v5 linear order entry for one account (REST; see the module docstring)."""

    venue = VenueId.BYBIT
    venue_name = "bybit"
    time_path = TIME_PATH
    rate_window_s = 1.0
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
        account_type: str = "UNIFIED",
        transport: Transport = "ws",
        ws_trade_url: str | None = None,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or REST_URLS[environment],
            symbols=symbols,
            timeout_s=timeout_s,
            on_usage=on_usage,
            usage_parser=bybit_usage,
        )
        self.environment = environment
        self.signer = BybitSigner(credentials, recv_window_ms)
        self.account_type = account_type
        self.transport = transport
        self.ws = WsOrderChannel(
            self.http,
            ws_trade_url or WS_TRADE_URLS[environment],
            venue=self.venue_name,
            id_of=lambda reply: reply.get("reqId"),
            handshake=self._ws_login,
            ping_frame=WS_PING,
            timeout_s=timeout_s,
        )
        if transport == "ws":
            self.capabilities = replace(self.capabilities, ws_order_entry=True)
        self._request_ids = itertools.count(1)

    # -- building ---------------------------------------------------------------------------

    def post(self, path: str, body: bytes) -> WireRequest:
        """A signed POST of ``body``."""
        headers = self.signer.headers(self.clock.now_ms(), body)
        return WireRequest("POST", self.base_url + path, headers, body)

    def get(self, path: str, query: str) -> WireRequest:
        """A signed GET of ``path?query``."""
        headers = self.signer.headers(self.clock.now_ms(), query.encode())
        return WireRequest("GET", f"{self.base_url}{path}?{query}", headers)

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.post(CREATE_PATH, order_body(req))

    def build_ws(self, op: str, body: bytes) -> tuple[str, str]:
        """(request id, frame) of a WebSocket trade request (the connection is authenticated;
        the frame carries the timestamp and receive window the venue checks)."""
        rid = f"r{next(self._request_ids)}"
        header = (
            f'{{"X-BAPI-TIMESTAMP":"{self.clock.now_ms()}",'
            f'"X-BAPI-RECV-WINDOW":"{self.signer.recv_window}"}}'
        )
        return rid, f'{{"reqId":"{rid}","header":{header},"op":"{op}","args":[{body.decode()}]}}'

    def build_ws_submit(self, req: OrderRequest) -> tuple[str, str]:
        """The WebSocket trade frame of a new order (``order.create``)."""
        return self.build_ws("order.create", order_body(req))

    async def _ws_login(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Authenticate the trade connection; a refusal resyncs the clock and tries once more
        (the login carries an expiry in venue time, so a drifted clock is the usual cause)."""
        for attempt in range(2):
            auth = self.signer.ws_auth(self.clock.now_ms() + WS_AUTH_VALID_MS)
            await ws.send_str(orjson.dumps(auth).decode())
            async with asyncio.timeout(WS_HANDSHAKE_TIMEOUT_S):
                msg = await ws.receive()
            ack = orjson.loads(msg.data) if msg.type is aiohttp.WSMsgType.TEXT else {}
            if ack.get("retCode") == 0:
                return
            if attempt == 0:
                await self.clock.resync()
        raise FatalError(f"bybit: trade WebSocket login refused: {ack.get('retMsg')}")

    async def _ws_call(self, request: tuple[str, str], on_write: WriteHook | None) -> Any:
        if not self.ws.connected:
            await self.ws.connect()
        reply = await self.ws.request(request[0], request[1], on_write)
        header = reply.get("header") or {}
        if self._on_usage is not None and header:
            usage = bybit_usage(header)
            if usage:
                self._on_usage(usage)
        code = reply.get("retCode")
        if code == 0:
            return {"result": reply.get("data") or {}}
        err = order_error(code if code is not None else "", str(reply.get("retMsg", "")))
        if isinstance(err, RateLimitedError):
            reset = str(header.get("X-Bapi-Limit-Reset-Timestamp", ""))
            err.retry_after_s = (
                max(0, int(reset) - self.clock.now_ms()) / _MS_PER_S
                if reset.isdigit()
                else self.rate_window_s
            )
        if isinstance(err, OrderRejectedError) and err.reason is RejectReason.TIMESTAMP:
            await self.clock.resync()
        raise err

    async def _order_call(self, op: str, path: str, body: bytes, on_write: WriteHook | None) -> Any:
        """An order request over the configured transport (WebSocket trade or REST)."""
        if self.transport == "ws":
            return await self._ws_call(self.build_ws(op, body), on_write)
        return await self._call(self.post(path, body), state_changing=True, on_write=on_write)

    # -- replies ----------------------------------------------------------------------------

    def _server_ms(self, payload: Any) -> int:
        nano = payload.get("result", {}).get("timeNano")
        return int(nano) // _NS_PER_MS if nano else int(payload["time"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        code = payload.get("retCode") if isinstance(payload, dict) else None
        if code == 0:
            return None
        if code is None:
            return OrderRejectedError(
                RejectReason.OTHER, f"HTTP {reply.status}", "bybit: unexpected reply"
            )
        err = order_error(code, str(payload.get("retMsg", "")))
        if isinstance(err, RateLimitedError):
            reset = reply.headers.get("X-Bapi-Limit-Reset-Timestamp")
            if reset is not None and reset.isdigit():
                err.retry_after_s = max(0, int(reset) - self.clock.now_ms()) / _MS_PER_S
        return err

    def _ack(self, payload: Any, status: OrderStatus, symbol: str, **fields: Any) -> OrderReport:
        result = payload.get("result") or {}
        return OrderReport(
            client_order_id=result.get("orderLinkId") or fields.pop("client_order_id"),
            venue_order_id=result.get("orderId", ""),
            symbol=symbol,
            status=status,
            **{k: v for k, v in fields.items() if k != "client_order_id"},
        )

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; Bybit acknowledges it (PENDING_NEW), the state follows."""
        payload = await self._order_call("order.create", CREATE_PATH, order_body(req), on_write)
        return self._ack(
            payload,
            OrderStatus.PENDING_NEW,
            req.symbol,
            client_order_id=req.client_order_id,
            side=req.side,
            qty=req.qty,
            filled_qty="0",
            price=req.price,
        )

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id (acknowledged: PENDING_CANCEL)."""
        body = orjson.dumps(
            {"category": CATEGORY, "symbol": symbol, "orderLinkId": client_order_id}
        )
        payload = await self._order_call("order.cancel", CANCEL_PATH, body, on_write)
        return self._ack(
            payload,
            OrderStatus.PENDING_CANCEL,
            symbol,
            client_order_id=client_order_id,
            side=Side.NONE,
            qty="0",
            filled_qty="0",
        )

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order of ``symbol``."""
        body = orjson.dumps({"category": CATEGORY, "symbol": symbol})
        await self._call(self.post(CANCEL_ALL_PATH, body), state_changing=True)

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Change size and/or price in place (acknowledged)."""
        body: dict[str, Any] = {
            "category": CATEGORY,
            "symbol": req.symbol,
            "orderLinkId": req.client_order_id,
        }
        if req.qty is not None:
            body["qty"] = check_decimal("qty", req.qty)
        if req.price is not None:
            body["price"] = check_decimal("price", req.price)
        payload = await self._order_call("order.amend", AMEND_PATH, orjson.dumps(body), on_write)
        return self._ack(
            payload,
            OrderStatus.PENDING_NEW,
            req.symbol,
            client_order_id=req.client_order_id,
            side=Side.NONE,
            qty=req.qty or "0",
            filled_qty="0",
            price=req.price,
        )

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if Bybit does not know the id."""
        query = f"category={CATEGORY}&symbol={symbol}&orderLinkId={client_order_id}"
        payload = await self._call(self.get(REALTIME_PATH, query), state_changing=False)
        rows = payload["result"]["list"]
        return parse_order(rows[0]) if rows else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders of one symbol, or of every USDT-settled linear symbol."""
        query = f"category={CATEGORY}&" + (f"symbol={symbol}" if symbol else "settleCoin=USDT")
        payload = await self._call(
            self.get(REALTIME_PATH, query + "&openOnly=0"), state_changing=False
        )
        return [parse_order(o) for o in payload["result"]["list"]]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our executions in ``symbol`` since ``since_ns`` (wall clock, ns)."""
        query = f"category={CATEGORY}&symbol={symbol}&startTime={since_ns // _NS_PER_MS}"
        payload = await self._call(self.get(EXECUTIONS_PATH, query), state_changing=False)
        return [
            parse_execution(r)
            for r in payload["result"]["list"]
            if r.get("execType", "Trade") == "Trade"
        ]

    async def position(self, symbol: str) -> PositionReport:
        """Net position of ``symbol`` (signed)."""
        query = f"category={CATEGORY}&symbol={symbol}"
        payload = await self._call(self.get(POSITION_PATH, query), state_changing=False)
        for row in payload["result"]["list"]:
            size = row.get("size") or "0"
            if _opt(size) is None:
                continue
            signed = size if row.get("side") == "Buy" else "-" + size
            return PositionReport(symbol, signed, _opt(row.get("avgPrice")))
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Wallet balance per coin of the trading account."""
        query = f"accountType={self.account_type}"
        payload = await self._call(self.get(WALLET_PATH, query), state_changing=False)
        out: list[BalanceReport] = []
        for account in payload["result"]["list"]:
            for coin in account.get("coin", []):
                available = coin.get("availableToWithdraw") or coin.get("walletBalance", "0")
                out.append(BalanceReport(coin["coin"], coin.get("walletBalance", "0"), available))
        return out

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Set the DCP window (3-300 s); ``NotSupportedError`` if the account has no DCP."""
        window = round(timeout_s)
        if not DCP_MIN_S <= window <= DCP_MAX_S:
            raise ValueError(
                f"bybit: DCP window must be {DCP_MIN_S}-{DCP_MAX_S} s, got {timeout_s}"
            )
        body = orjson.dumps({"product": "DERIVATIVES", "timeWindow": window})
        try:
            await self._call(self.post(DCP_PATH, body), state_changing=True)
        except OrderRejectedError as e:
            if e.reason in (RejectReason.AUTH, RejectReason.OTHER):
                raise NotSupportedError(f"bybit: DCP is not enabled for this account ({e})") from e
            raise

    async def close(self) -> None:
        """Close the trade WebSocket and the HTTP session."""
        await self.ws.close()
        await super().close()
