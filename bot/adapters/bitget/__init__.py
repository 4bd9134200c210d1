"""Bitget v2 USDT-futures market data: books with seq and CRC32 checksum, trades, ticker."""

from bot.adapters.bitget.feed import BitgetFeed

__all__ = ["BitgetFeed"]
