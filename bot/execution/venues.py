"""Build a venue account's order entry and user stream from its ``venues`` config section.

One place maps a venue name to its adapter classes, so ``tickbot run`` (live mode),
``tickbot orders`` and ``tickbot cancel-all`` construct them the same way: the section's
``environment`` (testnet by default) picks the venue's URLs, ``order_url`` overrides the REST
base URL, and credentials come from ``bot.runtime.setup.load_credentials`` (environment
variables or a mounted Secret, never the config).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Literal

from bot.adapters.trading import Credentials, OrderEntry, UsageHook, UserStream
from bot.config.schema import VenueSection

Transport = Literal["default", "rest"]
"""``default``: the venue's measured choice (WebSocket order entry on Binance and Bybit, see
``docs/venues-orders.md``); ``rest``: REST only (one-shot operator commands)."""

_ADAPTERS: dict[str, tuple[str, str, str]] = {
    "binance-usdm": ("binance_usdm", "BinanceOrderEntry", "BinanceUserStream"),
    "bybit": ("bybit", "BybitOrderEntry", "BybitUserStream"),
    "okx": ("okx", "OkxOrderEntry", "OkxUserStream"),
    "bitget": ("bitget", "BitgetOrderEntry", "BitgetUserStream"),
    "bingx": ("bingx", "BingxOrderEntry", "BingxUserStream"),
    "bitmex": ("bitmex", "BitmexOrderEntry", "BitmexUserStream"),
}
"""Venue name -> (package under ``bot.adapters``, order-entry class, user-stream class)."""
_WS_TRANSPORT = ("binance-usdm", "bybit")

ORDER_VENUES: tuple[str, ...] = tuple(_ADAPTERS)
"""Venues tickbot can trade on (``sim`` is built by ``bot.adapters.sim``)."""


def _classes(name: str) -> tuple[Any, Any]:
    try:
        package, entry_cls, stream_cls = _ADAPTERS[name]
    except KeyError:
        known = ", ".join(ORDER_VENUES)
        raise ValueError(f"venue {name!r} has no order entry (known: {known})") from None
    orders = importlib.import_module(f"bot.adapters.{package}.orders")
    streams = importlib.import_module(f"bot.adapters.{package}.user_stream")
    return getattr(orders, entry_cls), getattr(streams, stream_cls)


def build_order_entry(
    section: VenueSection,
    credentials: Credentials,
    symbols: Sequence[str],
    *,
    timeout_s: float = 10.0,
    on_usage: UsageHook | None = None,
    transport: Transport = "default",
) -> OrderEntry:
    """Return the venue's signed order entry for ``symbols`` (raise ValueError if unknown)."""
    entry_cls, _ = _classes(section.name)
    kwargs: dict[str, Any] = {
        "environment": section.environment,
        "base_url": section.order_url,
        "symbols": tuple(symbols),
        "timeout_s": timeout_s,
        "on_usage": on_usage,
    }
    if section.name in _WS_TRANSPORT and transport == "rest":
        kwargs["transport"] = "rest"
    entry: OrderEntry = entry_cls(credentials, **kwargs)
    return entry


def build_user_stream(
    section: VenueSection, entry: OrderEntry, *, ws_url: str | None = None
) -> UserStream:
    """Return the venue's private stream over ``entry``'s session (``ws_url`` overrides)."""
    _, stream_cls = _classes(section.name)
    stream: UserStream = stream_cls(entry, environment=section.environment, ws_url=ws_url)
    return stream
