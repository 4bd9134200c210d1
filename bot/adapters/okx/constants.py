"""OKX v5 endpoints, channels and limits (docs/venues.md, OKX), as one declarative table."""

from __future__ import annotations

from types import MappingProxyType

from bot.adapters.base import Keepalive

VENUE_LABEL = "okx"

REST_URL = "https://www.okx.com"
WS_PUBLIC_URL = "wss://ws.okx.com:8443/ws/v5/public"
WS_BUSINESS_URL = "wss://ws.okx.com:8443/ws/v5/business"
WS_DEMO_PUBLIC_URL = "wss://wspap.okx.com:8443/ws/v5/public"
"""Demo trading; REST stays on REST_URL with header ``x-simulated-trading: 1``."""

INSTRUMENTS_PATH = "/api/v5/public/instruments?instType=SWAP"

BOOK_CHANNELS = frozenset({"books", "books50-l2-tbt", "books-l2-tbt"})
"""Snapshot + incremental channels (seqId/prevSeqId, checksum). The tbt ones need login + VIP4."""

CHANNELS = MappingProxyType(
    {
        "books": "400-level book, snapshot then updates every 100 ms",
        "bbo-tbt": "best bid/offer, every 10 ms",
        "trades": "public trades (aggregated per taker order)",
        "tickers": "24 h ticker with best bid/offer",
        "mark-price": "mark price",
        "funding-rate": "current and next funding rate",
    }
)
DEFAULT_CHANNELS = ("books", "bbo-tbt", "trades", "mark-price", "funding-rate")

KEEPALIVE = Keepalive(interval_s=25.0, text="ping", only_when_idle=True, pong_timeout_s=5.0)
"""OKX drops a connection after 30 s without traffic: after 25 s of silence send text ``ping``;
no answer (``pong``) within 5 s means the connection is dead."""
PONG = "pong"
STALE_AFTER_S = 35.0
"""Nothing at all for this long (not even the ``pong``): reconnect."""

MAX_SUBSCRIBE_BYTES = 64 * 1024
"""Total size of one subscribe request's args."""
SUBSCRIBE_ARGS_PER_FRAME = 100
CONNECTIONS_PER_SECOND = 3
SUBSCRIBE_OPS_PER_HOUR = 480
RECONNECT_NOTICE_CODE = "64008"
"""``{"event":"notice","code":"64008"}``: service upgrade in 60 s, reconnect proactively."""
