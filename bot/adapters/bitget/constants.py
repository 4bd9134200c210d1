"""Bitget v2 endpoints, channels and limits (docs/venues.md, Bitget), as one declarative table."""

from __future__ import annotations

from types import MappingProxyType

from bot.adapters.base import Keepalive

VENUE_LABEL = "bitget"

REST_URL = "https://api.bitget.com"
WS_PUBLIC_URL = "wss://ws.bitget.com/v2/ws/public"
WS_DEMO_PUBLIC_URL = "wss://wspap.bitget.com/v2/ws/public"

PRODUCT_TYPE = "USDT-FUTURES"
DEMO_PRODUCT_TYPE = "SUSDT-FUTURES"
CONTRACTS_PATH = "/api/v2/mix/market/contracts?productType=USDT-FUTURES"

BOOK_CHANNELS = frozenset({"books", "books1", "books5", "books15"})
"""``books``: snapshot then updates with checksum; the others: a full snapshot every push."""

CHANNELS = MappingProxyType(
    {
        "books": "full book: snapshot then incremental updates with CRC32, every 150 ms",
        "books1": "best level, snapshot every push (100 ms)",
        "books5": "5 levels, snapshot every push (150 ms)",
        "books15": "15 levels, snapshot every push (150 ms)",
        "trade": "public trades",
        "ticker": "best bid/offer, mark price, funding rate",
    }
)
DEFAULT_CHANNELS = ("books", "trade", "ticker")

KEEPALIVE = Keepalive(interval_s=25.0, text="ping", only_when_idle=False, pong_timeout_s=10.0)
"""Send text ``ping`` every 30 s at most (answer ``pong``), whether or not data flows: Bitget
disconnects a client that has not pinged for 2 min, however busy the stream."""
PONG = "pong"
STALE_AFTER_S = 30.0

MESSAGES_PER_SECOND = 10
SUBSCRIBE_ARGS_PER_FRAME = 50
"""Bitget recommends fewer than 50 channels per connection."""
SUBSCRIBE_REQUESTS_PER_HOUR = 240
FORCED_RECONNECT_S = 24 * 3600
"""Bitget force-closes every connection after 24 h."""
PROACTIVE_RECONNECT_S = 23.5 * 3600
"""Reconnect (and resubscribe, which brings fresh snapshots) before Bitget cuts us off."""
