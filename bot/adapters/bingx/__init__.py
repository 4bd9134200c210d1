"""BingX perpetual swap market data: gzip frames, Ping/Pong, incremental or partial depth, trades,
bookTicker, mark price."""

from bot.adapters.bingx.feed import BingxFeed

__all__ = ["BingxFeed"]
