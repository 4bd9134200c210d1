"""Every venue's depth path next to its physical floor, and capture replay next to the live path.

Per venue, ``feed.on_message`` on a typical depth update, from frame text to book updated
(parse, exact fixed point, sequence check, the CRC32 checksum where the venue defines one, book
kernels), ns per message, against the floor measured in the same run on the same frames:
``orjson.loads`` of the frame (plus the gzip inflate for BingX, whose frames arrive gzipped).
A row's ``floor`` ratio is ours / floor; the targets are <= 2x for every venue and <= 1.5x for
Binance and Bybit. Frames are the real captures from ``../shared`` (Binance: the synthetic
chained frames of ``bench_ingest``, as no raw Binance depth capture is shared).

``convert_capture``: ``tickbot convert`` of a Binance depth capture as a whole process (gzip
and file I/O included; start-up subtracted by converting a tiny capture too), per message,
against the same frames through the feed in process.

Run: ``python -m benchmarks adapters``.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import orjson

from benchmarks.bench_ingest import make_frames, snapshot_body
from bot.adapters.base import EventBuffer, InstrumentRef, MarketDataFeed
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.bybit import BybitFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import new_books
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file

REPEATS = 15
"""Passes over each venue's frames (a fresh feed each pass: sequences restart)."""
BINANCE_FRAMES = 2_000
CONVERT_FRAMES = 100_000
CONVERT_SMALL = 100
TARGET = {"binance-usdm": 1.5, "bybit": 1.5}
DEFAULT_TARGET = 2.0

Frames = Sequence[str | bytes]


def _lines(venue: str, name: str) -> list[str]:
    return [x for x in fixture_file(venue, name).read_text().splitlines() if x.strip()]


def _p99(samples: list[int]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def _time_pair(
    make: Callable[[], tuple[MarketDataFeed, EventBuffer]],
    warm: Frames,
    timed: Frames,
    floor: Callable[[str | bytes], object],
) -> tuple[list[int], list[int]]:
    """Per-message ns of the feed and of the floor, interleaved pass by pass."""
    ours: list[int] = []
    base: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(REPEATS):
        for frame in timed:
            start = clock()
            floor(frame)
            base.append(clock() - start)
        feed, out = make()
        for frame in warm:
            feed.on_message(frame, 1, out)
        for frame in timed:
            out.clear()
            start = clock()
            feed.on_message(frame, 1, out)
            ours.append(clock() - start)
        assert not feed.invalid_instruments(), f"{feed.venue.label}: book went invalid"
    return ours, base


def _row(venue: str, what: str, ours: list[int], base: list[int], floor_name: str) -> dict:
    median = statistics.median(ours)
    floor = statistics.median(base)
    target = TARGET.get(venue, DEFAULT_TARGET)
    return {
        "name": f"{venue} {what}",
        "median": round(median),
        "p99": round(_p99(ours)),
        "unit": "ns/msg",
        "floor": {"name": floor_name, "median": round(floor), "target": target},
        "ratio_to_floor": round(median / floor, 2),
    }


def _books(window: int | None = None) -> tuple[Any, Any]:
    return new_books(1) if window is None else new_books(1, window=window)


def _connected(feed: MarketDataFeed, out: EventBuffer) -> None:
    for url in feed.ws_urls():
        feed.on_connect(0, out, url=url)
    feed.take_outgoing()


def _binance() -> dict:
    spec = InstrumentSpec(venue="binance-usdm", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    frames = make_frames(BINANCE_FRAMES + 1)
    body = snapshot_body()

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books()
        feed = BinanceUsdmFeed([InstrumentRef.of(0, spec)], qty, state, mark_price=False,
                               trades=False)  # fmt: skip
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        for request in feed.pending_snapshots():
            feed.on_snapshot(request, body, 0, out)
        return feed, out

    ours, base = _time_pair(make, frames[:1], frames[1:], orjson.loads)
    return _row("binance-usdm", "depthUpdate (10 levels) -> book", ours, base, "orjson.loads")


def _bybit() -> dict:
    spec = InstrumentSpec(venue="bybit", symbol="XRPUSDT", tick_size="0.0001", lot_size="1")
    frames = _lines("bybit", "ws_orderbook500_XRPUSDT_2024-12-01.ndjson")

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books()
        feed = BybitFeed([InstrumentRef.of(0, spec)], qty, state, depth=500, trades=False,
                         tickers=False)  # fmt: skip
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        return feed, out

    ours, base = _time_pair(make, frames[:1], frames[1:], orjson.loads)
    return _row("bybit", "orderbook.500 delta -> book", ours, base, "orjson.loads")


def _okx() -> dict:
    spec = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")
    frames = _lines("okx", "ws_books_BTC-USDT.ndjson")

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books()
        feed = OkxFeed([InstrumentRef.of(0, spec)], qty, state, channels=("books",))
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        return feed, out

    ours, base = _time_pair(make, frames[:1], frames[1:], orjson.loads)
    return _row("okx", "books update -> book + seq + crc32", ours, base, "orjson.loads")


def _bitget() -> dict:
    spec = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
    frames = _lines("bitget", "legacy_v1mix_ws_books_UNIUSDT.ndjson")

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books()
        feed = BitgetFeed([InstrumentRef.of(0, spec)], qty, state, channels=("books",))
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        return feed, out

    ours, base = _time_pair(make, frames[:1], frames[1:], orjson.loads)
    return _row("bitget", "books update -> book + crc32", ours, base, "orjson.loads")


def _bitmex() -> dict:
    spec = InstrumentSpec(venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100")
    frames = _lines("bitmex", "ws_orderBookL2_XBTUSD.ndjson")

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books(window=1 << 22)
        feed = BitmexFeed([InstrumentRef.of(0, spec)], qty, state, tables=("orderBookL2",))
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        return feed, out

    ours, base = _time_pair(make, frames[:1], frames[1:], orjson.loads)
    return _row("bitmex", "orderBookL2 insert/update/delete -> book", ours, base, "orjson.loads")


def _bingx() -> dict:
    spec = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
    raw = json.dumps(json.loads(fixture_file("bingx", "ws_PartialBook_push.json").read_text()))
    frames = [gzip.compress(raw.encode())] * 200

    def make() -> tuple[MarketDataFeed, EventBuffer]:
        qty, state = _books()
        feed = BingxFeed([InstrumentRef.of(0, spec)], qty, state, streams=("depth20@100ms",))
        out = EventBuffer(1 << 16)
        _connected(feed, out)
        return feed, out

    def floor(frame: str | bytes) -> object:
        assert isinstance(frame, bytes)
        return orjson.loads(gzip.decompress(frame))

    ours, base = _time_pair(make, frames[:1], frames[1:], floor)
    return _row("bingx", "depth20 push (gzip) -> book", ours, base, "gunzip + orjson.loads")


def _convert(path: Path, out: Path) -> float:
    """Wall seconds of one ``tickbot convert`` process."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "convert", str(path), "-o", str(out)],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    return time.perf_counter() - start


def _convert_capture() -> dict:
    """``tickbot convert`` per message (process start-up subtracted) vs the in-process path."""
    from bot.ingest.capture import write_capture

    spec = {"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001"}
    frames = make_frames(CONVERT_FRAMES)
    snap_src = "/fapi/v1/depth?symbol=BTCUSDT&limit=1000"
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for n in (CONVERT_SMALL, CONVERT_FRAMES):
            lines = [("rest", snap_src, snapshot_body().decode())]
            lines += [("ws", "/public/stream", f) for f in frames[:n]]
            path = Path(tmp) / f"cap{n}.ndjson.gz"
            write_capture(path, venue="binance-usdm", symbols=["BTCUSDT"], instruments=[spec],
                          lines=lines)  # fmt: skip
            paths.append(path)
        small = statistics.median(_convert(paths[0], Path(tmp) / "s.evt") for _ in range(3))
        big = statistics.median(_convert(paths[1], Path(tmp) / "b.evt") for _ in range(3))
    per_msg_ns = (big - small) / (CONVERT_FRAMES - CONVERT_SMALL) * 1e9

    ref = InstrumentRef.of(0, InstrumentSpec(**spec))
    out = EventBuffer(1 << 16)
    inproc: list[float] = []
    for _ in range(3):
        qty, state = new_books(1)
        feed = BinanceUsdmFeed([ref], qty, state, trades=False, mark_price=False)
        _connected(feed, out)
        # the capture order: the REST snapshot is recorded first and answers the request
        for request in feed.pending_snapshots():
            feed.on_snapshot(request, snapshot_body(), 0, out)
        start = time.perf_counter_ns()
        for frame in frames:
            out.clear()
            feed.on_message(frame, 1, out)
        inproc.append((time.perf_counter_ns() - start) / len(frames))
    base = statistics.median(inproc)
    return {
        "name": "convert_capture (binance depth, whole process)",
        "median": round(per_msg_ns),
        "p99": round(per_msg_ns),
        "unit": "ns/msg",
        "floor": {
            "name": "same frames -> book in process (mean)",
            "median": round(base),
            "target": 1.5,
        },
        "ratio_to_floor": round(per_msg_ns / base, 2),
        "note": f"start-up subtracted: {small:.2f} s for {CONVERT_SMALL} messages",
    }


def run() -> list[dict]:
    """Return one row per venue, and the capture-conversion row."""
    logging.getLogger("bot.adapters").setLevel(logging.ERROR)
    return [_binance(), _bybit(), _okx(), _bitget(), _bingx(), _bitmex(), _convert_capture()]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result))
