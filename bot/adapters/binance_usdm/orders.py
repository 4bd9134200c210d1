"""Binance USD-M signed order entry over REST (``OrderEntry``), PROTOCOLS.md section 1.

Every parameter travels in the query string (the signed string is the query, see
``signing.py``). New orders ask for ``newOrderRespType=RESULT`` so the reply states the order's
state (a marketable IOC comes back FILLED or EXPIRED at once). One-way position mode
(``positionSide=BOTH``) is assumed. The dead-man switch is ``countdownCancelAll``, per symbol, so
it is armed for every configured symbol.
"""

from __future__ import annotations

import re
from typing import Any

from bot.adapters.binance_usdm.errors import order_error
from bot.adapters.binance_usdm.signing import DEFAULT_RECV_WINDOW_MS, BinanceSigner
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
from bot.adapters.rest.usage import binance_usage, retry_after_s
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
    RejectReason,
    UsageHook,
    WriteHook,
)
from bot.core.dtypes import Liquidity, OrderStatus, Side, VenueId

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

    # -- building ---------------------------------------------------------------------------

    def signed(self, method: str, path: str, params: str = "") -> WireRequest:
        """A signed request for ``path`` with ``params`` (timestamped with the venue's clock)."""
        query = self.signer.sign_query(params, self.clock.now_ms())
        return WireRequest(method, f"{self.base_url}{path}?{query}", self.signer.headers)

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.signed("POST", ORDER_PATH, order_params(req))

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
        signed = self.build_submit(req)
        return parse_order(await self._call(signed, state_changing=True, on_write=on_write))

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id; the reply is the cancelled order."""
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
