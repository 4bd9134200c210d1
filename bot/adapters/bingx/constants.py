"""BingX swap endpoints, streams and limits (docs/venues.md, BingX), as one declarative table."""

from __future__ import annotations

import re
from types import MappingProxyType

from bot.adapters.base import Keepalive

VENUE_LABEL = "bingx"

REST_URL = "https://open-api.bingx.com"
REST_DEMO_URL = "https://open-api-vst.bingx.com"
WS_URL = "wss://open-api-swap.bingx.com/swap-market"
WS_DEMO_URL = "wss://vst-open-api-ws.bingx.com/swap-market"
CONTRACTS_PATH = "/openApi/swap/v2/quote/contracts"

INCREMENTAL_DEPTH = "incrDepth"
"""Full depth (``action: all``) then updates whose ``lastUpdateId`` grows by exactly 1."""
PARTIAL_DEPTH = re.compile(r"^depth(5|10|20|50|100)(@(100|200|500)ms)?$")
"""``depthN[@Xms]``: a full top-N snapshot on every push (no sequence)."""

STREAMS = MappingProxyType(
    {
        "incrDepth": "incremental depth (~1000 levels, 200-800 ms)",
        "depth20@100ms": "top-20 snapshot every 100 ms (any depthN[@Xms] is accepted)",
        "trade": "public trades",
        "bookTicker": "best bid/offer",
        "markPrice": "mark price",
    }
)
DEFAULT_STREAMS = ("incrDepth", "trade", "bookTicker", "markPrice")

KEEPALIVE = Keepalive(interval_s=None)
"""The server sends gzip ``Ping`` every ~5 s; the feed answers ``Pong`` via ``take_outgoing``.
No client ping: the supervisor reconnects when nothing (not even a ``Ping``) arrives for
``STALE_AFTER_S``."""
STALE_AFTER_S = 30.0
PING = "Ping"
PONG = "Pong"

DATA_TYPE_NOT_SUPPORTED = 80015
