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


# --- order entry: Bitget v2 codes -> typed outcomes (PROTOCOLS.md 4.4-4.6) -------------------

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_REJECTS: dict[str, RejectReason] = {
    "40005": RejectReason.TIMESTAMP,
    "40008": RejectReason.TIMESTAMP,
    "40010": RejectReason.TIMESTAMP,
    "40006": RejectReason.AUTH,
    "40009": RejectReason.AUTH,
    "40011": RejectReason.AUTH,
    "40012": RejectReason.AUTH,
    "40014": RejectReason.AUTH,
    "40037": RejectReason.AUTH,
    "43012": RejectReason.INSUFFICIENT_MARGIN,
    "40762": RejectReason.INSUFFICIENT_MARGIN,
    "45110": RejectReason.LOT_FILTER,
    "45111": RejectReason.LOT_FILTER,
    "40020": RejectReason.PRICE_FILTER,
    "45115": RejectReason.PRICE_FILTER,
    "40109": RejectReason.UNKNOWN_ORDER,
    "43001": RejectReason.UNKNOWN_ORDER,
    "40768": RejectReason.UNKNOWN_ORDER,
    "40786": RejectReason.DUPLICATE_ID,
    "22002": RejectReason.REDUCE_ONLY_REJECTED,
    "40774": RejectReason.REDUCE_ONLY_REJECTED,
}
ORDER_KEYWORDS: tuple[tuple[str, RejectReason], ...] = (
    ("reduce", RejectReason.REDUCE_ONLY_REJECTED),
    ("post only", RejectReason.POST_ONLY_WOULD_CROSS),
    ("insufficient", RejectReason.INSUFFICIENT_MARGIN),
    ("balance", RejectReason.INSUFFICIENT_MARGIN),
    ("price", RejectReason.PRICE_FILTER),
    ("size", RejectReason.LOT_FILTER),
    ("quantity", RejectReason.LOT_FILTER),
    ("cannot be found", RejectReason.UNKNOWN_ORDER),
    ("not exist", RejectReason.UNKNOWN_ORDER),
)
ORDER_UNKNOWN = frozenset({"40015", "45001"})
"""System error / unknown error: Bitget does not say whether it acted."""
ORDER_RATE_LIMITED = frozenset({"429", "40007"})


def order_error(code: int | str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for a Bitget ``{"code", "msg"}`` reply."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    return classify(
        "bitget",
        str(code),
        message,
        rejects=ORDER_REJECTS,
        unknown=ORDER_UNKNOWN,
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
        keywords=ORDER_KEYWORDS,
    )
