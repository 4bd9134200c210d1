"""The contract between the order router (``bot.execution``) and venue order-entry adapters.

The router owns order state, ids, journal, rate limits and reconciliation; an adapter only turns
requests into the venue's signed bytes and the venue's replies into reports. Everything that
crosses this line is exact: prices and sizes are decimal strings made from ticks and lots with
``bot.core.ticks`` (never floats), ids are the router's text client order ids.

Outcomes are typed, never guessed. A call returns a report only when the venue answered with a
definite state. A definitive refusal raises ``OrderRejectedError`` with a ``RejectReason``. A
timeout, disconnect, 5xx or 429 on a request that changes state raises ``UnknownOutcomeError``
(``RateLimitedError`` is one, carrying ``Retry-After``): the router keeps such an order live in
risk and settles it with ``query_order``. Adapters never retry an order request themselves.

User streams (fills and order updates pushed by the venue) yield the same report types as the
REST replies, so the router has one code path for both and dedups fills by ``trade_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Literal, Protocol

from bot.adapters.errors import AdapterError, UnknownOutcomeError
from bot.core.dtypes import Liquidity, OrderFlag, OrderStatus, Side, VenueId

WriteHook = Callable[[int], None]
"""Called with ``time.monotonic_ns()`` the moment a request's bytes are handed to the socket
(the end of tick-to-trade)."""

Environment = Literal["testnet", "mainnet"]
"""Which of a venue's environments to trade on; the default everywhere is ``testnet``."""


class RejectReason(IntEnum):
    """Why a venue refused a request for certain (the typed form of its error codes)."""

    OTHER = 0
    INSUFFICIENT_MARGIN = 1
    PRICE_FILTER = 2
    """Price off the tick grid or outside the venue's band."""
    LOT_FILTER = 3
    """Size off the lot grid, below the minimum or above the maximum."""
    POST_ONLY_WOULD_CROSS = 4
    RATE_LIMIT = 5
    """The venue says for certain it did not accept the request because of a limit."""
    TIMESTAMP = 6
    """Request timestamp outside the venue's receive window: resync the clock."""
    UNKNOWN_ORDER = 7
    REDUCE_ONLY_REJECTED = 8
    DUPLICATE_ID = 9
    AUTH = 10
    """Bad key, signature or permissions."""


class OrderRejectedError(AdapterError):
    """The venue definitively refused the request; nothing was created or changed."""

    def __init__(self, reason: RejectReason, code: str, message: str) -> None:
        super().__init__(f"{reason.name.lower()} (venue code {code}): {message}")
        self.reason = reason
        self.code = code


class RateLimitedError(UnknownOutcomeError):
    """HTTP 429/418 or a venue rate-limit code: outcome unknown, wait ``retry_after_s``."""

    def __init__(self, message: str, retry_after_s: float | None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotSupportedError(AdapterError):
    """The venue (or this account type) has no such operation (e.g. amend, dead-man switch)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    """API key material. Its repr and str never show the secret or passphrase."""

    api_key: str
    api_secret: str = field(repr=False)
    passphrase: str | None = field(default=None, repr=False)

    def __str__(self) -> str:
        return f"Credentials(api_key={self.api_key[:4]}…)"

    __repr__ = __str__


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """A request ready to write: method, absolute URL, headers and body bytes.

    ``repr`` hides header values, since they carry the key and signature.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """A new order. ``price`` is None only for market orders (``OrderFlag.MARKET``)."""

    client_order_id: str
    symbol: str
    side: Side
    qty: str
    price: str | None
    flags: OrderFlag = OrderFlag.NONE


@dataclass(frozen=True, slots=True)
class AmendRequest:
    """Change price and/or size of a resting order, keeping its client order id.

    ``qty`` is the new total order quantity (filled part included), as Binance's modify and
    OKX's ``newSz`` take it; None keeps the size, and a None ``price`` keeps the price.
    """

    client_order_id: str
    symbol: str
    qty: str | None = None
    price: str | None = None


@dataclass(frozen=True, slots=True)
class OrderReport:
    """An order's state as the venue states it (reply, query, open-orders list or user stream)."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    status: OrderStatus
    side: Side
    qty: str
    filled_qty: str
    price: str | None = None
    avg_price: str | None = None
    ts_exch_ns: int = 0


@dataclass(frozen=True, slots=True)
class FillReport:
    """One execution of one of our orders. ``trade_id`` is unique per (venue, symbol)."""

    client_order_id: str
    venue_order_id: str
    trade_id: str
    symbol: str
    side: Side
    qty: str
    price: str
    fee: str
    """Fee paid, in ``fee_asset``; negative is a rebate."""
    fee_asset: str
    liquidity: Liquidity
    ts_exch_ns: int = 0


@dataclass(frozen=True, slots=True)
class PositionReport:
    """Net position of one symbol; ``qty`` is signed (negative = short)."""

    symbol: str
    qty: str
    entry_price: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceReport:
    """Balance of one asset."""

    asset: str
    total: str
    available: str


@dataclass(frozen=True, slots=True)
class RateLimitUsage:
    """One rate-limit window as a venue reported it in a reply (headers or a WS envelope).

    ``window`` names the limit in the venue's own terms (``"weight-1m"``, ``"orders-10s"``,
    ``"endpoint"``...). Any of the figures may be absent: venues report ``used`` or
    ``remaining``, not always both. The router's token buckets read these to correct themselves.
    """

    window: str
    used: int | None = None
    limit: int | None = None
    remaining: int | None = None
    reset_ms: int | None = None
    """Venue time (ms since the epoch) at which the window resets, where the venue says."""


UsageHook = Callable[[tuple[RateLimitUsage, ...]], None]
"""Called with the usage figures parsed from every reply that carried some."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue adapter supports, listed by ``tickbot venues`` and used by the router."""

    amend: bool
    cancel_all: bool
    dead_man_switch: bool
    """False where the venue or account type has none; the bot logs it at start-up."""
    ws_order_entry: bool
    max_client_id_len: int


@dataclass(frozen=True, slots=True)
class StreamConnected:
    """Yielded by ``UserStream.reports`` each time the stream is connected, logged in and
    subscribed: the router reconciles with REST then, so nothing between two sessions is lost."""

    ts_local_ns: int = 0


class OrderEntry(Protocol):
    """Signed order entry for one venue account. Every method may raise ``AdapterError``s."""

    venue: VenueId
    capabilities: Capabilities

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; signing happens before the first await (no await on the hot path)."""
        ...

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport: ...

    async def cancel_all(self, symbol: str) -> None: ...

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport: ...

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Return the order's state, or None if the venue says it does not know the id."""
        ...

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]: ...

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]: ...

    async def position(self, symbol: str) -> PositionReport: ...

    async def balances(self) -> list[BalanceReport]: ...

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh cancel-on-disconnect; ``NotSupportedError`` where there is none."""
        ...

    async def close(self) -> None: ...


class UserStream(Protocol):
    """The venue's private stream: order updates and fills, in the order the venue sent them.

    Each call of ``reports`` opens one session and first yields ``StreamConnected`` once it is
    subscribed. Iteration ends (or raises ``RetryableError``) when the connection is lost; the
    router calls ``reports`` again (with backoff) and reconciles on the next ``StreamConnected``
    (a stream that never yields it is reconciled a moment after each session starts).
    """

    def reports(self) -> AsyncIterator[OrderReport | FillReport | StreamConnected]: ...

    async def close(self) -> None: ...
