"""Rate-limit figures from the venues' reply headers, for the router's token buckets.

Binance: ``X-MBX-USED-WEIGHT-<n><unit>`` and ``X-MBX-ORDER-COUNT-<n><unit>`` (used so far in the
window). Bybit: ``X-Bapi-Limit`` / ``X-Bapi-Limit-Status`` (remaining) /
``X-Bapi-Limit-Reset-Timestamp`` (not on every reply). BitMEX: ``x-ratelimit-limit`` /
``-remaining`` / ``-reset`` (unix seconds) and ``x-ratelimit-remaining-1s`` on order routes.
BingX: ``X-RateLimit-Requests-Remain`` / ``-Expire``. ``Retry-After`` is in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.adapters.trading import RateLimitUsage

_MS_PER_S = 1000


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """Return ``Retry-After`` in seconds when it is a number (the form venues send), else None."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def binance_usage(headers: Mapping[str, str]) -> tuple[RateLimitUsage, ...]:
    """Parse Binance's used-weight and order-count headers (any interval)."""
    out: list[RateLimitUsage] = []
    for name, value in headers.items():
        low = name.lower()
        if low.startswith("x-mbx-used-weight-"):
            window = "weight-" + low.removeprefix("x-mbx-used-weight-")
        elif low.startswith("x-mbx-order-count-"):
            window = "orders-" + low.removeprefix("x-mbx-order-count-")
        else:
            continue
        used = _int(value)
        if used is not None:
            out.append(RateLimitUsage(window, used=used))
    return tuple(out)


def bybit_usage(headers: Mapping[str, str]) -> tuple[RateLimitUsage, ...]:
    """Parse Bybit's per-endpoint limit headers (the reset header may be missing)."""
    limit = _int(headers.get("X-Bapi-Limit"))
    remaining = _int(headers.get("X-Bapi-Limit-Status"))
    if limit is None and remaining is None:
        return ()
    reset = _int(headers.get("X-Bapi-Limit-Reset-Timestamp"))
    used = limit - remaining if limit is not None and remaining is not None else None
    return (
        RateLimitUsage("endpoint", used=used, limit=limit, remaining=remaining, reset_ms=reset),
    )


def bitmex_usage(headers: Mapping[str, str]) -> tuple[RateLimitUsage, ...]:
    """Parse BitMEX's minute bucket and the one-second order-route bucket."""
    out: list[RateLimitUsage] = []
    limit = _int(headers.get("x-ratelimit-limit"))
    remaining = _int(headers.get("x-ratelimit-remaining"))
    if limit is not None or remaining is not None:
        reset_s = _int(headers.get("x-ratelimit-reset"))
        out.append(
            RateLimitUsage(
                "requests-1m",
                used=limit - remaining if limit is not None and remaining is not None else None,
                limit=limit,
                remaining=remaining,
                reset_ms=reset_s * _MS_PER_S if reset_s is not None else None,
            )
        )
    burst = _int(headers.get("x-ratelimit-remaining-1s"))
    if burst is not None:
        out.append(RateLimitUsage("orders-1s", remaining=burst))
    return tuple(out)


def bingx_usage(headers: Mapping[str, str]) -> tuple[RateLimitUsage, ...]:
    """Parse BingX's remaining-requests headers where it sends them."""
    remaining = _int(headers.get("X-RateLimit-Requests-Remain"))
    if remaining is None:
        return ()
    expire = _int(headers.get("X-RateLimit-Requests-Expire"))
    return (RateLimitUsage("requests", remaining=remaining, reset_ms=expire),)


def no_usage(_headers: Mapping[str, str]) -> tuple[RateLimitUsage, ...]:
    """For venues that send no usage headers (OKX, Bitget)."""
    return ()
