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


# --- order entry: OKX v5 codes / sCodes -> typed outcomes (PROTOCOLS.md 3.5-3.8) -------------

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_REJECTS: dict[str, RejectReason] = {
    "50102": RejectReason.TIMESTAMP,
    "50112": RejectReason.TIMESTAMP,
    "50103": RejectReason.AUTH,
    "50104": RejectReason.AUTH,
    "50105": RejectReason.AUTH,
    "50111": RejectReason.AUTH,
    "50113": RejectReason.AUTH,
    "51008": RejectReason.INSUFFICIENT_MARGIN,
    "51004": RejectReason.INSUFFICIENT_MARGIN,
    "51006": RejectReason.PRICE_FILTER,
    "51137": RejectReason.PRICE_FILTER,
    "51020": RejectReason.LOT_FILTER,
    "51120": RejectReason.LOT_FILTER,
    "51121": RejectReason.LOT_FILTER,
    "51400": RejectReason.UNKNOWN_ORDER,
    "51401": RejectReason.UNKNOWN_ORDER,
    "51503": RejectReason.UNKNOWN_ORDER,
    "51603": RejectReason.UNKNOWN_ORDER,
    "51016": RejectReason.DUPLICATE_ID,
    "51169": RejectReason.REDUCE_ONLY_REJECTED,
    "51170": RejectReason.REDUCE_ONLY_REJECTED,
}
ORDER_KEYWORDS: tuple[tuple[str, RejectReason], ...] = (
    ("reduce", RejectReason.REDUCE_ONLY_REJECTED),
    ("insufficient", RejectReason.INSUFFICIENT_MARGIN),
    ("lot size", RejectReason.LOT_FILTER),
    ("tick size", RejectReason.PRICE_FILTER),
    ("does not exist", RejectReason.UNKNOWN_ORDER),
)
ORDER_UNKNOWN = frozenset({"50001", "50004", "50013", "50026"})
"""Service unavailable / endpoint timeout / busy: OKX does not know whether it acted."""
ORDER_RATE_LIMITED = frozenset({"50011", "50061"})


def order_error(code: int | str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for an OKX ``code`` (or per-order ``sCode``) and message."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    return classify(
        "okx",
        str(code),
        message,
        rejects=ORDER_REJECTS,
        unknown=ORDER_UNKNOWN,
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
        keywords=ORDER_KEYWORDS,
    )
