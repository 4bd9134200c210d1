"""Book sync of all six venues on sequences this project wrote (``tests/fixtures/*/written_*``).

These run without the shared samples: a snapshot and eight updates in each venue's wire format
(deletes, a deleted best level on either side, a new best bid, a delete of an absent level, and
the checksum or sequence numbers the venue sends). Each replay must end in exactly the book an
independent reading of the same frames gives (every level and size), and a dropped update must
invalidate the book and ask for recovery.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pytest

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.adapters.bingx import BingxFeed
from bot.adapters.bitget import BitgetFeed
from bot.adapters.bitmex import BitmexFeed
from bot.adapters.bybit import BybitFeed
from bot.adapters.okx import OkxFeed
from bot.core.book import ST_ASK_LEVELS, ST_BID_LEVELS, ST_VALID, depth, new_books
from bot.core.instruments import InstrumentSpec
from tests.support.shared import OWN

Book = tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]
"""(bids, asks) as {price: size}."""


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL)  # the fault tests log resyncs by design


def frames(venue: str, name: str) -> list[str]:
    return [ln for ln in (OWN / venue / name).read_text().splitlines() if ln.strip()]


def _apply(side: dict[Decimal, Decimal], levels: list[list[str]]) -> None:
    for level in levels:
        price, size = Decimal(level[0]), Decimal(level[1])
        if size == 0:
            side.pop(price, None)
        else:
            side[price] = size


def levels_oracle(read: Callable[[dict], tuple[bool, list, list]]) -> Callable[[list[str]], Book]:
    """An oracle for venues that send ``[price, size, ...]`` levels and full snapshots."""

    def oracle(lines: list[str]) -> Book:
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for line in lines:
            snapshot, b, a = read(json.loads(line))
            if snapshot:
                bids.clear()
                asks.clear()
            _apply(bids, b)
            _apply(asks, a)
        return bids, asks

    return oracle


def bitmex_oracle(lines: list[str]) -> Book:
    """Rows keyed by (side, id); update and delete rows may omit the price."""
    rows: dict[tuple[str, int], tuple[Decimal, Decimal]] = {}
    for line in lines:
        msg = json.loads(line)
        for row in msg["data"]:
            key = (row["side"], row["id"])
            if msg["action"] == "partial" or msg["action"] == "insert":
                rows[key] = (Decimal(str(row["price"])), Decimal(row["size"]))
            elif msg["action"] == "update":
                rows[key] = (rows[key][0], Decimal(row["size"]))
            else:
                del rows[key]
    bids = {p: s for (side, _), (p, s) in rows.items() if side == "Buy"}
    asks = {p: s for (side, _), (p, s) in rows.items() if side == "Sell"}
    return bids, asks


@dataclass(frozen=True)
class Case:
    venue: str
    feed: type
    spec: InstrumentSpec
    capture: str
    oracle: Callable[[list[str]], Book]
    drop: int
    """Index of a frame whose loss the feed must notice."""


def _okx(msg: dict) -> tuple[bool, list, list]:
    data = msg["data"][0]
    return msg["action"] == "snapshot", data["bids"], data["asks"]


def _bybit(msg: dict) -> tuple[bool, list, list]:
    return msg["type"] == "snapshot", msg["data"]["b"], msg["data"]["a"]


def _bingx(msg: dict) -> tuple[bool, list, list]:
    data = msg["data"]
    return data["action"] == "all", data["bids"], data["asks"]


def _spec(venue: str, symbol: str, lot: str = "0.001", **kw: object) -> InstrumentSpec:
    return InstrumentSpec(venue=venue, symbol=symbol, tick_size="0.1", lot_size=lot, **kw)


CASES = [
    Case("bybit", BybitFeed, _spec("bybit", "BTCUSDT"), "written_ws_orderbook50_BTCUSDT.ndjson",
         levels_oracle(_bybit), 4),
    Case("okx", OkxFeed, _spec("okx", "BTC-USDT-SWAP"), "written_ws_books_BTC-USDT-SWAP.ndjson",
         levels_oracle(_okx), 4),
    Case("bitget", BitgetFeed, _spec("bitget", "BTCUSDT"), "written_ws_books_BTCUSDT.ndjson",
         levels_oracle(_okx), 4),
    Case("bingx", BingxFeed, _spec("bingx", "BTC-USDT"), "written_ws_incrDepth_BTC-USDT.ndjson",
         levels_oracle(_bingx), 4),
    # frame 6 inserts the new best bid that frame 12 updates: losing it is an unknown id
    Case("bitmex", BitmexFeed, _spec("bitmex", "XBTUSD", lot="1", inverse=True),
         "written_ws_orderBookL2_XBTUSD.ndjson", bitmex_oracle, 6),
]  # fmt: skip


def book_is(qty: np.ndarray, state: np.ndarray, spec: InstrumentSpec, book: Book) -> bool:
    """Whether instrument 0's book is valid and holds exactly ``book``'s levels and sizes."""
    if state[0, ST_VALID] != 1:
        return False
    for side, (levels, count) in enumerate(zip(book, (ST_BID_LEVELS, ST_ASK_LEVELS), strict=True)):
        n = int(state[0, count])
        px = np.zeros(max(n, 1), dtype=np.int64)
        sz = np.zeros(max(n, 1), dtype=np.int64)
        depth(qty, state, 0, side, n, px, sz)
        want = sorted(levels.items(), reverse=side == 0)
        got = list(zip(px[:n].tolist(), sz[:n].tolist(), strict=True))
        if got != [(spec.tick.to_units(str(p)), spec.lot.to_units(str(s))) for p, s in want]:
            return False
    return True


def make(case: Case) -> tuple[object, np.ndarray, np.ndarray, EventBuffer]:
    qty, state = new_books(1, 1 << 12)
    feed = case.feed([InstrumentRef.of(0, case.spec)], qty, state)
    out = EventBuffer()
    feed.on_connect(1, out, url=feed.ws_urls()[0])
    feed.take_outgoing()
    return feed, qty, state, out


@pytest.mark.parametrize("case", CASES, ids=[c.venue for c in CASES])
def test_replay_ends_in_the_oracle_book_and_every_message_leaves_it_valid(case: Case) -> None:
    lines = frames(case.venue, case.capture)
    feed, qty, state, out = make(case)
    for k, line in enumerate(lines):
        feed.on_message(line, 10 + k, out)
        assert book_is(qty, state, case.spec, case.oracle(lines[: k + 1])), f"after frame {k}"
    assert feed.stats.malformed == 0
    assert feed.invalid_instruments() == []
    assert feed.take_outgoing() == ()  # no resubscription was needed


@pytest.mark.parametrize("case", CASES, ids=[c.venue for c in CASES])
def test_a_lost_message_invalidates_the_book_and_asks_for_a_new_snapshot(case: Case) -> None:
    lines = frames(case.venue, case.capture)
    feed, _qty, state, out = make(case)
    for k, line in enumerate(lines):
        if k != case.drop:
            feed.on_message(line, 10 + k, out)
    assert state[0, ST_VALID] == 0
    assert feed.invalid_instruments() == [0]
    assert feed.take_outgoing() != ()  # the resubscription that brings a fresh snapshot


BINANCE = _spec("binance-usdm", "BTCUSDT")


def binance_oracle(snapshot: bytes, diffs: list[str]) -> Book:
    """The venue's documented algorithm on the written frames (see docs/venues.md)."""
    snap = json.loads(snapshot)
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    _apply(bids, snap["bids"])
    _apply(asks, snap["asks"])
    for line in diffs:
        data = json.loads(line)["data"]
        if data["u"] < snap["lastUpdateId"]:
            continue
        _apply(bids, data["b"])
        _apply(asks, data["a"])
    return bids, asks


def _binance() -> tuple[BinanceUsdmFeed, np.ndarray, np.ndarray, EventBuffer]:
    qty, state = new_books(1, 1 << 12)
    feed = BinanceUsdmFeed([InstrumentRef.of(0, BINANCE)], qty, state)
    out = EventBuffer()
    feed.on_connect(1, out, url=feed.ws_urls()[0])
    return feed, qty, state, out


@pytest.mark.parametrize("at", [0, 1, 3], ids=["snapshot-first", "after-stale", "buffered"])
def test_binance_snapshot_and_diffs_end_in_the_oracle_book(at: int) -> None:
    """The snapshot arrives before any diff, after the stale one, or with diffs buffered."""
    snapshot = (OWN / "binance_usdm" / "written_rest_depth_snapshot_BTCUSDT.json").read_bytes()
    diffs = frames("binance_usdm", "written_ws_depth_diff_BTCUSDT.ndjson")
    feed, qty, state, out = _binance()
    (request,) = feed.pending_snapshots()
    for line in diffs[:at]:
        feed.on_message(line, 2, out)
    feed.on_snapshot(request, snapshot, 3, out)
    for line in diffs[at:]:
        feed.on_message(line, 4, out)
    assert book_is(qty, state, BINANCE, binance_oracle(snapshot, diffs))
    assert feed.stats.dropped_stale == 1  # the diff older than the snapshot
    assert feed.stats.gaps == 0
    assert feed.invalid_instruments() == []


def test_binance_lost_diff_invalidates_and_requests_a_new_snapshot() -> None:
    snapshot = (OWN / "binance_usdm" / "written_rest_depth_snapshot_BTCUSDT.json").read_bytes()
    diffs = frames("binance_usdm", "written_ws_depth_diff_BTCUSDT.ndjson")
    feed, _qty, state, out = _binance()
    (request,) = feed.pending_snapshots()
    feed.on_snapshot(request, snapshot, 3, out)
    for k, line in enumerate(diffs):
        if k != 4:
            feed.on_message(line, 4, out)
    assert feed.stats.gaps == 1
    assert state[0, ST_VALID] == 0
    assert [r.instrument for r in feed.pending_snapshots()] == [0]
