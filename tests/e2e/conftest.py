"""End-to-end tests: compile every venue's kernels once, before any test starts a deadline.

With a cold numba cache (a fresh clone, or any edit to the sources, which re-keys the cache) the
first frame a feed parses compiles its kernels: tens of seconds on a busy machine. The e2e
deadlines are about the feed and its connection, so compiling happens here, outside them.

Every loopback test runs on the WebSocket transport ``TICKBOT_TEST_TRANSPORT`` names (default:
the product's default); a test marked ``both_transports`` runs once per transport, so make test
covers the other transport on a representative test of each venue without doubling the suite.
"""

from __future__ import annotations

import gzip
import logging
from collections.abc import Iterator

import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.bybit import BybitFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import new_books
from bot.core.instruments import InstrumentSpec
from bot.ingest.transport import TRANSPORTS, TransportName
from tests.support import ingest
from tests.support.shared import OWN

_WRITTEN = (
    (BybitFeed, "bybit", "bybit", "BTCUSDT", "written_ws_orderbook50_BTCUSDT.ndjson"),
    (OkxFeed, "okx", "okx", "BTC-USDT-SWAP", "written_ws_books_BTC-USDT-SWAP.ndjson"),
    (BitgetFeed, "bitget", "bitget", "BTCUSDT", "written_ws_books_BTCUSDT.ndjson"),
    (BingxFeed, "bingx", "bingx", "BTC-USDT", "written_ws_incrDepth_BTC-USDT.ndjson"),
    (BitmexFeed, "bitmex", "bitmex", "XBTUSD", "written_ws_orderBookL2_XBTUSD.ndjson"),
    (
        BinanceUsdmFeed,
        "binance-usdm",
        "binance_usdm",
        "BTCUSDT",
        "written_ws_depth_diff_BTCUSDT.ndjson",
    ),
)


@pytest.fixture(scope="session", autouse=True)
def _compiled_feeds() -> None:
    """Replay the project's written book sequence through every venue's feed once."""
    logging.getLogger("bot.adapters").disabled = True  # a warm-up, not a test: no noise
    try:
        for feed_cls, venue, folder, symbol, name in _WRITTEN:
            spec = InstrumentSpec(venue=venue, symbol=symbol, tick_size="0.1",
                                  lot_size="1" if folder == "bitmex" else "0.001")  # fmt: skip
            qty, state = new_books(1, 1 << 12)
            feed = feed_cls([InstrumentRef.of(0, spec)], qty, state)
            out = EventBuffer()
            feed.on_connect(1, out, url=feed.ws_urls()[0])
            if folder == "binance_usdm":
                (request,) = feed.pending_snapshots()
                body = (OWN / folder / "written_rest_depth_snapshot_BTCUSDT.json").read_bytes()
                feed.on_snapshot(request, body, 2, out)
            for line in (OWN / folder / name).read_text().splitlines():
                # BingX frames arrive gzip-compressed and binary, the others as text
                feed.on_message(gzip.compress(line.encode()) if venue == "bingx" else line, 3, out)
    finally:
        logging.getLogger("bot.adapters").disabled = False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "both_transports: run once per WebSocket transport")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("both_transports"):
        metafunc.parametrize("ws_transport", TRANSPORTS, indirect=True)


@pytest.fixture(autouse=True)
def ws_transport(request: pytest.FixtureRequest) -> Iterator[TransportName]:
    """Select the transport ``fast_options`` uses for this test."""
    chosen: TransportName = getattr(request, "param", ingest.env_transport())
    before, ingest.transport = ingest.transport, chosen
    try:
        yield chosen
    finally:
        ingest.transport = before
