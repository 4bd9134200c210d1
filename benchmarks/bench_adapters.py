"""Frame-to-book latency of the OKX, Bitget, BitMEX and BingX feeds on the real captures.

Each row times ``feed.on_message`` per frame (decode, exact fixed-point conversion, sequence
check, book kernels and, for OKX/Bitget, the CRC32 checksum of the updated book) against a
baseline measured in the same run on the same frames: ``orjson.loads`` + ``Decimal`` per level
into a dict book (and, for OKX/Bitget, the checksum over the dict book's top 25 with zlib), the
way most Python feed handlers do it. Run: ``python -m benchmarks.bench_adapters``.
"""

from __future__ import annotations

import gzip
import json
import logging
import statistics
import time
import zlib
from collections.abc import Callable
from decimal import Decimal

import orjson

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import new_books
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file

REPEATS = 15


def _lines(venue: str, name: str) -> list[str]:
    return [x for x in fixture_file(venue, name).read_text().splitlines() if x.strip()]


def _stats(samples_ns: list[int]) -> tuple[float, float]:
    samples = sorted(samples_ns)
    p99 = samples[min(len(samples) - 1, int(0.99 * len(samples)))]
    return statistics.median(samples) / 1000, p99 / 1000


def _time_feed(make: Callable[[], object], warm: list, timed: list) -> list[int]:
    samples: list[int] = []
    for _ in range(REPEATS):
        feed = make()
        out = EventBuffer(1 << 16)
        for frame in warm:
            feed.on_message(frame, 0, out)
        for frame in timed:
            out.clear()
            start = time.perf_counter_ns()
            feed.on_message(frame, 0, out)
            samples.append(time.perf_counter_ns() - start)
    return samples


def _dict_checksum(bids: dict, asks: dict) -> int:
    top_b = sorted(bids.items(), key=lambda kv: -kv[0])[:25]
    top_a = sorted(asks.items(), key=lambda kv: kv[0])[:25]
    parts = []
    for i in range(25):
        for side in (top_b, top_a):
            if i < len(side):
                parts += [side[i][1][0], side[i][1][1]]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc >= 1 << 31 else crc


def _baseline_levels(frames: list, checksum: bool, decode=orjson.loads) -> list[int]:
    """orjson + Decimal per level into dict books (+ zlib checksum of the top 25)."""
    samples: list[int] = []
    for _ in range(REPEATS):
        bids: dict = {}
        asks: dict = {}
        for k, frame in enumerate(frames):
            start = time.perf_counter_ns()
            msg = decode(frame)
            data = msg["data"][0] if isinstance(msg["data"], list) else msg["data"]
            for side, book in (("bids", bids), ("asks", asks)):
                for level in data[side]:
                    price, size = Decimal(level[0]), Decimal(level[1])
                    if size:
                        book[price] = (level[0], level[1])
                    else:
                        book.pop(price, None)
            if checksum and data.get("checksum"):
                _dict_checksum(bids, asks)
            if k:
                samples.append(time.perf_counter_ns() - start)
    return samples


def _baseline_bitmex(frames: list[str]) -> list[int]:
    samples: list[int] = []
    for _ in range(REPEATS):
        ids: dict = {}
        book: dict = {}
        for k, frame in enumerate(frames):
            start = time.perf_counter_ns()
            msg = orjson.loads(frame)
            for row in msg["data"]:
                key = (row["side"], row["id"])
                if msg["action"] in ("partial", "insert"):
                    ids[key] = Decimal(repr(row["price"]))
                    book[(row["side"], ids[key])] = Decimal(row["size"])
                elif msg["action"] == "update":
                    book[(row["side"], ids[key])] = Decimal(row["size"])
                else:
                    book.pop((row["side"], ids.pop(key)), None)
            if k:
                samples.append(time.perf_counter_ns() - start)
    return samples


def _row(name: str, feed_ns: list[int], base_name: str, base_ns: list[int]) -> dict:
    median, p99 = _stats(feed_ns)
    return {
        "name": name,
        "median": round(median, 2),
        "p99": round(p99, 2),
        "unit": "us/message",
        "baseline": {"name": base_name, "median": round(_stats(base_ns)[0], 2)},
    }


def _okx() -> dict:
    spec = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")
    frames = _lines("okx", "ws_books_BTC-USDT.ndjson")

    def make():
        qty, state = new_books(1)
        return OkxFeed([InstrumentRef.of(0, spec)], qty, state)

    return _row(
        "okx books update (~40 levels) -> book + seq + crc32",
        _time_feed(make, frames[:1], frames[1:]),
        "orjson + Decimal per level + dict book + zlib crc32",
        _baseline_levels(frames, checksum=True),
    )


def _bitget() -> dict:
    spec = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
    frames = _lines("bitget", "legacy_v1mix_ws_books_UNIUSDT.ndjson")

    def make():
        qty, state = new_books(1)
        return BitgetFeed([InstrumentRef.of(0, spec)], qty, state)

    return _row(
        "bitget books update -> book + crc32",
        _time_feed(make, frames[:1], frames[1:]),
        "orjson + Decimal per level + dict book + zlib crc32",
        _baseline_levels(frames, checksum=True),
    )


def _bitmex() -> dict:
    spec = InstrumentSpec(venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100")
    frames = _lines("bitmex", "ws_orderBookL2_XBTUSD.ndjson")

    def make():
        qty, state = new_books(1, window=1 << 22)
        return BitmexFeed([InstrumentRef.of(0, spec)], qty, state)

    return _row(
        "bitmex orderBookL2 insert/update/delete -> book",
        _time_feed(make, frames[:1], frames[1:]),
        "orjson + Decimal per row + id map + dict book",
        _baseline_bitmex(frames),
    )


def _bingx() -> dict:
    spec = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
    raw = json.dumps(json.loads(fixture_file("bingx", "ws_PartialBook_push.json").read_text()))
    frames = [gzip.compress(raw.encode())] * 50

    def make():
        qty, state = new_books(1)
        return BingxFeed([InstrumentRef.of(0, spec)], qty, state, streams=("depth20@100ms",))

    return _row(
        "bingx depth20 snapshot (gzip) -> book",
        _time_feed(make, frames[:1], frames[1:]),
        "gunzip + orjson + Decimal per level + dict book",
        _baseline_levels(frames, checksum=False, decode=lambda f: orjson.loads(gzip.decompress(f))),
    )


def run() -> list[dict]:
    """Return one row per feed: our median/p99 per message and the baseline's median."""
    logging.getLogger("bot.adapters").setLevel(logging.ERROR)
    return [_okx(), _bitget(), _bitmex(), _bingx()]


if __name__ == "__main__":
    for result in run():
        print(json.dumps(result))
