"""BitMEX error classes and the classification of WebSocket error replies."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["FatalError", "RetryableError", "UnknownOutcomeError", "classify_ws_error"]


def classify_ws_error(status: int, message: str) -> AdapterError:
    """Return the error a ``{"status": N, "error": ...}`` reply stands for (429/5xx retryable)."""
    text = f"bitmex error {status}: {message}"
    return RetryableError(text) if status == 429 or status >= 500 else FatalError(text)
