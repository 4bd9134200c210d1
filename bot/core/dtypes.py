"""Structured dtypes and enums: the wire format of the whole system.

Every row that crosses a boundary (venue -> core, core -> risk -> router, sim -> core) is a row
of one of the dtypes below. Prices are int64 ticks and sizes int64 lots of the instrument's grid
(see ``bot.core.ticks``); floats never hold a price or a size. Fields are only ever appended, never
reordered; bump ``SCHEMA_VERSION`` whenever a recorded file's layout changes.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

import numpy as np

SCHEMA_VERSION = 1
"""Version of EVENT_DTYPE as stored in event files (``bot.data``)."""


class EventKind(IntEnum):
    """What one event row means. Book rows carry the new absolute size of a level (0 deletes)."""

    NONE = 0
    BOOK_BID = 1
    """Set the bid level at ``price_tick`` to ``qty_lot`` (0 deletes it)."""
    BOOK_ASK = 2
    """Set the ask level at ``price_tick`` to ``qty_lot`` (0 deletes it)."""
    BOOK_CLEAR = 3
    """Forget the instrument's whole book; the snapshot rows that follow rebuild it."""
    TRADE_BUY = 4
    """A public trade whose aggressor (taker) bought."""
    TRADE_SELL = 5
    """A public trade whose aggressor (taker) sold."""
    TRADE_UNKNOWN = 6
    """A public trade whose aggressor side the venue does not say."""
    BBO_BID = 7
    """Best bid as published by the venue's BBO stream (a cross-check, not a book update)."""
    BBO_ASK = 8
    """Best ask as published by the venue's BBO stream."""
    MARK_PRICE = 9
    """Mark price in ticks (``qty_lot`` unused)."""
    FUNDING_RATE = 10
    """Funding rate in units of 1e-9 in ``aux``; ``ts_exch_ns`` is the venue's event time."""
    BOOK_INVALID = 11
    """The feed lost sync for this instrument: stop quoting it until a snapshot arrives."""
    INDEX_PRICE = 12
    """Index price in ticks (nearest tick, as ``MARK_PRICE``; ``qty_lot`` unused)."""
    OPEN_INTEREST = 13
    """Open interest in lots (nearest lot) in ``qty_lot``."""
    BAR_OPEN = 14
    """A candle's open price (``ts_exch_ns`` its open time, ``ts_local_ns`` its close time);
    the ``BAR_HIGH``, ``BAR_LOW`` and ``BAR_CLOSE`` rows of the same candle follow."""
    BAR_HIGH = 15
    """A candle's high price."""
    BAR_LOW = 16
    """A candle's low price."""
    BAR_CLOSE = 17
    """A candle's close price; ``qty_lot`` its volume, ``aux`` the taker-buy volume (lots),
    ``seq`` its trade count."""
    DEPTH_BAND = 18
    """Cumulative size within a band around the mid (Binance ``bookDepth``): ``seq`` the band in
    units of 1e-6 percent (negative: bids), ``qty_lot`` the size (nearest lot), ``aux`` the
    notional in units of 1e-6 of the quote asset. Not a book level."""


class EventFlag(IntFlag):
    """Bits of the event ``flags`` field."""

    NONE = 0
    SNAPSHOT = 1
    """The row belongs to a full snapshot (after a BOOK_CLEAR)."""
    BATCH_END = 2
    """Last row of one venue message: the book is consistent here, signals may run."""
    FROM_REST = 4
    """The row came from a REST response rather than the stream."""


class Side(IntEnum):
    """Order or aggressor side. The value is the sign of the position change."""

    SELL = -1
    NONE = 0
    BUY = 1


class BookSide(IntEnum):
    """Index of a side in book arrays."""

    BID = 0
    ASK = 1


class OrderAction(IntEnum):
    """What an order intent asks the venue to do."""

    NONE = 0
    NEW = 1
    CANCEL = 2
    AMEND = 3
    CANCEL_ALL = 4


class OrderFlag(IntFlag):
    """Bits of the order ``flags`` field."""

    NONE = 0
    POST_ONLY = 1
    """Reject rather than take liquidity (GTX)."""
    REDUCE_ONLY = 2
    IOC = 4
    """Immediate or cancel: whatever does not fill at once is cancelled."""
    MARKET = 8
    """No limit price: walk the book (risk still bounds it by the price band)."""


class OrderStatus(IntEnum):
    """Order life cycle shared by the live router and the simulated venue."""

    NONE = 0
    PENDING_NEW = 1
    """Sent, no answer yet."""
    OPEN = 2
    """Acknowledged and resting."""
    PARTIALLY_FILLED = 3
    FILLED = 4
    PENDING_CANCEL = 5
    CANCELLED = 6
    REJECTED = 7
    EXPIRED = 8
    """IOC remainder or venue-side expiry."""
    UNKNOWN = 9
    """Outcome unknown (timeout, disconnect, 5xx): held until reconciliation settles it."""


class Liquidity(IntEnum):
    """Whether a fill added or removed liquidity."""

    NONE = 0
    MAKER = 1
    TAKER = 2


class RiskReason(IntEnum):
    """Outcome of a pre-trade risk check. ``OK`` passes; every other value names the rejection."""

    OK = 0
    KILL_SWITCH = 1
    MAX_ORDER_QTY = 2
    MAX_POSITION = 3
    MAX_NOTIONAL = 4
    PRICE_BAND = 5
    MAX_OPEN_ORDERS = 6
    RATE_LIMIT = 7
    NO_REFERENCE_PRICE = 8
    """Price band cannot be checked: the book has no valid mid."""
    INVALID_ORDER = 9
    """Non-positive quantity or price, or an unknown action."""


N_RISK_REASONS = len(RiskReason)


class VenueId(IntEnum):
    """Numeric venue ids used in event rows; names match config, captures and metric labels."""

    SIM = 0
    BINANCE_USDM = 1
    BYBIT = 2
    OKX = 3
    BITGET = 4
    BINGX = 5
    BITMEX = 6
    # data-only sources: historical files of markets tickbot reads but does not trade
    BINANCE_SPOT = 7
    BINANCE_COINM = 8
    DERIBIT = 9
    HUOBI_DM_SWAP = 10
    BYBIT_SPOT = 11
    OKX_SPOT = 12
    COINBASE = 13
    KRAKEN = 14

    @property
    def label(self) -> str:
        """Return the venue's name as used in config, captures and metric labels."""
        return VENUE_NAMES[self]

    @classmethod
    def from_label(cls, name: str) -> VenueId:
        """Return the venue id for a config name such as ``binance-usdm``."""
        for venue, label in VENUE_NAMES.items():
            if label == name:
                return venue
        known = ", ".join(VENUE_NAMES.values())
        raise ValueError(f"unknown venue {name!r}; known venues: {known}")


VENUE_NAMES: dict[VenueId, str] = {
    VenueId.SIM: "sim",
    VenueId.BINANCE_USDM: "binance-usdm",
    VenueId.BYBIT: "bybit",
    VenueId.OKX: "okx",
    VenueId.BITGET: "bitget",
    VenueId.BINGX: "bingx",
    VenueId.BITMEX: "bitmex",
    VenueId.BINANCE_SPOT: "binance-spot",
    VenueId.BINANCE_COINM: "binance-coinm",
    VenueId.DERIBIT: "deribit",
    VenueId.HUOBI_DM_SWAP: "huobi-dm-swap",
    VenueId.BYBIT_SPOT: "bybit-spot",
    VenueId.OKX_SPOT: "okx-spot",
    VenueId.COINBASE: "coinbase",
    VenueId.KRAKEN: "kraken",
}

DATA_ONLY_VENUES = frozenset(v for v in VenueId if v >= VenueId.BINANCE_SPOT)
"""Venues of historical data only: valid in instrument specs and event files, never traded."""

EVENT_DTYPE = np.dtype(
    [
        ("kind", np.uint8),  # EventKind
        ("flags", np.uint8),  # EventFlag bits
        ("venue", np.uint8),  # VenueId
        ("_reserved", np.uint8),
        ("instrument", np.uint32),  # index into the instrument table
        ("ts_exch_ns", np.int64),  # venue timestamp
        ("ts_local_ns", np.int64),  # local receive timestamp
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
        ("seq", np.int64),  # venue sequence / update id (diagnostics, gap reports)
        ("aux", np.int64),  # kind-specific integer (funding rate 1e-9, trade id, order id)
    ],
    align=True,
)
"""One market-data event. 56 bytes, memory-mappable, shared by live ingest and backtests."""

ORDER_INTENT_DTYPE = np.dtype(
    [
        ("action", np.uint8),  # OrderAction
        ("side", np.int8),  # Side
        ("flags", np.uint8),  # OrderFlag bits
        ("_reserved", np.uint8),
        ("instrument", np.uint32),
        ("client_order_id", np.int64),  # unique per (account, restart); see execution
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
        ("ts_local_ns", np.int64),  # local time the strategy decided
    ],
    align=True,
)
"""What a strategy asks for; checked by risk before it can leave the core."""

FILL_DTYPE = np.dtype(
    [
        ("side", np.int8),  # Side of our order
        ("liquidity", np.uint8),  # Liquidity
        ("_reserved", np.uint16),
        ("instrument", np.uint32),
        ("client_order_id", np.int64),
        ("ts_exch_ns", np.int64),
        ("ts_local_ns", np.int64),
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
        ("leaves_lot", np.int64),  # quantity still open on the order after this fill
        ("fee_quote", np.float64),  # fee in quote currency; negative is a rebate
    ],
    align=True,
)
"""One execution of one of our orders."""

ORDER_UPDATE_DTYPE = np.dtype(
    [
        ("status", np.uint8),  # OrderStatus after this update
        ("reason", np.uint8),  # RiskReason or venue reject class
        ("_reserved", np.uint16),
        ("instrument", np.uint32),
        ("client_order_id", np.int64),
        ("ts_exch_ns", np.int64),
        ("ts_local_ns", np.int64),
        ("price_tick", np.int64),
        ("qty_lot", np.int64),  # order quantity
        ("filled_lot", np.int64),  # cumulative filled quantity
    ],
    align=True,
)
"""An order state change (ack, cancel, reject, expiry) as seen by the strategy."""


def empty_events(n: int) -> np.ndarray:
    """Return ``n`` zeroed event rows."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def empty_intents(n: int) -> np.ndarray:
    """Return ``n`` zeroed order-intent rows."""
    return np.zeros(n, dtype=ORDER_INTENT_DTYPE)
