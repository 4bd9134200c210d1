"""BingX error classes and the classification of subscription error replies."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["FatalError", "RetryableError", "UnknownOutcomeError", "classify_ws_error"]

_RETRYABLE_CODES = frozenset({100410, 100500, 100503})
"""Rate limited, internal error, service busy."""


def classify_ws_error(code: int, message: str) -> AdapterError:
    """Return the error a ``{"id":..,"code":N}`` subscription reply with ``N != 0`` stands for."""
    text = f"bingx error {code}: {message}"
    return RetryableError(text) if code in _RETRYABLE_CODES else FatalError(text)
