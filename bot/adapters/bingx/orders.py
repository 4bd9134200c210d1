"""BingX perpetual swap (v2) signed order entry over REST (``OrderEntry``), PROTOCOLS.md 5.

Every parameter travels in the query string (signed as sent). One-way mode
(``positionSide=BOTH``). The new-order reply names the order but not its state (PENDING_NEW);
cancel replies carry the order. Order ids exceed 2**53 and are kept as exact integers. The
dead-man switch is ``cancelAllAfter`` (``ACTIVATE`` 10-120 s, ``CLOSE`` disarms). Amend is not
offered: BingX's edit endpoint changes only the size, so the router cancels and resends. The
fill list has no trade id, so fills from it are keyed by order id, time and size; BingX reports
charged fees as negative numbers, reports carry fee paid.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from bot.adapters.bingx.errors import order_error
from bot.adapters.bingx.signing import DEFAULT_RECV_WINDOW_MS, BingxSigner
from bot.adapters.errors import AdapterError
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
from bot.adapters.rest.usage import bingx_usage
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
    RejectReason,
    UsageHook,
    WriteHook,
)
from bot.core.dtypes import Liquidity, OrderStatus, Side, VenueId

REST_URLS: dict[str, str] = {
    "mainnet": "https://open-api.bingx.com",
    "testnet": "https://open-api-vst.bingx.com",
}
ORDER_PATH = "/openApi/swap/v2/trade/order"
ALL_OPEN_PATH = "/openApi/swap/v2/trade/allOpenOrders"
OPEN_ORDERS_PATH = "/openApi/swap/v2/trade/openOrders"
FILLS_PATH = "/openApi/swap/v2/trade/allFillOrders"
POSITIONS_PATH = "/openApi/swap/v2/user/positions"
BALANCE_PATH = "/openApi/swap/v2/user/balance"
CANCEL_AFTER_PATH = "/openApi/swap/v2/trade/cancelAllAfter"
TIME_PATH = "/openApi/swap/v2/server/time"
LISTEN_KEY_PATH = "/openApi/user/auth/userDataStream"
CANCEL_AFTER_MIN_S, CANCEL_AFTER_MAX_S = 10, 120
CLIENT_ID_RE = re.compile(r"[0-9a-z_-]{1,40}", re.ASCII)
"""BingX lower-cases client ids, so only lower-case ids round-trip."""
MAX_CLIENT_ID_LEN = 40
_NS_PER_MS = 1_000_000

STATUS: dict[str, OrderStatus] = {
    "NEW": OrderStatus.OPEN,
    "PENDING": OrderStatus.OPEN,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.REJECTED,
}
SIDES = {"BUY": Side.BUY, "SELL": Side.SELL}
_TERMINAL = (OrderStatus.CANCELLED, OrderStatus.FILLED, OrderStatus.EXPIRED, OrderStatus.REJECTED)


def negate(value: str) -> str:
    """Flip the sign of a decimal string exactly ("-0.0053" -> "0.0053", "0" stays "0")."""
    if not value or value.strip("0.-") == "":
        return "0"
    return value[1:] if value.startswith("-") else "-" + value


def _opt(value: str | None) -> str | None:
    return None if not value or value.strip("0.") == "" else value


def order_params(req: OrderRequest) -> str:
    """The unsigned query of a new order (exact strings)."""
    check_client_id(req.client_order_id, CLIENT_ID_RE, "bingx")
    side = "BUY" if req.side == Side.BUY else "SELL"
    flags = int(req.flags)
    qty = check_decimal("qty", req.qty)
    symbol = check_symbol(req.symbol)
    if flags & F_MARKET:
        query = f"symbol={symbol}&side={side}&positionSide=BOTH&type=MARKET&quantity={qty}"
    else:
        price = check_decimal("price", req.price)
        post_only = flags & F_POST_ONLY
        tif = "PostOnly" if post_only else "IOC" if flags & F_IOC else "GTC"
        query = (
            f"symbol={symbol}&side={side}&positionSide=BOTH&type=LIMIT"
            f"&quantity={qty}&price={price}&timeInForce={tif}"
        )
    if flags & F_REDUCE_ONLY:
        query += "&reduceOnly=true"
    return f"{query}&clientOrderID={req.client_order_id}"


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order object (query, open orders, cancel reply) as a report."""
    status = STATUS.get(data.get("status", ""), OrderStatus.UNKNOWN)
    return OrderReport(
        client_order_id=data.get("clientOrderId") or data.get("clientOrderID") or "",
        venue_order_id=str(data["orderId"]),
        symbol=data["symbol"],
        status=status,
        side=SIDES[data["side"]],
        qty=data.get("origQty") or data.get("quantity") or "0",
        filled_qty=data.get("executedQty") or "0",
        price=_opt(data.get("price")),
        avg_price=_opt(data.get("avgPrice")),
        ts_exch_ns=int(data.get("updateTime") or data.get("time") or 0) * _NS_PER_MS,
    )


def parse_fill(data: dict[str, Any], symbol: str) -> FillReport:
    """A ``allFillOrders`` row as a fill (keyed by order id, fill time and size)."""
    filled = data.get("filledTm", "")
    ts_ns = int(datetime.fromisoformat(filled).timestamp()) * 1_000_000_000 if filled else 0
    return FillReport(
        client_order_id=data.get("clientOrderId", ""),
        venue_order_id=str(data["orderId"]),
        trade_id=str(data.get("tradeId") or f"{data['orderId']}-{filled}-{data['volume']}"),
        symbol=data.get("symbol", symbol),
        side=SIDES.get(data.get("side", ""), Side.NONE),
        qty=data["volume"],
        price=data["price"],
        fee=negate(data.get("commission", "0")),
        fee_asset=data.get("currency", ""),
        liquidity=Liquidity.MAKER if data.get("liquidity") == "MAKER" else Liquidity.TAKER,
        ts_exch_ns=ts_ns,
    )


class BingxOrderEntry(RestOrderEntry):
    """BingX swap order entry for one account (REST; see the module docstring)."""

    venue = VenueId.BINGX
    venue_name = "bingx"
    time_path = TIME_PATH
    rate_window_s = 1.0
    capabilities = Capabilities(
        amend=False,
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
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or REST_URLS[environment],
            symbols=symbols,
            timeout_s=timeout_s,
            on_usage=on_usage,
            usage_parser=bingx_usage,
        )
        self.environment = environment
        self.signer = BingxSigner(credentials, recv_window_ms)

    def signed(self, method: str, path: str, params: str = "") -> WireRequest:
        """A signed request for ``path`` with ``params`` (timestamped with the venue's clock)."""
        query = self.signer.sign_query(params, self.clock.now_ms())
        return WireRequest(method, f"{self.base_url}{path}?{query}", self.signer.headers)

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.signed("POST", ORDER_PATH, order_params(req))

    def _server_ms(self, payload: Any) -> int:
        return int(payload["data"]["serverTime"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        if not isinstance(payload, dict):
            return OrderRejectedError(
                RejectReason.OTHER, f"HTTP {reply.status}", "bingx: unexpected reply"
            )
        code = payload.get("code", 0)
        if (code in (0, "0") and "listenKey" not in payload) or "listenKey" in payload:
            return None
        return order_error(code, str(payload.get("msg", "")))

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; the reply names it (PENDING_NEW), the state follows."""
        signed = self.build_submit(req)
        payload = await self._call(signed, state_changing=True, on_write=on_write)
        order = payload["data"]["order"]
        return OrderReport(
            client_order_id=order.get("clientOrderID") or req.client_order_id,
            venue_order_id=str(order["orderId"]),
            symbol=req.symbol,
            status=OrderStatus.PENDING_NEW,
            side=req.side,
            qty=req.qty,
            filled_qty="0",
            price=req.price,
        )

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id; the reply carries the order (PENDING_CANCEL until final)."""
        params = f"symbol={symbol}&clientOrderID={client_order_id}"
        payload = await self._call(
            self.signed("DELETE", ORDER_PATH, params), state_changing=True, on_write=on_write
        )
        report = parse_order(payload["data"]["order"])
        if report.status not in _TERMINAL:
            report = replace(report, status=OrderStatus.PENDING_CANCEL)
        return report

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order of ``symbol``."""
        await self._call(
            self.signed("DELETE", ALL_OPEN_PATH, f"symbol={symbol}"), state_changing=True
        )

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Not supported (see the module docstring)."""
        raise NotSupportedError("bingx: no price amend; cancel and resend")

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if BingX does not know the id."""
        params = f"symbol={symbol}&clientOrderId={client_order_id}"
        try:
            payload = await self._call(self.signed("GET", ORDER_PATH, params), state_changing=False)
        except OrderRejectedError as e:
            if e.reason is RejectReason.UNKNOWN_ORDER:
                return None
            raise
        order = (payload.get("data") or {}).get("order")
        return parse_order(order) if order else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders of one symbol, or of the whole account."""
        signed = self.signed("GET", OPEN_ORDERS_PATH, f"symbol={symbol}" if symbol else "")
        payload = await self._call(signed, state_changing=False)
        return [parse_order(o) for o in (payload.get("data") or {}).get("orders") or []]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our fills in ``symbol`` since ``since_ns``."""
        start = since_ns // _NS_PER_MS
        params = f"symbol={symbol}&tradingUnit=COIN&startTs={start}&endTs={self.clock.now_ms()}"
        payload = await self._call(self.signed("GET", FILLS_PATH, params), state_changing=False)
        rows = (payload.get("data") or {}).get("fill_orders") or []
        return [parse_fill(r, symbol) for r in rows]

    async def position(self, symbol: str) -> PositionReport:
        """Net position of ``symbol`` (LONG minus SHORT)."""
        payload = await self._call(
            self.signed("GET", POSITIONS_PATH, f"symbol={symbol}"), state_changing=False
        )
        for row in payload.get("data") or []:
            amount = row.get("positionAmt") or "0"
            if row.get("symbol") != symbol or _opt(amount.lstrip("-")) is None:
                continue
            signed = (
                negate(amount)
                if row.get("positionSide") == "SHORT" and not amount.startswith("-")
                else amount
            )
            return PositionReport(symbol, signed, _opt(row.get("avgPrice")))
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Balance and available margin of the swap account."""
        payload = await self._call(self.signed("GET", BALANCE_PATH), state_changing=False)
        b = payload["data"]["balance"]
        rows = b if isinstance(b, list) else [b]
        return [
            BalanceReport(r["asset"], r["balance"], r.get("availableMargin", "0")) for r in rows
        ]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh ``cancelAllAfter`` (10-120 s; 0 disarms with ``type=CLOSE``)."""
        seconds = round(timeout_s)
        if seconds == 0:
            params = "type=CLOSE&timeOut=0"
        elif CANCEL_AFTER_MIN_S <= seconds <= CANCEL_AFTER_MAX_S:
            params = f"type=ACTIVATE&timeOut={seconds}"
        else:
            raise ValueError(f"bingx: cancelAllAfter takes 0 or 10-120 s, got {timeout_s}")
        await self._call(self.signed("POST", CANCEL_AFTER_PATH, params), state_changing=True)

    async def listen_key(self, method: str = "POST", key: str | None = None) -> str:
        """Create (POST) or extend (PUT) the user-stream listen key; return it."""
        url = self.base_url + LISTEN_KEY_PATH + (f"?listenKey={key}" if key else "")
        payload = await self._call(
            WireRequest(method, url, self.signer.headers), state_changing=False
        )
        return str(payload.get("listenKey") or key or "")
