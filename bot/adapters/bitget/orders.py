"""Bitget v2 (USDT-FUTURES) signed order entry over REST (``OrderEntry``), PROTOCOLS.md 4.

Bodies are compact JSON signed byte for byte; one-way position mode, crossed margin in USDT.
Place and cancel answer with ids only (PENDING_NEW / PENDING_CANCEL); the state follows on the
``orders`` channel. ``cancel_all`` lists pending orders and cancels them by id in batches (the
symbol-less cancel-all would touch other symbols). Not supported, raising ``NotSupportedError``:
amend (Bitget's modify replaces the order under a new client id: the router cancels and sends
anew) and the dead-man switch (none for classic v2 accounts; UTA's countdown-cancel-all is a
different API). Fees are reported negative when charged; reports carry fee paid.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from bot.adapters.bitget.errors import order_error
from bot.adapters.bitget.signing import BitgetSigner
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
from bot.adapters.rest.usage import no_usage
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

REST_URL = "https://api.bitget.com"
PRODUCT_TYPES: dict[str, str] = {"mainnet": "USDT-FUTURES", "testnet": "SUSDT-FUTURES"}
MARGIN_COINS: dict[str, str] = {"mainnet": "USDT", "testnet": "SUSDT"}
PLACE_PATH = "/api/v2/mix/order/place-order"
CANCEL_PATH = "/api/v2/mix/order/cancel-order"
BATCH_CANCEL_PATH = "/api/v2/mix/order/batch-cancel-orders"
DETAIL_PATH = "/api/v2/mix/order/detail"
PENDING_PATH = "/api/v2/mix/order/orders-pending"
FILLS_PATH = "/api/v2/mix/order/fills"
POSITION_PATH = "/api/v2/mix/position/single-position"
ACCOUNTS_PATH = "/api/v2/mix/account/accounts"
TIME_PATH = "/api/v2/public/time"
SUCCESS = "00000"
BATCH_MAX = 50
CLIENT_ID_RE = re.compile(r"[0-9A-Za-z_#+-]{1,49}", re.ASCII)
MAX_CLIENT_ID_LEN = 49
_NS_PER_MS = 1_000_000

STATUS: dict[str, OrderStatus] = {
    "live": OrderStatus.OPEN,
    "new": OrderStatus.OPEN,
    "init": OrderStatus.PENDING_NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "cancelled": OrderStatus.CANCELLED,
}
SIDES = {"buy": Side.BUY, "sell": Side.SELL}


def negate(value: str) -> str:
    """Flip the sign of a decimal string exactly ("-0.16" -> "0.16", "0" stays "0")."""
    if not value or value.strip("0.-") == "":
        return "0"
    return value[1:] if value.startswith("-") else "-" + value


def _opt(value: str | None) -> str | None:
    return None if not value or value.strip("0.") == "" else value


def order_body(req: OrderRequest, product_type: str, margin_coin: str) -> bytes:
    """The JSON body of a new order (exact strings; compact, as signed; checked values in an
    f-string, several times cheaper than dict + dumps)."""
    cid = check_client_id(req.client_order_id, CLIENT_ID_RE, "bitget")
    symbol = check_symbol(req.symbol)
    side = "buy" if req.side == Side.BUY else "sell"
    qty = check_decimal("qty", req.qty)
    head = (
        f'{{"symbol":"{symbol}","productType":"{product_type}","marginMode":"crossed",'
        f'"marginCoin":"{margin_coin}","size":"{qty}","side":"{side}","clientOid":"{cid}",'
    )
    flags = int(req.flags)
    if flags & F_MARKET:
        tail = '"orderType":"market"'
    else:
        price = check_decimal("price", req.price)
        force = "post_only" if flags & F_POST_ONLY else "ioc" if flags & F_IOC else "gtc"
        tail = f'"orderType":"limit","price":"{price}","force":"{force}"'
    if flags & F_REDUCE_ONLY:
        tail += ',"reduceOnly":"YES"'
    return f"{head}{tail}}}".encode()


def parse_order(data: dict[str, Any]) -> OrderReport:
    """An order (detail, pending list, ``orders`` push) as a report."""
    return OrderReport(
        client_order_id=data.get("clientOid", ""),
        venue_order_id=str(data["orderId"]),
        symbol=(data.get("symbol") or data.get("instId", "")).upper(),
        status=STATUS.get(data.get("state") or data.get("status", ""), OrderStatus.UNKNOWN),
        side=SIDES[data["side"]],
        qty=data["size"],
        filled_qty=data.get("accBaseVolume") or data.get("baseVolume") or "0",
        price=_opt(data.get("price")),
        avg_price=_opt(data.get("priceAvg")),
        ts_exch_ns=int(data.get("uTime") or 0) * _NS_PER_MS,
    )


def parse_fill(data: dict[str, Any]) -> FillReport:
    """A ``/order/fills`` row as a fill (fee paid = minus Bitget's signed fee)."""
    fees = data.get("feeDetail") or [{}]
    return FillReport(
        client_order_id=data.get("clientOid", ""),
        venue_order_id=str(data["orderId"]),
        trade_id=str(data["tradeId"]),
        symbol=data["symbol"].upper(),
        side=SIDES[data["side"]],
        qty=data["baseVolume"],
        price=data["price"],
        fee=negate(fees[0].get("totalFee") or fees[0].get("fee") or "0"),
        fee_asset=fees[0].get("feeCoin", ""),
        liquidity=Liquidity.MAKER if data.get("tradeScope") in ("maker", "M") else Liquidity.TAKER,
        ts_exch_ns=int(data.get("cTime") or 0) * _NS_PER_MS,
    )


class BitgetOrderEntry(RestOrderEntry):
    """Bitget v2 USDT-FUTURES order entry for one account (REST; see the module docstring)."""

    venue = VenueId.BITGET
    venue_name = "bitget"
    time_path = TIME_PATH
    rate_window_s = 1.0
    capabilities = Capabilities(
        amend=False,
        cancel_all=True,
        dead_man_switch=False,
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
        self.signer = BitgetSigner(credentials, demo=environment == "testnet")
        self.product_type = PRODUCT_TYPES[environment]
        self.margin_coin = MARGIN_COINS[environment]

    # -- building ---------------------------------------------------------------------------

    def post(self, path: str, body: bytes) -> WireRequest:
        """A signed POST of ``body``."""
        headers = self.signer.headers(self.clock.now_ms(), "POST", path, body)
        return WireRequest("POST", self.base_url + path, headers, body)

    def get(self, path: str, query: str) -> WireRequest:
        """A signed GET of ``path?query``."""
        full = f"{path}?{query}"
        return WireRequest(
            "GET", self.base_url + full, self.signer.headers(self.clock.now_ms(), "GET", full)
        )

    def build_submit(self, req: OrderRequest) -> WireRequest:
        """The signed bytes of a new order (what ``submit`` writes; the benchmark times it)."""
        return self.post(PLACE_PATH, order_body(req, self.product_type, self.margin_coin))

    # -- replies ----------------------------------------------------------------------------

    def _server_ms(self, payload: Any) -> int:
        return int(payload["data"]["serverTime"])

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        if not isinstance(payload, dict) or "code" not in payload:
            return OrderRejectedError(
                RejectReason.OTHER, f"HTTP {reply.status}", "bitget: unexpected reply"
            )
        if str(payload["code"]) == SUCCESS:
            return None
        return order_error(payload["code"], str(payload.get("msg", "")))

    # -- OrderEntry -------------------------------------------------------------------------

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; Bitget acknowledges it (PENDING_NEW), the state follows."""
        signed = self.build_submit(req)
        data = (await self._call(signed, state_changing=True, on_write=on_write))["data"]
        return OrderReport(
            client_order_id=data.get("clientOid") or req.client_order_id,
            venue_order_id=str(data.get("orderId", "")),
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
        """Cancel by client order id (acknowledged: PENDING_CANCEL)."""
        body = orjson.dumps(
            {
                "symbol": symbol,
                "productType": self.product_type,
                "marginCoin": self.margin_coin,
                "clientOid": client_order_id,
            }
        )
        signed = self.post(CANCEL_PATH, body)
        data = (await self._call(signed, state_changing=True, on_write=on_write))["data"]
        return OrderReport(
            client_order_id=data.get("clientOid") or client_order_id,
            venue_order_id=str(data.get("orderId", "")),
            symbol=symbol,
            status=OrderStatus.PENDING_CANCEL,
            side=Side.NONE,
            qty="0",
            filled_qty="0",
        )

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every pending order of ``symbol`` by id."""
        pending = await self.open_orders(symbol)
        for start in range(0, len(pending), BATCH_MAX):
            ids = [{"orderId": o.venue_order_id} for o in pending[start : start + BATCH_MAX]]
            body = orjson.dumps(
                {
                    "symbol": symbol,
                    "productType": self.product_type,
                    "marginCoin": self.margin_coin,
                    "orderIdList": ids,
                }
            )
            await self._call(self.post(BATCH_CANCEL_PATH, body), state_changing=True)

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Not supported: Bitget's modify replaces the order under a new client id."""
        raise NotSupportedError("bitget: modify-order replaces the order; cancel and resend")

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """The order's state, or None if Bitget does not know the id."""
        query = f"symbol={symbol}&productType={self.product_type}&clientOid={client_order_id}"
        try:
            payload = await self._call(self.get(DETAIL_PATH, query), state_changing=False)
        except OrderRejectedError as e:
            if e.reason is RejectReason.UNKNOWN_ORDER:
                return None
            raise
        return parse_order(payload["data"]) if payload.get("data") else None

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Pending orders of one symbol, or of every USDT future."""
        query = f"productType={self.product_type}" + (f"&symbol={symbol}" if symbol else "")
        data = (await self._call(self.get(PENDING_PATH, query), state_changing=False))["data"]
        return [parse_order(o) for o in (data or {}).get("entrustedList") or []]

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Our fills in ``symbol`` since ``since_ns``."""
        query = (
            f"productType={self.product_type}&symbol={symbol}&startTime={since_ns // _NS_PER_MS}"
        )
        data = (await self._call(self.get(FILLS_PATH, query), state_changing=False))["data"]
        return [parse_fill(r) for r in (data or {}).get("fillList") or []]

    async def position(self, symbol: str) -> PositionReport:
        """Net position of ``symbol`` (signed; short positions negative)."""
        query = f"symbol={symbol}&productType={self.product_type}&marginCoin={self.margin_coin}"
        rows = (await self._call(self.get(POSITION_PATH, query), state_changing=False))["data"]
        for row in rows or []:
            total = row.get("total") or "0"
            if _opt(total) is None:
                continue
            signed = "-" + total if row.get("holdSide") == "short" else total
            return PositionReport(symbol, signed, _opt(row.get("openPriceAvg")))
        return PositionReport(symbol, "0")

    async def balances(self) -> list[BalanceReport]:
        """Equity and available balance per margin coin."""
        query = f"productType={self.product_type}"
        rows = (await self._call(self.get(ACCOUNTS_PATH, query), state_changing=False))["data"]
        return [
            BalanceReport(
                r["marginCoin"].upper(), r.get("accountEquity", "0"), r.get("available", "0")
            )
            for r in rows or []
        ]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Not supported: classic v2 futures accounts have no cancel-on-disconnect."""
        raise NotSupportedError(
            "bitget: no dead-man switch for classic v2 futures accounts (UTA only); "
            "the router cancels all on disconnect instead"
        )
