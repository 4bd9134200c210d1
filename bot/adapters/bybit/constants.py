"""Bybit v5 linear: endpoints, topics and limits (docs/venues.md, Bybit)."""

from __future__ import annotations

VENUE = "bybit"
REST_BASE_URL = "https://api.bybit.com"
WS_PUBLIC_LINEAR_URL = "wss://stream.bybit.com/v5/public/linear"
INSTRUMENTS_PATH = "/v5/market/instruments-info"

BOOK_DEPTH = 50
"""orderbook.50: 20 ms pushes; 1, 200 and 1000 are the other linear depths."""
BOOK_TOPIC = "orderbook.{depth}.{symbol}"
TRADE_TOPIC = "publicTrade.{symbol}"
TICKER_TOPIC = "tickers.{symbol}"
"""BBO (bid1/ask1), mark price and funding rate; snapshot then deltas of changed fields."""

PING_TEXT = '{"req_id":"ping","op":"ping"}'
PING_INTERVAL_S = 20.0
"""Bybit recommends a ping every 20 s; the server drops silent connections after 10 min."""
STALE_AFTER_S = 30.0
MAX_ARGS_CHARS = 21_000
"""Public subscriptions: at most this many characters of ``args`` per connection."""
MAX_SYMBOL_BYTES = 32
MAX_TOPIC_BYTES = 64
"""Room for ``orderbook.<depth>.<symbol>`` in the kernel's topic table."""
