"""BitMEX signed order entry over REST (``OrderEntry``), PROTOCOLS.md section 6.

BitMEX takes and returns prices and sizes as JSON numbers. Outgoing, the exact decimal strings
are written into the JSON as number literals (never through float); incoming, replies are
decoded with numbers kept as their exact text. Replies to new, cancel and amend are the order
itself, so they state it (a post-only order that would cross comes back Canceled). The dead-man
switch is ``cancelAllAfter`` (ms; 0 disarms). Orders cannot be placed over the WebSocket.
Fees (``execComm``) are in the settlement currency's integer units (``XBt``, ``USDt``).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.adapters.bitmex.errors import order_error
from bot.adapters.bitmex.signing import EXPIRES_AFTER_S, BitmexSigner
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
from bot.adapters.rest.usage import bitmex_usage
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
    "mainnet": "https://www.bitmex.com",
    "testnet": "https://testnet.bitmex.com",
}
ORDER_PATH = "/api/v1/order"
ORDER_ALL_PATH = "/api/v1/order/all"
CANCEL_AFTER_PATH = "/api/v1/order/cancelAllAfter"
EXECUTIONS_PATH = "/api/v1/execution/tradeHistory"
POSITION_PATH = "/api/v1/position"
MARGIN_PATH = "/api/v1/user/margin"
TIME_PATH = "/api/v1"
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9_.:/-]{1,36}", re.ASCII)
SYMBOL_RE = re.compile(r"[A-Za-z0-9_.]{1,32}", re.ASCII)
MAX_CLIENT_ID_LEN = 36
_NS_PER_MS = 1_000_000
_MS_PER_S = 1000
LIST_COUNT = 500
HTTP_REDIRECT = 300

STATUS: dict[str, OrderStatus] = {
    "New": OrderStatus.OPEN,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Canceled": OrderStatus.CANCELLED,
    "Rejected": OrderStatus.REJECTED,
    "Expired": OrderStatus.EXPIRED,
    "PendingNew": OrderStatus.PENDING_NEW,
    "PendingCancel": OrderStatus.PENDING_CANCEL,
}
SIDES = {"Buy": Side.BUY, "Sell": Side.SELL}


def decode_exact(body: bytes | str) -> Any:
    """JSON with every number kept as its exact text (``219.0`` -> ``"219.0"``)."""
    return json.loads(body, parse_float=str, parse_int=str)


def iso_ns(text: str | None) -> int:
    """``2020-10-12T18:18:38.282Z`` as ns since the epoch (0 when absent)."""
    if not text:
        return 0
    return (
        int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * _MS_PER_S)
        * _NS_PER_MS
    )


def order_body(req: OrderRequest) -> bytes:
    """The JSON body of a new order; price and size are written as exact number literals."""
    check_client_id(req.client_order_id, CLIENT_ID_RE, "bitmex")
    check_symbol(req.symbol)
    side = "Buy" if req.side == Side.BUY else "Sell"
    qty = check_decimal("qty", req.qty)
    flags = int(req.flags)
    parts = [f'"symbol":"{req.symbol}"', f'"side":"{side}"', f'"orderQty":{qty}']
    inst = []
    if flags & F_MARKET:
        parts.append('"ordType":"Market"')
    else:
        parts.append(f'"price":{check_decimal("price", req.price)}')
        parts.append('"ordType":"Limit"')
        tif = "ImmediateOrCancel" if flags & F_IOC else "GoodTillCancel"
        parts.append(f'"timeInForce":"{tif}"')
        if flags & F_POST_ONLY:
            inst.append("ParticipateDoNotInitiate")
    if flags & F_REDUCE_ONLY:
        inst.append("ReduceOnly")
    if inst:
        parts.append(f'"execInst":"{",".join(inst)}"')
    parts.append(f'"clOrdID":"{req.client_order_id}"')
    return ("{" + ",".join(parts) + "}").encode()


def _opt(value: Any) -> str | None:
    return None if value is None or str(value).strip("0.") == "" else str(value)


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order row (REST reply or merged ``order`` table row) as a report."""
    return OrderReport(
        client_order_id=data.get("clOrdID") or "",
        venue_order_id=data["orderID"],
        symbol=data["symbol"],
        status=STATUS.get(data.get("ordStatus", ""), OrderStatus.UNKNOWN),
        side=SIDES[data["side"]],
        qty=str(data["orderQty"]),
        filled_qty=str(data.get("cumQty") or "0"),
        price=_opt(data.get("price")),
        avg_price=_opt(data.get("avgPx")),
        ts_exch_ns=iso_ns(data.get("timestamp") or data.get("transactTime")),
    )


def parse_execution(data: dict[str, Any]) -> FillReport:
    """A ``Trade`` execution row (REST trade history or ``execution`` table) as a fill."""
    return FillReport(
        client_order_id=data.get("clOrdID") or "",
        venue_order_id=data["orderID"],
        trade_id=data["execID"],
        symbol=data["symbol"],
        side=SIDES[data["side"]],
        qty=str(data["lastQty"]),
        price=str(data["lastPx"]),
        fee=str(data.get("execComm") or "0"),
        fee_asset=data.get("settlCurrency") or "",
        liquidity=(
            Liquidity.MAKER if data.get("lastLiquidityInd") == "AddedLiquidity" else Liquidity.TAKER
        ),
        ts_exch_ns=iso_ns(data.get("transactTime") or data.get("timestamp")),
    )


def _filter(**fields: Any) -> str:
    return quote(json.dumps(fields, separators=(",", ":")), safe="")


class BitmexOrderEntry(RestOrderEntry):
    """BitMEX order entry for one account (REST; see the module docstring)."""

    venue = VenueId.BITMEX
    venue_name = "bitmex"
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
        expires_after_s: int = EXPIRES_AFTER_S,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        on_usage: UsageHook | None = None,
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or REST_URLS[environment],
            symbols=symbols,
            timeout_s=timeout_s,
            on_usage=on_usage,
            usage_parser=bitmex_usage,
        )
        self.environment = environment
        self.signer = BitmexSigner(credentials, expires_after_s)

    # -- building ---------------------------------------------------------------------------

    def signed(self, method: str, path: str, body: bytes = b"") -> WireRequest:
        """A signed request (``path`` with its URL-encoded query, as sent)."""
        now_s = self.clock.now_ms() // _MS_PER_S
        headers = self.signer.headers(now_s, method, path, body)
        return WireRequest(method, self.base_url + path, headers, body)

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.signed("POST", ORDER_PATH, order_body(req))

    # -- replies ----------------------------------------------------------------------------

    def _decode(self, body: bytes) -> Any:
        return decode_exact(body)

    def _server_ms(self, payload: Any) -> int:
        return int(payload["timestamp"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        error = payload.get("error") if isinstance(payload, dict) else None
        if reply.status < 300 and error is None:
            return None
        if isinstance(error, dict):
            return order_error(str(error.get("name", "")), str(error.get("message", "")))
        return OrderRejectedError(
            RejectReason.OTHER, f"HTTP {reply.status}", "bitmex: unexpected reply"
        )

    @staticmethod
    def _one(payload: Any) -> dict[str, Any]:
        row = payload[0] if isinstance(payload, list) else payload
        if row.get("error"):  # cancel of a finished order: the row says why
            raise order_error("ValidationError", str(row["error"]))
        return row

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; the reply is the order's state."""
        signed = self.build_submit(req)
        return parse_order(
            self._one(await self._call(signed, state_changing=True, on_write=on_write))
        )

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id; the reply is the order."""
        body = (
            '{"clOrdID":"' + check_client_id(client_order_id, CLIENT_ID_RE, "bitmex") + '"}'
        ).encode()
        signed = self.signed("DELETE", ORDER_PATH, body)
        return parse_order(
            self._one(await self._call(signed, state_changing=True, on_write=on_write))
        )

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order of ``symbol``."""
        body = ('{"symbol":"' + check_client_id(symbol, SYMBOL_RE, "bitmex") + '"}').encode()
        await self._call(self.signed("DELETE", ORDER_ALL_PATH, body), state_changing=True)

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Change size and/or price in place, keeping the client order id."""
        parts = [
            '"origClOrdID":"' + check_client_id(req.client_order_id, CLIENT_ID_RE, "bitmex") + '"'
        ]
        if req.qty is not None:
            parts.append(f'"orderQty":{check_decimal("qty", req.qty)}')
        if req.price is not None:
            parts.append(f'"price":{check_decimal("price", req.price)}')
        signed = self.signed("PUT", ORDER_PATH, ("{" + ",".join(parts) + "}").encode())
        return parse_order(
            self._one(await self._call(signed, state_changing=True, on_write=on_write))
        )

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if BitMEX does not know the id."""
        check_client_id(client_order_id, CLIENT_ID_RE, "bitmex")
        flt = _filter(clOrdID=client_order_id)
        path = f"{ORDER_PATH}?symbol={symbol}&filter={flt}&reverse=true&count=1"
        rows = await self._call(self.signed("GET", path), state_changing=False)
        return parse_order(rows[0]) if rows else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Open orders of one symbol, or of the whole account."""
        path = f"{ORDER_PATH}?filter={_filter(open=True)}&count={LIST_COUNT}"
        if symbol:
            path += f"&symbol={symbol}"
        return [
            parse_order(r) for r in await self._call(self.signed("GET", path), state_changing=False)
        ]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our trades in ``symbol`` since ``since_ns``."""
        start = datetime.fromtimestamp(since_ns // 1_000_000_000, UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        path = (
            f"{EXECUTIONS_PATH}?symbol={symbol}&startTime={quote(start, safe='')}"
            f"&count={LIST_COUNT}"
        )
        rows = await self._call(self.signed("GET", path), state_changing=False)
        return [parse_execution(r) for r in rows if r.get("execType") == "Trade"]

    async def position(self, symbol: str) -> PositionReport:
        """Net position of ``symbol`` (contracts, signed)."""
        path = f"{POSITION_PATH}?filter={_filter(symbol=symbol)}"
        for row in await self._call(self.signed("GET", path), state_changing=False):
            if row.get("symbol") == symbol:
                return PositionReport(
                    symbol, str(row.get("currentQty") or "0"), _opt(row.get("avgEntryPrice"))
                )
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Wallet balance and available margin per currency (integer units, e.g. XBt)."""
        rows = await self._call(
            self.signed("GET", f"{MARGIN_PATH}?currency=all"), state_changing=False
        )
        rows = rows if isinstance(rows, list) else [rows]
        return [
            BalanceReport(
                r["currency"],
                str(r.get("walletBalance") or "0"),
                str(r.get("availableMargin") or "0"),
            )
            for r in rows
        ]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh ``cancelAllAfter`` (0 disarms)."""
        body = f'{{"timeout":{round(timeout_s * _MS_PER_S)}}}'.encode()
        await self._call(self.signed("POST", CANCEL_AFTER_PATH, body), state_changing=True)
