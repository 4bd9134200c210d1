"""OKX error classes and the classification of WebSocket error events."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["FatalError", "RetryableError", "UnknownOutcomeError", "classify_ws_error"]

_RETRYABLE_CODES = frozenset({"50011", "50013", "64008", "60014"})
"""Rate limit, system busy, upgrade notice, too many requests."""


def classify_ws_error(code: str, message: str) -> AdapterError:
    """Return the error a WebSocket ``{"event":"error"|"notice"}`` frame stands for."""
    text = f"okx error {code}: {message}"
    if code in _RETRYABLE_CODES:
        return RetryableError(text)
    return FatalError(text)
