"""Binance USD-M futures market data: constants, schemas, parsers, book sync and the feed."""

from bot.adapters.binance_usdm.feed import BinanceUsdmFeed
from bot.adapters.binance_usdm.parse import parse_exchange_info

__all__ = ["BinanceUsdmFeed", "parse_exchange_info"]
