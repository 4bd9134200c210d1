"""Bybit v5 errors: the shared classes plus the venue's error mapping."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["AdapterError", "FatalError", "RetryableError", "UnknownOutcomeError", "classify_http"]


def classify_http(status: int, path: str) -> AdapterError:
    """Return the error for a non-200 REST reply (403 'access too frequent', 429 and 5xx retry)."""
    if status in (403, 408, 429) or status >= 500:
        return RetryableError(f"bybit GET {path}: HTTP {status}")
    return FatalError(f"bybit GET {path}: HTTP {status}")


# --- order entry: Bybit v5 retCodes -> typed outcomes (PROTOCOLS.md 2.6-2.9) -----------------

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_REJECTS: dict[str, RejectReason] = {
    "10002": RejectReason.TIMESTAMP,
    "10003": RejectReason.AUTH,
    "10004": RejectReason.AUTH,
    "10005": RejectReason.AUTH,
    "10010": RejectReason.AUTH,
    "110004": RejectReason.INSUFFICIENT_MARGIN,
    "110007": RejectReason.INSUFFICIENT_MARGIN,
    "110012": RejectReason.INSUFFICIENT_MARGIN,
    "110003": RejectReason.PRICE_FILTER,
    "110094": RejectReason.LOT_FILTER,
    "110001": RejectReason.UNKNOWN_ORDER,
    "110008": RejectReason.UNKNOWN_ORDER,
    "110072": RejectReason.DUPLICATE_ID,
}
"""Definitive refusals by code. 10001 (params) and 110017 are typed from the message: Bybit uses
them for both size-step and reduce-only failures."""
ORDER_KEYWORDS: tuple[tuple[str, RejectReason], ...] = (
    ("reduce", RejectReason.REDUCE_ONLY_REJECTED),
    ("post only", RejectReason.POST_ONLY_WOULD_CROSS),
    ("insufficient", RejectReason.INSUFFICIENT_MARGIN),
    ("qty", RejectReason.LOT_FILTER),
    ("price", RejectReason.PRICE_FILTER),
    ("not exist", RejectReason.UNKNOWN_ORDER),
)
ORDER_UNKNOWN = frozenset({"10000", "10016", "10019"})
"""Server timeout / service restarting: Bybit does not know whether it acted."""
ORDER_RATE_LIMITED = frozenset({"10006", "10018", "10429"})
"""10429: the WebSocket trade service's system-level frequency protection."""


def order_error(code: int | str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for a Bybit ``{"retCode", "retMsg"}`` reply."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    return classify(
        "bybit",
        str(code),
        message,
        rejects=ORDER_REJECTS,
        unknown=ORDER_UNKNOWN,
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
        keywords=ORDER_KEYWORDS,
    )
