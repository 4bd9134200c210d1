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


# --- order entry: BingX swap codes -> typed outcomes (PROTOCOLS.md 5.5-5.7) ------------------

import re  # noqa: E402 - the order-entry section of this file

from bot.adapters.trading import RejectReason  # noqa: E402

ORDER_REJECTS: dict[str, RejectReason] = {
    "100421": RejectReason.TIMESTAMP,
    "109400": RejectReason.TIMESTAMP,
    "100001": RejectReason.AUTH,
    "100413": RejectReason.AUTH,
    "100419": RejectReason.AUTH,
    "101204": RejectReason.INSUFFICIENT_MARGIN,
    "101253": RejectReason.INSUFFICIENT_MARGIN,
    "80016": RejectReason.UNKNOWN_ORDER,
    "80017": RejectReason.UNKNOWN_ORDER,
    "101209": RejectReason.REDUCE_ONLY_REJECTED,
    "101290": RejectReason.REDUCE_ONLY_REJECTED,
    "80018": RejectReason.DUPLICATE_ID,
}
"""Definitive refusals. 101204 comes with an empty message (real sample)."""
ORDER_KEYWORDS: tuple[tuple[str, RejectReason], ...] = (
    ("reduce", RejectReason.REDUCE_ONLY_REJECTED),
    ("post only", RejectReason.POST_ONLY_WOULD_CROSS),
    ("margin is not enough", RejectReason.INSUFFICIENT_MARGIN),
    ("insufficient", RejectReason.INSUFFICIENT_MARGIN),
    ("price", RejectReason.PRICE_FILTER),
    ("quantity", RejectReason.LOT_FILTER),
    ("volume", RejectReason.LOT_FILTER),
    ("not exist", RejectReason.UNKNOWN_ORDER),
)
ORDER_UNKNOWN = frozenset({"100500", "100503"})
"""Internal error / service unavailable: BingX does not say whether it acted."""
ORDER_RATE_LIMITED = frozenset({"100410"})
WRAPPER_CODE = "80012"
_INNER_CODE = re.compile(r'"Code"\s*:\s*(\d+)')
_INNER_MSG = re.compile(r'"Msg"\s*:\s*"([^"]*)')


def unwrap(code: str, message: str) -> tuple[str, str]:
    """BingX wraps a service error in ``80012`` with the inner JSON (even truncated) as ``msg``."""
    if code != WRAPPER_CODE:
        return code, message
    inner_code = _INNER_CODE.search(message)
    inner_msg = _INNER_MSG.search(message)
    if inner_code is None:
        return code, message
    return inner_code.group(1), inner_msg.group(1) if inner_msg else message


def order_error(code: int | str, message: str, retry_after_s: float | None = None) -> AdapterError:
    """Return the typed error for a BingX ``{"code", "msg"}`` reply."""
    # Imported here: the REST client (aiohttp) must not load with the market-data feeds.
    from bot.adapters.rest.entry import classify

    code, message = unwrap(str(code), message)
    return classify(
        "bingx",
        code,
        message,
        rejects=ORDER_REJECTS,
        unknown=ORDER_UNKNOWN,
        rate_limited=ORDER_RATE_LIMITED,
        retry_after_s=retry_after_s,
        keywords=ORDER_KEYWORDS,
    )
