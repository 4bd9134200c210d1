"""Binance USD-M errors: the shared classes plus the venue's error-code mapping."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["AdapterError", "FatalError", "RetryableError", "UnknownOutcomeError", "classify_http"]


def classify_http(status: int, path: str) -> AdapterError:
    """Return the error for a non-200 REST reply (429/418 rate limits and 5xx retry)."""
    if status in (408, 429, 418) or status >= 500:
        return RetryableError(f"binance-usdm GET {path}: HTTP {status}")
    return FatalError(f"binance-usdm GET {path}: HTTP {status}")
