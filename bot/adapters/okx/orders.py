"""OKX v5 (SWAP) signed order entry over REST (``OrderEntry``), PROTOCOLS.md section 3.

Bodies are compact JSON signed byte for byte. Place, cancel and amend answer per order with
``sCode``/``sMsg`` (``code`` "1" when all failed): a non-zero ``sCode`` is the refusal. Those
replies are acknowledgements (PENDING_NEW / PENDING_CANCEL); the state follows on the ``orders``
channel. OKX has no cancel-all for SWAP, so ``cancel_all`` lists pending orders and cancels them
in batches of 20. ``tdMode`` is cross by default, net position mode. The dead-man switch is
``cancel-all-after`` (10-120 s, 0 disarms). Fees: OKX reports charges as negative numbers; the
reports carry fee paid (positive), so the sign is flipped.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from bot.adapters.errors import AdapterError
from bot.adapters.okx.errors import order_error
from bot.adapters.okx.signing import OkxSigner
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
from bot.adapters.rest.usage import no_usage
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

REST_URL = "https://www.okx.com"
INST_TYPE = "SWAP"
ORDER_PATH = "/api/v5/trade/order"
CANCEL_PATH = "/api/v5/trade/cancel-order"
CANCEL_BATCH_PATH = "/api/v5/trade/cancel-batch-orders"
AMEND_PATH = "/api/v5/trade/amend-order"
PENDING_PATH = "/api/v5/trade/orders-pending"
FILLS_PATH = "/api/v5/trade/fills"
POSITIONS_PATH = "/api/v5/account/positions"
BALANCE_PATH = "/api/v5/account/balance"
CANCEL_AFTER_PATH = "/api/v5/trade/cancel-all-after"
TIME_PATH = "/api/v5/public/time"
CANCEL_BATCH_MAX = 20
TD_MODES = ("cross", "isolated")
CANCEL_AFTER_MIN_S, CANCEL_AFTER_MAX_S = 10, 120
CLIENT_ID_RE = re.compile(r"[A-Za-z0-9]{1,32}", re.ASCII)
MAX_CLIENT_ID_LEN = 32
_NS_PER_MS = 1_000_000

STATUS: dict[str, OrderStatus] = {
    "live": OrderStatus.OPEN,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "mmp_canceled": OrderStatus.CANCELLED,
}
SIDES = {"buy": Side.BUY, "sell": Side.SELL}


def negate(value: str) -> str:
    """Flip the sign of a decimal string exactly ("-0.02" -> "0.02", "0" stays "0")."""
    if not value or value.strip("0.-") == "":
        return "0"
    return value[1:] if value.startswith("-") else "-" + value


def order_body(req: OrderRequest, td_mode: str = "cross") -> bytes:
    """The JSON body of a new order (exact strings; compact, as signed; checked values in an
    f-string, several times cheaper than dict + dumps)."""
    cid = check_client_id(req.client_order_id, CLIENT_ID_RE, "okx")
    symbol = check_symbol(req.symbol)
    side = "buy" if req.side == Side.BUY else "sell"
    qty = check_decimal("qty", req.qty)
    head = (
        f'{{"instId":"{symbol}","tdMode":"{td_mode}","side":"{side}","sz":"{qty}",'
        f'"clOrdId":"{cid}",'
    )
    flags = int(req.flags)
    if flags & F_MARKET:
        tail = '"ordType":"market"'
    else:
        price = check_decimal("price", req.price)
        kind = "post_only" if flags & F_POST_ONLY else "ioc" if flags & F_IOC else "limit"
        tail = f'"ordType":"{kind}","px":"{price}"'
    if flags & F_REDUCE_ONLY:
        tail += ',"reduceOnly":true'
    return f"{head}{tail}}}".encode()


def _opt(value: str | None) -> str | None:
    return None if not value or value.strip("0.") == "" else value


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order object (query, pending list, ``orders`` push) as a report."""
    return OrderReport(
        client_order_id=data.get("clOrdId", ""),
        venue_order_id=data["ordId"],
        symbol=data["instId"],
        status=STATUS.get(data["state"], OrderStatus.UNKNOWN),
        side=SIDES[data["side"]],
        qty=data["sz"],
        filled_qty=data.get("accFillSz") or "0",
        price=_opt(data.get("px")),
        avg_price=_opt(data.get("avgPx")),
        ts_exch_ns=int(data.get("uTime") or 0) * _NS_PER_MS,
    )


def parse_fill(data: dict[str, Any]) -> FillReport:
    """A ``/trade/fills`` row as a fill."""
    return FillReport(
        client_order_id=data.get("clOrdId", ""),
        venue_order_id=data["ordId"],
        trade_id=data["tradeId"],
        symbol=data["instId"],
        side=SIDES[data["side"]],
        qty=data["fillSz"],
        price=data["fillPx"],
        fee=negate(data.get("fee", "0")),
        fee_asset=data.get("feeCcy", ""),
        liquidity=Liquidity.MAKER if data.get("execType") == "M" else Liquidity.TAKER,
        ts_exch_ns=int(data.get("ts") or data.get("fillTime") or 0) * _NS_PER_MS,
    )


class OkxOrderEntry(RestOrderEntry):
    """OKX v5 SWAP order entry for one account (REST; see the module docstring)."""

    venue = VenueId.OKX
    venue_name = "okx"
    time_path = TIME_PATH
    rate_window_s = 2.0
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
        timeout_s: float = DEFAULT_TIMEOUT_S,
        on_usage: UsageHook | None = None,
        td_mode: str = "cross",
    ) -> None:
        super().__init__(
            credentials,
            base_url=base_url or REST_URL,
            symbols=symbols,
            timeout_s=timeout_s,
            on_usage=on_usage,
            usage_parser=no_usage,
        )
        self.environment = environment
        self.signer = OkxSigner(credentials, demo=environment == "testnet")
        if td_mode not in TD_MODES:
            raise ValueError(f"okx: td_mode must be one of {TD_MODES}, got {td_mode!r}")
        self.td_mode = td_mode

    # -- building ---------------------------------------------------------------------------

    def post(self, path: str, body: bytes) -> WireRequest:
        """A signed POST of ``body``."""
        headers = self.signer.headers(self.clock.now_ms(), "POST", path, body)
        return WireRequest("POST", self.base_url + path, headers, body)

    def get(self, path: str, query: str = "") -> WireRequest:
        """A signed GET of ``path?query``."""
        full = f"{path}?{query}" if query else path
        return WireRequest(
            "GET", self.base_url + full, self.signer.headers(self.clock.now_ms(), "GET", full)
        )

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.post(ORDER_PATH, order_body(req, self.td_mode))

    # -- replies ----------------------------------------------------------------------------

    def _server_ms(self, payload: Any) -> int:
        return int(payload["data"][0]["ts"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        if not isinstance(payload, dict) or "code" not in payload:
            return OrderRejectedError(
                RejectReason.OTHER, f"HTTP {reply.status}", "okx: unexpected reply"
            )
        rows = payload.get("data") or []
        if payload["code"] == "0" and not any(
            r.get("sCode", "0") != "0" for r in rows if isinstance(r, dict)
        ):
            return None
        for row in rows:
            if isinstance(row, dict) and row.get("sCode", "0") != "0":
                return order_error(row["sCode"], row.get("sMsg", ""))
        return order_error(payload["code"], str(payload.get("msg", "")))

    @staticmethod
    def _ack(
        payload: Any, status: OrderStatus, symbol: str, client_order_id: str, **fields: Any
    ) -> OrderReport:
        row = payload["data"][0]
        return OrderReport(
            client_order_id=row.get("clOrdId") or client_order_id,
            venue_order_id=row.get("ordId", ""),
            symbol=symbol,
            status=status,
            ts_exch_ns=int(row.get("ts") or 0) * _NS_PER_MS,
            **fields,
        )

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; OKX acknowledges it (PENDING_NEW), the state follows."""
        signed = self.build_submit(req)
        payload = await self._call(signed, state_changing=True, on_write=on_write)
        return self._ack(
            payload,
            OrderStatus.PENDING_NEW,
            req.symbol,
            req.client_order_id,
            side=req.side,
            qty=req.qty,
            filled_qty="0",
            price=req.price,
        )

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel by client order id (acknowledged: PENDING_CANCEL)."""
        body = orjson.dumps({"instId": symbol, "clOrdId": client_order_id})
        payload = await self._call(
            self.post(CANCEL_PATH, body), state_changing=True, on_write=on_write
        )
        return self._ack(
            payload,
            OrderStatus.PENDING_CANCEL,
            symbol,
            client_order_id,
            side=Side.NONE,
            qty="0",
            filled_qty="0",
        )

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every pending order of ``symbol`` (listed, then cancelled 20 at a time)."""
        pending = await self.open_orders(symbol)
        for start in range(0, len(pending), CANCEL_BATCH_MAX):
            batch = [
                {"instId": symbol, "ordId": o.venue_order_id}
                for o in pending[start : start + CANCEL_BATCH_MAX]
            ]
            try:
                await self._call(
                    self.post(CANCEL_BATCH_PATH, orjson.dumps(batch)), state_changing=True
                )
            except OrderRejectedError as e:
                if e.reason is not RejectReason.UNKNOWN_ORDER:  # filled meanwhile: fine
                    raise

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Change size and/or price in place (acknowledged)."""
        body: dict[str, Any] = {"instId": req.symbol, "clOrdId": req.client_order_id}
        if req.qty is not None:
            body["newSz"] = check_decimal("qty", req.qty)
        if req.price is not None:
            body["newPx"] = check_decimal("price", req.price)
        signed = self.post(AMEND_PATH, orjson.dumps(body))
        payload = await self._call(signed, state_changing=True, on_write=on_write)
        return self._ack(
            payload,
            OrderStatus.PENDING_NEW,
            req.symbol,
            req.client_order_id,
            side=Side.NONE,
            qty=req.qty or "0",
            filled_qty="0",
            price=req.price,
        )

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if OKX does not know the id."""
        signed = self.get(ORDER_PATH, f"instId={symbol}&clOrdId={client_order_id}")
        try:
            payload = await self._call(signed, state_changing=False)
        except OrderRejectedError as e:
            if e.reason is RejectReason.UNKNOWN_ORDER:
                return None
            raise
        rows = payload.get("data") or []
        return parse_order(rows[0]) if rows else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Pending orders of one instrument, or of every SWAP."""
        query = f"instType={INST_TYPE}" + (f"&instId={symbol}" if symbol else "")
        payload = await self._call(self.get(PENDING_PATH, query), state_changing=False)
        return [parse_order(o) for o in payload["data"]]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our fills in ``symbol`` since ``since_ns`` (last 3 days, OKX's window)."""
        query = f"instType={INST_TYPE}&instId={symbol}&begin={since_ns // _NS_PER_MS}"
        payload = await self._call(self.get(FILLS_PATH, query), state_changing=False)
        return [parse_fill(r) for r in payload["data"]]

    async def position(self, symbol: str) -> PositionReport:
        """Net position of ``symbol`` (contracts, signed)."""
        payload = await self._call(
            self.get(POSITIONS_PATH, f"instId={symbol}"), state_changing=False
        )
        for row in payload["data"]:
            if row.get("instId") == symbol and _opt(row.get("pos", "0").lstrip("-")) is not None:
                return PositionReport(symbol, row["pos"], _opt(row.get("avgPx")))
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Equity and available balance per currency."""
        payload = await self._call(self.get(BALANCE_PATH), state_changing=False)
        return [
            BalanceReport(d["ccy"], d.get("eq") or d.get("cashBal", "0"), d.get("availBal") or "0")
            for account in payload["data"]
            for d in account.get("details", [])
        ]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh ``cancel-all-after`` (10-120 s; 0 disarms)."""
        seconds = round(timeout_s)
        if seconds != 0 and not CANCEL_AFTER_MIN_S <= seconds <= CANCEL_AFTER_MAX_S:
            raise ValueError(f"okx: cancel-all-after takes 0 or 10-120 s, got {timeout_s}")
        body = orjson.dumps({"timeOut": str(seconds)})
        await self._call(self.post(CANCEL_AFTER_PATH, body), state_changing=True)
