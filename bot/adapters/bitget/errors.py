"""Bitget error classes and the classification of WebSocket error events."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["FatalError", "RetryableError", "UnknownOutcomeError", "classify_ws_error"]

_RETRYABLE_CODES = frozenset({"30007", "429"})
"""Request over limit / too many requests."""


def classify_ws_error(code: str, message: str) -> AdapterError:
    """Return the error a WebSocket ``{"event":"error"}`` frame stands for."""
    text = f"bitget error {code}: {message}"
    return RetryableError(text) if code in _RETRYABLE_CODES else FatalError(text)
