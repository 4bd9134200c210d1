"""BitMEX error classes and the classification of WebSocket error replies."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["FatalError", "RetryableError", "UnknownOutcomeError", "classify_ws_error"]


def classify_ws_error(status: int, message: str) -> AdapterError:
    """Return the error a ``{"status": N, "error": ...}`` reply stands for (429/5xx retryable)."""
    text = f"bitmex error {status}: {message}"
    return RetryableError(text) if status == 429 or status >= 500 else FatalError(text)


# --- order entry: BitMEX error bodies -> typed outcomes (PROTOCOLS.md 6.4-6.7) ---------------

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_KEYWORDS: tuple[tuple[str, RejectReason], ...] = (
    ("expires", RejectReason.TIMESTAMP),
    ("signature not valid", RejectReason.AUTH),
    ("api key", RejectReason.AUTH),
    ("insufficient", RejectReason.INSUFFICIENT_MARGIN),
    ("duplicate clordid", RejectReason.DUPLICATE_ID),
    ("reduceonly", RejectReason.REDUCE_ONLY_REJECTED),
    ("reduce-only", RejectReason.REDUCE_ONLY_REJECTED),
    ("participatedonotinitiate", RejectReason.POST_ONLY_WOULD_CROSS),
    ("ticksize", RejectReason.PRICE_FILTER),
    ("tick size", RejectReason.PRICE_FILTER),
    ("lot size", RejectReason.LOT_FILTER),
    ("lotsize", RejectReason.LOT_FILTER),
    ("orderqty", RejectReason.LOT_FILTER),
    ("not found", RejectReason.UNKNOWN_ORDER),
    ("invalid orderid", RejectReason.UNKNOWN_ORDER),
    ("invalid clordid", RejectReason.UNKNOWN_ORDER),
    ("unable to cancel", RejectReason.UNKNOWN_ORDER),
    ("invalid ordstatus", RejectReason.UNKNOWN_ORDER),
    ("price", RejectReason.PRICE_FILTER),
)
"""BitMEX errors carry a class name (``ValidationError``, ``HTTPError``) and a message, no
code: the message types them."""
ORDER_RATE_LIMITED = frozenset({"RateLimitError"})


def order_error(name: str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for a BitMEX ``{"error": {"message", "name"}}`` body."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    return classify(
        "bitmex",
        name,
        message,
        rejects={},
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
        keywords=ORDER_KEYWORDS,
    )
