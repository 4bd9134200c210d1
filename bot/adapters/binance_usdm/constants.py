"""Binance USD-M futures: endpoints, stream names and limits (docs/venues.md, Binance).

Since the 2026 split, high-frequency public data (``@depth``, ``@bookTicker``) is served on
``/public`` and regular market data (``@aggTrade``, ``@markPrice``) on ``/market``; user data on
``/private``. Streams are named in the URL (``/<route>/stream?streams=a/b``, combined frames
``{"stream":..., "data":...}``), so no subscribe frame is needed and a reconnect resubscribes.
"""

from __future__ import annotations

VENUE = "binance-usdm"
REST_BASE_URL = "https://fapi.binance.com"
WS_BASE_URL = "wss://fstream.binance.com"
WS_ROUTE_PUBLIC = "/public"
"""Depth and bookTicker streams."""
WS_ROUTE_MARKET = "/market"
"""aggTrade and markPrice streams."""
WS_ROUTE_PRIVATE = "/private"
"""User data (listenKey); used by the execution layer."""

DEPTH_PATH = "/fapi/v1/depth"
DEPTH_SNAPSHOT_LIMIT = 1000
EXCHANGE_INFO_PATH = "/fapi/v1/exchangeInfo"

DEPTH_STREAM = "{symbol}@depth@100ms"
BOOK_TICKER_STREAM = "{symbol}@bookTicker"
AGG_TRADE_STREAM = "{symbol}@aggTrade"
MARK_PRICE_STREAM = "{symbol}@markPrice@1s"

MAX_STREAMS_PER_CONNECTION = 1024
MAX_INCOMING_MESSAGES_PER_S = 10
SESSION_LIMIT_S = 24 * 3600.0
"""Binance closes every connection at 24 h."""
PROACTIVE_RECONNECT_S = 23 * 3600.0
"""Reconnect (with fresh snapshots) an hour before the venue would cut us off."""
STALE_AFTER_S = 30.0
"""Depth at 100 ms plus bookTicker: 30 s of total silence on a connection means it is dead."""
SNAPSHOT_TIMEOUT_S = 10.0
MAX_BUFFERED_DIFFS = 2000
"""Diffs buffered per instrument while waiting for a snapshot; beyond that, start over."""
MAX_SYMBOL_BYTES = 32
