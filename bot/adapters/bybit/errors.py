"""Bybit v5 errors: the shared classes plus the venue's error mapping."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["AdapterError", "FatalError", "RetryableError", "UnknownOutcomeError", "classify_http"]


def classify_http(status: int, path: str) -> AdapterError:
    """Return the error for a non-200 REST reply (403 'access too frequent', 429 and 5xx retry)."""
    if status in (403, 408, 429) or status >= 500:
        return RetryableError(f"bybit GET {path}: HTTP {status}")
    return FatalError(f"bybit GET {path}: HTTP {status}")
