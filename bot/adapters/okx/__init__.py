"""OKX v5 (perpetual swaps) market data: books with seqId and CRC32 checksum, trades, BBO, mark,
funding."""

from bot.adapters.okx.feed import OkxFeed

__all__ = ["OkxFeed"]
