"""Venue registry for ingest: build a feed and fetch instrument specs by venue id.

The composition root (CLI, app) picks venues by their config name; each entry knows how to
construct the venue's feed over shared books and where its exchange-info endpoint is, so that
``tickbot record``, ``tickbot convert --format capture`` and the live app treat all six venues
alike. Venues from other installed distributions join through the ``tickbot.venues`` entry-point
group: each names a ``VenueEntry`` (``name = "package.module:ENTRY"``). The core numbers venues
(``VenueId``, one byte in every event row), so a plugin serves a venue id the core knows but this
package ships no feed for (``deribit``, ``coinbase``, ``kraken``, ...); a shipped venue wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import aiohttp
import numpy as np

from bot.adapters import binance_usdm, bybit
from bot.adapters.base import InstrumentRef, MarketDataFeed
from bot.adapters.binance_usdm import constants as binance_c
from bot.adapters.bingx import constants as bingx_c
from bot.adapters.bingx.parse import parse_bingx_contracts
from bot.adapters.bitget import constants as bitget_c
from bot.adapters.bitget.parse import parse_bitget_contracts
from bot.adapters.bitmex import constants as bitmex_c
from bot.adapters.bitmex.parse import parse_bitmex_instruments
from bot.adapters.bybit import constants as bybit_c
from bot.adapters.errors import FatalError, RetryableError
from bot.adapters.feeds import FEEDS, FeedFactory
from bot.adapters.okx import constants as okx_c
from bot.adapters.okx.parse import parse_okx_instruments
from bot.core.dtypes import VENUE_NAMES
from bot.core.instruments import InstrumentError, InstrumentSpec

ENTRY_POINT_GROUP = "tickbot.venues"
"""Entry-point group of venues installed from other distributions (each a ``VenueEntry``)."""


@dataclass(frozen=True, slots=True)
class VenueEntry:
    """How to build one venue's feed and read its instrument specs."""

    name: str
    make_feed: FeedFactory
    """``make_feed(refs, qty, state, **overrides)``; overrides are the feed's keyword options."""
    rest_base_url: str
    specs_paths: Callable[[Sequence[str]], list[str]]
    """REST paths whose bodies together hold the specs of the given symbols."""
    parse_specs: Callable[[bytes, Sequence[str]], list[InstrumentSpec]]
    streams: tuple[str, ...] = ()
    """The venue's public streams the feed subscribes by default (listed by ``tickbot venues``)."""
    order_entry: str = ""
    """``module:Class`` of the venue's signed ``OrderEntry`` ("" when it is market data only);
    ``tickbot venues`` reads its ``capabilities`` and whether it has a testnet."""


def _picking(
    venue_name: str, parse_all: Callable[[bytes], list[InstrumentSpec]]
) -> Callable[[bytes, Sequence[str]], list[InstrumentSpec]]:
    """Adapt a parser of a whole instruments response to ``parse_specs(body, symbols)``.

    Return the specs of ``symbols`` in order; a malformed body or a symbol the venue does not
    list is an ``InstrumentError`` (a clear user error, not a traceback).
    """

    def parse(body: bytes, symbols: Sequence[str]) -> list[InstrumentSpec]:
        try:
            found = {spec.symbol: spec for spec in parse_all(body)}
        except ValueError as e:  # msgspec decode/validation errors are ValueErrors too
            raise InstrumentError(f"{venue_name} instruments: {e}") from None
        missing = [s for s in symbols if s not in found]
        if missing:
            raise InstrumentError(f"{venue_name}: unknown symbols {', '.join(missing)}")
        return [found[s] for s in symbols]

    return parse


_ENTRIES = (
    VenueEntry(
        name="binance-usdm",
        make_feed=FEEDS["binance-usdm"],
        rest_base_url=binance_c.REST_BASE_URL,
        specs_paths=lambda symbols: [binance_c.EXCHANGE_INFO_PATH],
        parse_specs=binance_usdm.parse_exchange_info,
        streams=("depth@100ms", "bookTicker", "aggTrade", "markPrice@1s"),
        order_entry="bot.adapters.binance_usdm.orders:BinanceOrderEntry",
    ),
    VenueEntry(
        name="bybit",
        make_feed=FEEDS["bybit"],
        rest_base_url=bybit_c.REST_BASE_URL,
        specs_paths=lambda symbols: [
            f"{bybit_c.INSTRUMENTS_PATH}?category=linear&symbol={s}" for s in symbols
        ],
        parse_specs=bybit.parse_instruments_info,
        streams=("orderbook.50", "publicTrade", "tickers"),
        order_entry="bot.adapters.bybit.orders:BybitOrderEntry",
    ),
    VenueEntry(
        name="okx",
        make_feed=FEEDS["okx"],
        rest_base_url=okx_c.REST_URL,
        specs_paths=lambda symbols: [okx_c.INSTRUMENTS_PATH],
        parse_specs=_picking("okx", parse_okx_instruments),
        streams=okx_c.DEFAULT_CHANNELS,
        order_entry="bot.adapters.okx.orders:OkxOrderEntry",
    ),
    VenueEntry(
        name="bitget",
        make_feed=FEEDS["bitget"],
        rest_base_url=bitget_c.REST_URL,
        specs_paths=lambda symbols: [bitget_c.CONTRACTS_PATH],
        parse_specs=_picking("bitget", parse_bitget_contracts),
        streams=bitget_c.DEFAULT_CHANNELS,
        order_entry="bot.adapters.bitget.orders:BitgetOrderEntry",
    ),
    VenueEntry(
        name="bingx",
        make_feed=FEEDS["bingx"],
        rest_base_url=bingx_c.REST_URL,
        specs_paths=lambda symbols: [bingx_c.CONTRACTS_PATH],
        parse_specs=_picking("bingx", parse_bingx_contracts),
        streams=bingx_c.DEFAULT_STREAMS,
        order_entry="bot.adapters.bingx.orders:BingxOrderEntry",
    ),
    VenueEntry(
        name="bitmex",
        make_feed=FEEDS["bitmex"],
        rest_base_url=bitmex_c.REST_URL,
        specs_paths=lambda symbols: [bitmex_c.INSTRUMENT_PATH.format(symbol=s) for s in symbols],
        parse_specs=_picking("bitmex", parse_bitmex_instruments),
        streams=bitmex_c.DEFAULT_TABLES,
        order_entry="bot.adapters.bitmex.orders:BitmexOrderEntry",
    ),
)
VENUES: dict[str, VenueEntry] = {entry.name: entry for entry in _ENTRIES}
"""The venues shipped in this package; ``all_venues()`` adds the installed plugins."""


def plugin_entry_points() -> dict[str, metadata.EntryPoint]:
    """Return the ``tickbot.venues`` entry points of installed distributions, by name.

    A name a shipped venue has is left out (``venue`` could never reach it).
    """
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name not in VENUES:
            found.setdefault(ep.name, ep)
    return found


def _load_plugin(ep: metadata.EntryPoint) -> VenueEntry:
    """Load one venue entry point; ``ValueError`` (one line) if it is not a usable entry."""
    where = f"venue {ep.name!r} ({ep.value}, entry point {ENTRY_POINT_GROUP})"
    try:
        entry = ep.load()
    except (ImportError, AttributeError) as e:
        raise ValueError(f"{where} does not import: {e}") from None
    if not isinstance(entry, VenueEntry):
        raise ValueError(f"{where} must be a VenueEntry, not {type(entry).__name__}")
    if entry.name != ep.name:
        raise ValueError(f"{where} is named {entry.name!r}")
    if entry.name not in VENUE_NAMES.values():
        known = ", ".join(v for v in VENUE_NAMES.values() if v not in VENUES)
        raise ValueError(f"{where}: the core has no venue id for it (free ids: {known})")
    return entry


def all_venues() -> dict[str, VenueEntry]:
    """Return the shipped venues and every installed plugin venue, by name."""
    found = dict(VENUES)
    for name, ep in plugin_entry_points().items():
        found[name] = _load_plugin(ep)
    return found


def venue(name: str) -> VenueEntry:
    """Return the registry entry of venue ``name`` or raise ``ValueError`` listing known ones."""
    entry = VENUES.get(name)
    if entry is not None:
        return entry
    ep = plugin_entry_points().get(name)
    if ep is None:
        known = sorted({*VENUES, *plugin_entry_points()})
        raise ValueError(f"unknown venue {name!r}; supported: {', '.join(known)}")
    return _load_plugin(ep)


def build_feed(
    name: str,
    specs: Sequence[InstrumentSpec],
    qty: np.ndarray,
    state: np.ndarray,
    *,
    first_instrument: int = 0,
    **options: Any,
) -> MarketDataFeed:
    """Build venue ``name``'s feed for ``specs`` (instrument ids from ``first_instrument``)."""
    refs = [InstrumentRef.of(first_instrument + k, s) for k, s in enumerate(specs)]
    return venue(name).make_feed(refs, qty, state, **options)


async def fetch_specs(
    http: aiohttp.ClientSession,
    name: str,
    symbols: Sequence[str],
    *,
    rest_base_url: str | None = None,
    timeout_s: float = 15.0,
) -> list[InstrumentSpec]:
    """GET the venue's exchange-info endpoint(s); return the specs of ``symbols`` in order."""
    entry = venue(name)
    base = (rest_base_url or entry.rest_base_url).rstrip("/")
    found: dict[str, InstrumentSpec] = {}
    paths = entry.specs_paths(symbols)
    for index, path in enumerate(paths):
        try:
            async with asyncio.timeout(timeout_s), http.get(base + path) as reply:
                body = await reply.read()
                status = reply.status
        except (aiohttp.ClientError, OSError, TimeoutError) as e:
            raise RetryableError(
                f"{name}: instrument specs unavailable ({type(e).__name__})"
            ) from None
        if status != 200:
            raise FatalError(f"{name}: instrument specs request {path} answered HTTP {status}")
        wanted = symbols if len(paths) == 1 else [symbols[index]]
        for spec in entry.parse_specs(body, wanted):
            found[spec.symbol] = spec
    return [found[s] for s in symbols]
