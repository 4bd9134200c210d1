"""Per-venue wiring for the shared order-entry scenarios (``tests/e2e/test_orders_venues.py``):
which plug-in, how to build the adapter and its user stream against the loopback server, a
symbol with its filters, and the venue's known behaviours (ack-only replies, post-only)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from tests.support.order_venue import Filters, OrderVenuePlugin, OrderVenueServer

TIMEOUT_S = 10.0
"""Deadline of the adapters in the scenarios: generous, so a loaded machine never turns a
reply into a timeout. Tests of the timeout path pass ``SHORT_TIMEOUT_S``."""
SHORT_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class VenueKit:
    """How the shared scenarios drive one venue."""

    name: str
    plugin: Callable[[], OrderVenuePlugin]
    entry: Callable[..., Any]
    """(server, on_usage=None, timeout_s=TIMEOUT_S) -> the adapter"""
    stream: Callable[[Any, OrderVenueServer], Any]
    symbol: str
    filters: Filters
    price: str = "100.5"
    qty: str = "0.01"
    ack_only: bool = False
    """Replies to new/cancel are acknowledgements (PENDING_NEW / PENDING_CANCEL), not states."""
    post_only_rejects: bool = False
    dms_min_s: float = 0.0
    """Shortest dead-man timeout the venue accepts (0: any, fired in the test)."""
    dms_disarm: bool = True
    """``arm_dead_man_switch(0)`` disarms (Bybit's DCP window is a setting with no off)."""
    usage: bool = True
    """The venue reports rate-limit usage in reply headers."""


def _binance() -> VenueKit:
    from bot.adapters.binance_usdm.orders import BinanceOrderEntry
    from bot.adapters.binance_usdm.user_stream import BinanceUserStream
    from tests.support.order_venues.binance import BinancePlugin

    return VenueKit(
        name="binance-usdm",
        plugin=BinancePlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BinanceOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTCUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
            transport="rest",
        ),
        stream=lambda e, s: BinanceUserStream(e, ws_url=s.ws_url),
        symbol="BTCUSDT",
        filters=Filters("0.1", "0.001", "0.001"),
        post_only_rejects=True,
    )


def _bybit() -> VenueKit:
    from bot.adapters.bybit.orders import BybitOrderEntry
    from bot.adapters.bybit.user_stream import BybitUserStream
    from tests.support.order_venues.bybit import BybitPlugin

    return VenueKit(
        name="bybit",
        plugin=BybitPlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BybitOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTCUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
            transport="rest",
        ),
        stream=lambda e, s: BybitUserStream(e, ws_url=s.ws_url + "/v5/private"),
        symbol="BTCUSDT",
        filters=Filters("0.1", "0.001", "0.001"),
        ack_only=True,
        dms_min_s=10.0,
        dms_disarm=False,
    )


def _okx() -> VenueKit:
    from bot.adapters.okx.orders import OkxOrderEntry
    from bot.adapters.okx.user_stream import OkxUserStream
    from tests.support.order_venues.okx import OkxPlugin

    return VenueKit(
        name="okx",
        plugin=OkxPlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: OkxOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTC-USDT-SWAP",),
            timeout_s=timeout_s,
            on_usage=on_usage,
        ),
        stream=lambda e, s: OkxUserStream(e, ws_url=s.ws_url + "/ws/v5/private"),
        symbol="BTC-USDT-SWAP",
        filters=Filters("0.1", "0.001", "0.001"),
        ack_only=True,
        dms_min_s=10.0,
        usage=False,
    )


def _bitget() -> VenueKit:
    from bot.adapters.bitget.orders import BitgetOrderEntry
    from bot.adapters.bitget.user_stream import BitgetUserStream
    from tests.support.order_venues.bitget import BitgetPlugin

    return VenueKit(
        name="bitget",
        plugin=BitgetPlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BitgetOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTCUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
        ),
        stream=lambda e, s: BitgetUserStream(e, ws_url=s.ws_url + "/v2/ws/private"),
        symbol="BTCUSDT",
        filters=Filters("0.1", "0.001", "0.001"),
        ack_only=True,
        usage=False,
    )


def _bingx() -> VenueKit:
    from bot.adapters.bingx.orders import BingxOrderEntry
    from bot.adapters.bingx.user_stream import BingxUserStream
    from tests.support.order_venues.bingx import BingxPlugin

    return VenueKit(
        name="bingx",
        plugin=BingxPlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BingxOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTC-USDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
        ),
        stream=lambda e, s: BingxUserStream(e, ws_url=s.ws_url + "/swap-market"),
        symbol="BTC-USDT",
        filters=Filters("0.1", "0.001", "0.001"),
        ack_only=True,
        dms_min_s=10.0,
        usage=False,
    )


def _bitmex() -> VenueKit:
    from bot.adapters.bitmex.orders import BitmexOrderEntry
    from bot.adapters.bitmex.user_stream import BitmexUserStream
    from tests.support.order_venues.bitmex import BitmexPlugin

    return VenueKit(
        name="bitmex",
        plugin=BitmexPlugin,
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BitmexOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("XBTUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
        ),
        stream=lambda e, s: BitmexUserStream(e, ws_url=s.ws_url + "/realtime"),
        symbol="XBTUSDT",
        filters=Filters("0.1", "0.001", "0.001"),
    )


def _binance_ws() -> VenueKit:
    from bot.adapters.binance_usdm.orders import BinanceOrderEntry
    from bot.adapters.binance_usdm.user_stream import BinanceUserStream

    base = _binance()
    return replace(
        base,
        name="binance-usdm-ws",
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BinanceOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTCUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
            transport="ws",
            ws_api_url=s.ws_url + "/ws-fapi/v1",
        ),
        stream=lambda e, s: BinanceUserStream(e, ws_url=s.ws_url),
    )


def _bybit_ws() -> VenueKit:
    from bot.adapters.bybit.orders import BybitOrderEntry

    base = _bybit()
    return replace(
        base,
        name="bybit-ws",
        entry=lambda s, on_usage=None, timeout_s=TIMEOUT_S: BybitOrderEntry(
            s.credentials,
            base_url=s.base_url,
            symbols=("BTCUSDT",),
            timeout_s=timeout_s,
            on_usage=on_usage,
            transport="ws",
            ws_trade_url=s.ws_url + "/v5/trade",
        ),
    )


KIT_FACTORIES: dict[str, Callable[[], VenueKit]] = {
    "binance-usdm": _binance,
    "bybit": _bybit,
    "bybit-ws": _bybit_ws,
    "binance-usdm-ws": _binance_ws,
    "okx": _okx,
    "bitget": _bitget,
    "bingx": _bingx,
    "bitmex": _bitmex,
}
