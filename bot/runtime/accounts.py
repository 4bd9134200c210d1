"""Venue order entry for ``mode: live``: one signed adapter and user stream per venue account.

``order_entry(section, credentials, symbols, timeout_s)`` returns the venue's ``OrderEntry``
and ``UserStream`` for its ``environment`` (testnet by default), with the section's URL
overrides (``order_url`` REST base, ``order_ws_url`` WebSocket order entry where the venue has
one, ``user_ws_url`` private stream). Adapters are imported only for the venues configured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.adapters.trading import Credentials, OrderEntry, UserStream
from bot.config.schema import VenueSection
from bot.runtime.setup import StartupError

Builder = Callable[[VenueSection, Credentials, tuple[str, ...], float], tuple[Any, Any]]


def _common(section: VenueSection, symbols: tuple[str, ...], timeout_s: float) -> dict[str, Any]:
    kw: dict[str, Any] = {"environment": section.environment, "symbols": symbols,
                          "timeout_s": timeout_s}  # fmt: skip
    if section.order_url:
        kw["base_url"] = section.order_url
    return kw


def _stream_kw(section: VenueSection) -> dict[str, Any]:
    kw: dict[str, Any] = {"environment": section.environment}
    if section.user_ws_url:
        kw["ws_url"] = section.user_ws_url
    return kw


def _binance(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.binance_usdm.orders import BinanceOrderEntry
    from bot.adapters.binance_usdm.user_stream import BinanceUserStream

    kw = _common(s, sym, t)
    if s.order_ws_url:
        kw["ws_api_url"] = s.order_ws_url
    entry = BinanceOrderEntry(c, **kw)
    return entry, BinanceUserStream(entry, **_stream_kw(s))


def _bybit(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.bybit.orders import BybitOrderEntry
    from bot.adapters.bybit.user_stream import BybitUserStream

    kw = _common(s, sym, t)
    if s.order_ws_url:
        kw["ws_trade_url"] = s.order_ws_url
    entry = BybitOrderEntry(c, **kw)
    return entry, BybitUserStream(entry, **_stream_kw(s))


def _okx(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.okx.orders import OkxOrderEntry
    from bot.adapters.okx.user_stream import OkxUserStream

    entry = OkxOrderEntry(c, **_common(s, sym, t))
    return entry, OkxUserStream(entry, **_stream_kw(s))


def _bitget(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.bitget.orders import BitgetOrderEntry
    from bot.adapters.bitget.user_stream import BitgetUserStream

    entry = BitgetOrderEntry(c, **_common(s, sym, t))
    return entry, BitgetUserStream(entry, **_stream_kw(s))


def _bingx(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.bingx.orders import BingxOrderEntry
    from bot.adapters.bingx.user_stream import BingxUserStream

    entry = BingxOrderEntry(c, **_common(s, sym, t))
    return entry, BingxUserStream(entry, **_stream_kw(s))


def _bitmex(s: VenueSection, c: Credentials, sym: tuple[str, ...], t: float) -> tuple[Any, Any]:
    from bot.adapters.bitmex.orders import BitmexOrderEntry
    from bot.adapters.bitmex.user_stream import BitmexUserStream

    entry = BitmexOrderEntry(c, **_common(s, sym, t))
    return entry, BitmexUserStream(entry, **_stream_kw(s))


BUILDERS: dict[str, Builder] = {
    "binance-usdm": _binance,
    "bybit": _bybit,
    "okx": _okx,
    "bitget": _bitget,
    "bingx": _bingx,
    "bitmex": _bitmex,
}


def order_entry(
    section: VenueSection, credentials: Credentials, symbols: tuple[str, ...], timeout_s: float
) -> tuple[OrderEntry, UserStream]:
    """Return the venue account's order entry and user stream (``StartupError``: no adapter)."""
    build = BUILDERS.get(section.name)
    if build is None:
        raise StartupError(
            f"venues: {section.name} has no order entry (live venues: {', '.join(BUILDERS)})"
        )
    entry, stream = build(section, credentials, symbols, timeout_s)
    return entry, stream
