"""BitMEX market data: orderBookL2 keyed by id, trades, quotes, instrument (mark, funding)."""

from bot.adapters.bitmex.feed import BitmexFeed

__all__ = ["BitmexFeed"]
