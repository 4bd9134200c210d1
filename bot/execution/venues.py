"""Build a venue account's order entry and user stream from its ``venues`` config section.

The classes come from the one venue registry (``bot.ingest.venues``: ``VenueEntry.order_entry``
and ``.user_stream``, shipped venues and ``tickbot.venues`` plugins alike), so ``tickbot run``
(live mode), ``tickbot orders``, ``tickbot cancel-all`` and ``tickbot venues`` agree on what a
venue is. The section's ``environment`` (testnet by default) picks the venue's URLs,
``order_url`` overrides the REST base URL, and credentials come from
``bot.runtime.setup.load_credentials`` (environment variables or a mounted Secret, never the
config).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any, Literal

from bot.adapters.trading import Credentials, OrderEntry, UsageHook, UserStream
from bot.config.schema import VenueSection

Transport = Literal["default", "rest"]
"""``default``: the venue's measured choice (WebSocket order entry on Binance and Bybit, see
``docs/venues-orders.md``); ``rest``: REST only (one-shot operator commands)."""


def _load(ref: str, what: str, venue: str) -> Any:
    module_name, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"venue {venue!r}: {what} {ref!r} does not import: {e}") from None


def takes_orders(name: str) -> bool:
    """Return whether venue ``name`` (shipped or plugin) has an order entry and a user stream."""
    from bot.ingest.venues import venue

    entry = venue(name)
    return bool(entry.order_entry and entry.user_stream)


def _classes(name: str) -> tuple[Any, Any]:
    from bot.ingest.venues import venue

    entry = venue(name)  # ValueError naming the known venues
    if not (entry.order_entry and entry.user_stream):
        raise ValueError(f"venue {name!r} has no order entry (market data only)")
    return (
        _load(entry.order_entry, "order entry", name),
        _load(entry.user_stream, "user stream", name),
    )


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
    if transport == "rest" and "transport" in inspect.signature(entry_cls).parameters:
        kwargs["transport"] = "rest"  # venues with WebSocket order entry choose it by default
    entry: OrderEntry = entry_cls(credentials, **kwargs)
    return entry


def build_user_stream(
    section: VenueSection, entry: OrderEntry, *, ws_url: str | None = None
) -> UserStream:
    """Return the venue's private stream over ``entry``'s session (``ws_url`` overrides)."""
    _, stream_cls = _classes(section.name)
    stream: UserStream = stream_cls(entry, environment=section.environment, ws_url=ws_url)
    return stream
