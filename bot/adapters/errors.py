"""Error classes shared by every venue adapter (each venue's ``errors.py`` re-exports them).

The supervisor classifies failures by these types: a ``RetryableError`` backs off and retries, a
``FatalError`` stops the feed with a clear message, an ``UnknownOutcomeError`` (order path) leaves
an order in flight until reconciliation settles it. Every venue's ``classify_*`` maps the venue's
own error codes (REST status, WebSocket error events) onto these classes.
"""

from __future__ import annotations


class AdapterError(Exception):
    """Base class of venue adapter errors. Messages never contain secrets."""


class RetryableError(AdapterError):
    """A transient failure (disconnect, 5xx, timeout, rate limit): retry with backoff."""


class FatalError(AdapterError):
    """A failure retrying cannot fix (unknown symbol, rejected subscription, bad config)."""


class UnknownOutcomeError(AdapterError):
    """The venue may or may not have acted on a request (order path): reconcile."""


def classify_http_status(venue: str, status: int, path: str) -> AdapterError:
    """Return the error for a non-200 REST reply by HTTP semantics alone.

    408, 418 and 429 (timeouts, rate limits, Binance's IP ban) and every 5xx are retryable; any
    other 4xx is the request's own fault and would fail again: fatal. Venues with their own
    rules (Bybit's 403 rate limit) have their own ``classify_http``.
    """
    if status in (408, 418, 429) or status >= 500:
        return RetryableError(f"{venue} GET {path}: HTTP {status}")
    return FatalError(f"{venue} GET {path}: HTTP {status}")
