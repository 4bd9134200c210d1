"""Binance USD-M errors: the shared classes plus the venue's error-code mapping."""

from __future__ import annotations

from bot.adapters.errors import AdapterError, FatalError, RetryableError, UnknownOutcomeError

__all__ = ["AdapterError", "FatalError", "RetryableError", "UnknownOutcomeError", "classify_http"]


def classify_http(status: int, path: str) -> AdapterError:
    """Return the error for a non-200 REST reply (429/418 rate limits and 5xx retry)."""
    if status in (408, 429, 418) or status >= 500:
        return RetryableError(f"binance-usdm GET {path}: HTTP {status}")
    return FatalError(f"binance-usdm GET {path}: HTTP {status}")


# --- order entry: Binance error codes -> typed outcomes (PROTOCOLS.md 1.6-1.8) ---------------

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_REJECTS: dict[str, RejectReason] = {
    "-1021": RejectReason.TIMESTAMP,
    "-2019": RejectReason.INSUFFICIENT_MARGIN,
    "-2018": RejectReason.INSUFFICIENT_MARGIN,
    "-1111": RejectReason.PRICE_FILTER,
    "-4014": RejectReason.PRICE_FILTER,
    "-4013": RejectReason.PRICE_FILTER,
    "-4016": RejectReason.PRICE_FILTER,
    "-4024": RejectReason.PRICE_FILTER,
    "-4003": RejectReason.LOT_FILTER,
    "-4004": RejectReason.LOT_FILTER,
    "-4005": RejectReason.LOT_FILTER,
    "-4023": RejectReason.LOT_FILTER,
    "-4164": RejectReason.LOT_FILTER,
    "-5022": RejectReason.POST_ONLY_WOULD_CROSS,
    "-2022": RejectReason.REDUCE_ONLY_REJECTED,
    "-2011": RejectReason.UNKNOWN_ORDER,
    "-2013": RejectReason.UNKNOWN_ORDER,
    "-4116": RejectReason.DUPLICATE_ID,
    "-1022": RejectReason.AUTH,
    "-2014": RejectReason.AUTH,
    "-2015": RejectReason.AUTH,
    "-1002": RejectReason.AUTH,
}
"""Definitive refusals. -1111 (precision) is typed as a price error: tickbot's sizes come from
lots, so an over-precise price is the case seen in practice."""
ORDER_UNKNOWN = frozenset({"-1000", "-1001", "-1006", "-1007", "-1008"})
"""Backend timeout, disconnect, overload: Binance does not know whether the order was placed."""
ORDER_RATE_LIMITED = frozenset({"-1003", "-1015"})


def order_error(code: int | str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for a Binance ``{"code", "msg"}`` body."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    return classify(
        "binance-usdm",
        str(code),
        message,
        rejects=ORDER_REJECTS,
        unknown=ORDER_UNKNOWN,
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
    )
