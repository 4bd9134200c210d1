"""BitMEX endpoints, tables and limits (docs/venues.md, BitMEX), as one declarative table."""

from __future__ import annotations

from types import MappingProxyType

from bot.adapters.base import Keepalive

VENUE_LABEL = "bitmex"

REST_URL = "https://www.bitmex.com/api/v1"
REST_TESTNET_URL = "https://testnet.bitmex.com/api/v1"
WS_URL = "wss://ws.bitmex.com/realtime"
WS_TESTNET_URL = "wss://ws.testnet.bitmex.com/realtime"
INSTRUMENTS_PATH = "/instrument/active"
INSTRUMENT_PATH = "/instrument?symbol={symbol}"
"""One instrument (a list of one row); cheaper than every active instrument."""

BOOK_TABLES = frozenset({"orderBookL2", "orderBookL2_25"})
TABLES = MappingProxyType(
    {
        "orderBookL2": "full L2 book: partial, then insert/update/delete keyed by (side, id)",
        "orderBookL2_25": "top-25 L2 book, same protocol",
        "quote": "best bid/offer (throttled)",
        "trade": "public trades",
        "instrument": "instrument updates: mark price, funding rate",
    }
)
DEFAULT_TABLES = ("orderBookL2", "quote", "trade", "instrument")

KEEPALIVE = Keepalive(interval_s=5.0, text="ping", only_when_idle=True, pong_timeout_s=5.0)
"""After 5 s without a frame send text ``ping``; no ``pong`` within 5 s: reconnect."""
PONG = "pong"
STALE_AFTER_S = 30.0

SUBSCRIBE_ARGS_PER_FRAME = 50
REQUESTS_PER_MINUTE = 120
