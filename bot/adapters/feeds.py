"""The feed class of every venue by its config/capture name (no I/O, no aiohttp).

``bot.ingest.venues`` adds what live ingest needs (REST instrument fetches); capture replay
(``bot.ingest.capture``, ``tickbot convert``) needs only this table.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from bot.adapters.base import MarketDataFeed
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.bybit import BybitFeed
from bot.adapters.okx import OkxFeed

FeedFactory = Callable[..., MarketDataFeed]
"""``factory(refs, qty, state, **options)``; every feed takes ``ws_url`` and ``rest_url``."""

FEEDS: Mapping[str, FeedFactory] = MappingProxyType(
    {
        "binance-usdm": BinanceUsdmFeed,
        "bybit": BybitFeed,
        "okx": OkxFeed,
        "bitget": BitgetFeed,
        "bingx": BingxFeed,
        "bitmex": BitmexFeed,
    }
)


def feed_factory(name: str) -> FeedFactory:
    """Return the feed class of venue ``name``; ``ValueError`` listing the known ones."""
    factory = FEEDS.get(name)
    if factory is None:
        raise ValueError(f"unknown venue {name!r}; supported: {', '.join(sorted(FEEDS))}")
    return factory
