"""Gaps and resyncs are exported per venue and per stream: the connection that carries the books."""

from __future__ import annotations

from bot.adapters.base import FeedStats, InstrumentRef, Reason
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.core.book import new_books
from bot.core.instruments import InstrumentSpec
from bot.ingest.metrics import FeedMetrics
from bot.ingest.supervisor import book_stream
from bot.metrics.registry import REGISTRY

VENUE = "binance-usdm"
STREAM = "/public/stream"


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_book_stream_is_the_depth_connection_not_the_trades_one() -> None:
    spec = InstrumentSpec(venue=VENUE, symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    qty, state = new_books(1, 1 << 10)
    feed = BinanceUsdmFeed([InstrumentRef.of(0, spec)], qty, state, ws_url="ws://127.0.0.1:9")
    assert len(feed.ws_urls()) == 2  # /public (depth) and /market (trades, mark price)
    assert book_stream(feed) == STREAM


def test_gaps_and_resyncs_count_the_deltas_per_stream() -> None:
    metrics = FeedMetrics(VENUE, {0: "BTCUSDT"}, STREAM)
    gaps0 = _sample("tickbot_market_data_gaps_total", venue=VENUE, stream=STREAM)
    resyncs0 = _sample(
        "tickbot_market_data_resyncs_total", venue=VENUE, stream=STREAM, reason=Reason.GAP
    )
    stats = FeedStats(gaps=2, by_reason={Reason.GAP: 2})
    metrics.export(stats, [])
    stats.gaps, stats.by_reason[Reason.GAP] = 3, 3
    metrics.export(stats, [0])
    assert _sample("tickbot_market_data_gaps_total", venue=VENUE, stream=STREAM) == gaps0 + 3
    resyncs = _sample(
        "tickbot_market_data_resyncs_total", venue=VENUE, stream=STREAM, reason=Reason.GAP
    )
    assert resyncs == resyncs0 + 3
    assert _sample("tickbot_book_invalid", venue=VENUE, symbol="BTCUSDT") == 1
