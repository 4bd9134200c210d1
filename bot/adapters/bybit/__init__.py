"""Bybit v5 linear market data: constants, schemas, parsers, book sync and the feed."""

from bot.adapters.bybit.feed import BybitFeed
from bot.adapters.bybit.parse import parse_instruments_info

__all__ = ["BybitFeed", "parse_instruments_info"]
