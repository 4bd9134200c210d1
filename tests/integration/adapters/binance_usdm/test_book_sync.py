"""Binance USD-M book sync on the real 2021 capture, without sockets."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from bot.adapters.base import EventBuffer, SnapshotRequest
from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from bot.core.dtypes import EventFlag, EventKind
from tests.support import binance as bn
from tests.support.books import book_from_rows, valid_books_uncrossed
from tests.support.shared import fixture_file

TICK = Decimal("0.00001")


def make_feed(window: int = 1 << 12) -> tuple[BinanceUsdmFeed, np.ndarray, np.ndarray, EventBuffer]:
    qty, state = new_books(len(bn.SYMBOLS), window)
    feed = BinanceUsdmFeed(bn.refs(), qty, state)
    out = EventBuffer()
    feed.on_connect(1, out, url=feed.ws_urls()[0])
    return feed, qty, state, out


def sync_symbol(
    feed: BinanceUsdmFeed, out: EventBuffer, request: SnapshotRequest, frames: list[str], at: int
) -> None:
    """Feed ``frames``, answering the snapshot request after the first ``at`` frames."""
    k = request.instrument
    for frame in frames[:at]:
        feed.on_message(frame, 2, out)
    feed.on_snapshot(request, bn.snapshot(bn.SYMBOLS[k]), 3, out)
    for frame in frames[at:]:
        feed.on_message(frame, 4, out)


def ticks(price: str) -> int:
    return int(Decimal(price) / TICK)


@pytest.mark.parametrize("at", [0, 3, 8, 40])
def test_final_books_equal_the_expected_replay(at: int) -> None:
    feed, _qty, state, out = make_feed()
    pending = list(feed.pending_snapshots())
    assert [r.path for r in pending] == [bn.DEPTH_PATH.format(symbol=s) for s in bn.SYMBOLS]
    expected = bn.expected()
    for k, symbol in enumerate(bn.SYMBOLS):
        sync_symbol(feed, out, pending[k], bn.lines("depth_diff", symbol), at)
        exp = expected[symbol]
        assert state[k, ST_VALID] == 1
        assert state[k, ST_BEST_BID] == ticks(exp["final_best_bid"][0])
        assert state[k, ST_BEST_ASK] == ticks(exp["final_best_ask"][0])
        bids, asks = book_from_rows(out.view(), k)
        assert bids[ticks(exp["final_best_bid"][0])] == int(exp["final_best_bid"][1])
        assert asks[ticks(exp["final_best_ask"][0])] == int(exp["final_best_ask"][1])
        # Level counts: the emitted rows hold the whole book (the numba window holds the top).
        assert len(bids) == exp["bid_levels"]
        assert len(asks) == exp["ask_levels"]
    assert feed.stats.gaps == 0
    assert feed.stats.malformed == 0
    assert feed.invalid_instruments() == []
    drops = sum(expected[s]["dropped_before_sync"] for s in bn.SYMBOLS)
    assert feed.stats.dropped_stale == drops


def test_rows_in_window_match_the_kernel_book() -> None:
    feed, qty, state, out = make_feed()
    pending = list(feed.pending_snapshots())
    sync_symbol(feed, out, pending[0], bn.lines("depth_diff", "AKROUSDT"), 5)
    bids, asks = book_from_rows(out.view(), 0)
    base = int(state[0, 0])
    window = qty.shape[2]
    in_window = {p: q for p, q in bids.items() if base <= p < base + window}
    kernel = {base + i: int(q) for i, q in enumerate(qty[0, 0]) if q}
    assert kernel == in_window
    in_window = {p: q for p, q in asks.items() if base <= p < base + window}
    kernel = {base + i: int(q) for i, q in enumerate(qty[0, 1]) if q}
    assert kernel == in_window


def test_book_ticker_cross_checks_agree_with_the_rebuilt_book() -> None:
    """Whenever a bookTicker has the u of an applied diff, our top level equals it."""
    expected = bn.expected()
    for k, symbol in enumerate(bn.SYMBOLS):
        feed, _qty, state, out = make_feed()
        tickers = {
            json.loads(t)["data"]["u"]: json.loads(t)["data"]
            for t in bn.lines("bookTicker", symbol)
        }
        request = next(r for r in feed.pending_snapshots() if r.instrument == k)
        frames = bn.lines("depth_diff", symbol)
        feed.on_snapshot(request, bn.snapshot(symbol), 1, out)
        checks = 0
        for frame in frames:
            feed.on_message(frame, 2, out)
            u = json.loads(frame)["data"]["u"]
            if u in tickers and state[k, ST_VALID]:
                t = tickers[u]
                assert state[k, ST_BEST_BID] == ticks(t["b"])
                assert state[k, ST_BEST_ASK] == ticks(t["a"])
                checks += 1
        assert checks == expected[symbol]["bookTicker_crosschecks"]


def test_live_book_ticker_cross_check_runs_and_passes() -> None:
    feed, _qty, _state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    frames = [(json.loads(f)["data"]["E"], f) for f in bn.lines("depth_diff", "AKROUSDT")]
    frames += [(json.loads(f)["data"]["E"], f) for f in bn.lines("bookTicker", "AKROUSDT")]
    for _, frame in sorted(frames, key=lambda x: x[0]):
        feed.on_message(frame, 2, out)
    assert feed.stats.by_reason.get("bbo_checked", 0) >= 1
    assert feed.stats.by_reason.get("bbo_mismatch", 0) == 0
    rows = out.view()
    assert (rows["kind"] == EventKind.BBO_BID).sum() == len(bn.lines("bookTicker", "AKROUSDT"))


def test_a_dropped_diff_is_a_gap_that_invalidates_only_that_instrument() -> None:
    feed, _qty, state, out = make_feed()
    pending = list(feed.pending_snapshots())
    for k, symbol in enumerate(bn.SYMBOLS):
        feed.on_snapshot(pending[k], bn.snapshot(symbol), 1, out)
    akro = bn.lines("depth_diff", "AKROUSDT")
    for frame in bn.lines("depth_diff", "CTKUSDT")[:50]:
        feed.on_message(frame, 2, out)
    for frame in akro[:30]:
        feed.on_message(frame, 2, out)
    n_before = out.n
    feed.on_message(akro[31], 3, out)  # akro[30] is lost
    assert feed.stats.gaps == 1
    assert state[0, ST_VALID] == 0
    assert state[1, ST_VALID] == 1
    assert feed.invalid_instruments() == [0]
    new_rows = out.view()[n_before:]
    assert list(new_rows["kind"]) == [EventKind.BOOK_INVALID]
    assert new_rows[0]["flags"] & EventFlag.BATCH_END
    again = feed.pending_snapshots()
    assert [r.instrument for r in again] == [0]
    # The true book a little later recovers the instrument through the buffered diffs.
    for frame in akro[32:40]:
        feed.on_message(frame, 4, out)
    feed.on_snapshot(again[0], bn.snapshot_after("AKROUSDT", 35), 5, out)
    for frame in akro[40:]:
        feed.on_message(frame, 6, out)
    exp = bn.expected()["AKROUSDT"]
    assert state[0, ST_VALID] == 1
    assert state[0, ST_BEST_BID] == ticks(exp["final_best_bid"][0])
    assert state[0, ST_BEST_ASK] == ticks(exp["final_best_ask"][0])
    assert feed.stats.resyncs == 3  # two connects and one gap
    assert feed.stats.by_reason["gap"] == 1


def test_a_snapshot_older_than_the_buffer_is_refetched() -> None:
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    akro = bn.lines("depth_diff", "AKROUSDT")
    for frame in akro[20:30]:  # diffs well after the snapshot's lastUpdateId
        feed.on_message(frame, 2, out)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 3, out)
    assert state[0, ST_VALID] == 0
    assert feed.stats.gaps == 1
    assert [r.instrument for r in feed.pending_snapshots()] == [0]


def test_duplicates_are_dropped_and_out_of_order_diffs_resync() -> None:
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    akro = bn.lines("depth_diff", "AKROUSDT")
    for frame in akro[:20]:
        feed.on_message(frame, 2, out)
    stale = feed.stats.dropped_stale
    feed.on_message(akro[19], 2, out)  # duplicate of the last applied diff
    feed.on_message(akro[10], 2, out)  # an older one
    assert feed.stats.dropped_stale == stale + 2
    assert state[0, ST_VALID] == 1
    feed.on_message(akro[21], 2, out)  # 21 before 20
    assert state[0, ST_VALID] == 0
    assert feed.stats.gaps == 1


def test_a_crossed_book_is_never_left_valid() -> None:
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    first = json.loads(bn.lines("depth_diff", "AKROUSDT")[1])
    data = first["data"]
    data["b"] = [["0.01745", "5"]]  # a bid above the best ask
    feed.on_message(json.dumps(first), 2, out)
    assert feed.stats.crossed == 1
    assert state[0, ST_VALID] == 0
    assert valid_books_uncrossed(state, [0, 1])
    assert [r.instrument for r in feed.pending_snapshots()] == [0]


@pytest.mark.parametrize(
    "bad",
    [
        [["0.0173", "1.5"]],  # size off the lot grid
        [["0.017301", "1"]],  # price off the tick grid
        [["-0.01730", "1"]],
        [["abc", "1"]],
        [["0.01730"]],
    ],
)
def test_a_malformed_diff_is_counted_and_resyncs(bad: list) -> None:
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    frame = json.loads(bn.lines("depth_diff", "AKROUSDT")[1])
    frame["data"]["b"] = bad
    before = out.n
    bid = state[0, ST_BEST_BID]
    feed.on_message(json.dumps(frame), 2, out)
    assert feed.stats.malformed == 1
    assert state[0, ST_VALID] == 0
    assert state[0, ST_BEST_BID] == bid  # nothing of the bad diff was applied
    assert list(out.view()[before:]["kind"]) == [EventKind.BOOK_INVALID]


@pytest.mark.parametrize(
    "frame",
    [
        "",
        "{",
        "not json",
        '{"stream":"akrousdt@depth@100ms","data":{"e":"depthUpdate"',
        '{"stream":"akrousdt@depth@100ms","data":[1,2]}',
        '{"e":"depthUpdate","s":"AKROUSDT","U":"x","u":1,"pu":0,"E":1,"b":[],"a":[]}',
        '{"e":"bookTicker","u":1,"s":"AKROUSDT","b":"x","B":"1","a":"1","A":"1"}',
        "[]",
    ],
)
def test_garbage_is_counted_and_skipped(frame: str) -> None:
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    n = out.n
    feed.on_message(frame, 2, out)
    assert feed.stats.malformed == 1
    assert out.n == n
    assert state[0, ST_VALID] == 1


def test_whitespace_and_key_order_take_the_same_path() -> None:
    """A valid diff laid out differently (pretty-printed, keys reordered) still applies."""
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_snapshot(request, bn.snapshot("AKROUSDT"), 1, out)
    frames = bn.lines("depth_diff", "AKROUSDT")
    for k, frame in enumerate(frames):
        data = json.loads(frame)["data"]
        if k % 3 == 1:
            frame = json.dumps(
                {"data": dict(reversed(list(data.items()))), "stream": "x"}, indent=2
            )
        elif k % 3 == 2:
            frame = json.dumps(data, separators=(", ", " : "))
        feed.on_message(frame, 2, out)
    exp = bn.expected()["AKROUSDT"]
    assert feed.stats.malformed == 0
    assert state[0, ST_BEST_BID] == ticks(exp["final_best_bid"][0])
    assert state[0, ST_BEST_ASK] == ticks(exp["final_best_ask"][0])


def test_trades_and_klines() -> None:
    feed, _qty, _state, out = make_feed()
    for frame in bn.lines("aggTrade", "CTKUSDT") + bn.lines("kline_1m", "CTKUSDT"):
        feed.on_message(frame, 7, out)
    rows = out.view()
    trades = rows[(rows["kind"] == EventKind.TRADE_BUY) | (rows["kind"] == EventKind.TRADE_SELL)]
    raw = [json.loads(f)["data"] for f in bn.lines("aggTrade", "CTKUSDT")]
    assert len(trades) == len(raw)
    for row, t in zip(trades, raw, strict=True):
        assert row["instrument"] == 1
        assert row["price_tick"] == ticks(t["p"])
        assert row["qty_lot"] == int(t["q"])
        assert row["kind"] == (EventKind.TRADE_SELL if t["m"] else EventKind.TRADE_BUY)
        assert row["ts_exch_ns"] == t["T"] * 1_000_000
        assert row["aux"] == t["a"]
    assert feed.stats.malformed == 0


def test_mark_price_and_funding() -> None:
    feed, _qty, _state, out = make_feed()
    frame = {
        "stream": "akrousdt@markPrice@1s",
        "data": {
            "e": "markPriceUpdate",
            "E": 1562305380000,
            "s": "AKROUSDT",
            "p": "0.017345678",
            "i": "0.01734",
            "P": "0.0173",
            "r": "0.00038167",
            "T": 1562306400000,
        },
    }
    n = out.n
    feed.on_message(json.dumps(frame), 5, out)
    mark, funding = out.view()[n:]
    assert mark["kind"] == EventKind.MARK_PRICE
    assert mark["price_tick"] == 1735  # 0.017345678 rounded half-even to 0.00001
    assert funding["kind"] == EventKind.FUNDING_RATE
    assert funding["aux"] == 381670
    assert funding["flags"] & EventFlag.BATCH_END


def test_docs_example_unknown_symbol_is_ignored() -> None:
    feed, _qty, _state, out = make_feed()
    feed.on_message(
        fixture_file("binance_usdm", "docs/ws_depthUpdate_docs_example.json").read_text(), 1, out
    )
    assert feed.stats.by_reason.get("unknown_symbol") == 1
    assert feed.stats.malformed == 0


def test_buffer_is_bounded() -> None:
    feed, _qty, _state, out = make_feed()
    frame = bn.lines("depth_diff", "AKROUSDT")[5]
    from bot.adapters.binance_usdm import constants

    for _ in range(constants.MAX_BUFFERED_DIFFS + 10):
        feed.on_message(frame, 1, out)
    assert len(feed._buffers[0]) <= constants.MAX_BUFFERED_DIFFS
    assert feed.stats.by_reason["buffer_overflow"] == 1


def test_empty_sides_are_not_crossed() -> None:
    _qty, state = new_books(1, 64)
    assert state[0, ST_BEST_BID] == NO_BID
    assert state[0, ST_BEST_ASK] == NO_ASK
    assert valid_books_uncrossed(state, [0])


def _with_last_update_id(body: bytes, last_update_id: int) -> bytes:
    snap = json.loads(body)
    snap["lastUpdateId"] = last_update_id
    return json.dumps(snap).encode()


@pytest.mark.parametrize(
    ("where", "synced"),
    [
        ("U", True),  # lastUpdateId == U: inside the first diff's span
        ("u", True),  # lastUpdateId == u: the span's last id
        ("U-1", False),  # spot's rule (U <= lastUpdateId + 1) would accept it; futures' does not
        ("u+1", False),  # the diff is older than the snapshot: dropped, not applied
    ],
)
def test_first_diff_must_span_the_snapshot_exactly(where: str, synced: bool) -> None:
    """Futures rule on the real capture: the first applied diff has U <= lastUpdateId <= u."""
    akro = bn.lines("depth_diff", "AKROUSDT")
    k = 10  # a diff well inside the capture; the snapshot is moved to its boundaries
    first = json.loads(akro[k])["data"]
    last_id = {"U": first["U"], "u": first["u"], "U-1": first["U"] - 1, "u+1": first["u"] + 1}
    feed, _qty, state, out = make_feed()
    request = next(r for r in feed.pending_snapshots() if r.instrument == 0)
    feed.on_message(akro[k], 2, out)
    body = _with_last_update_id(bn.snapshot("AKROUSDT"), last_id[where])
    feed.on_snapshot(request, body, 3, out)
    if synced:
        assert state[0, ST_VALID] == 1
        assert feed.stats.gaps == 0
        feed.on_message(akro[k + 1], 4, out)  # and the pu chain continues from that diff
        assert state[0, ST_VALID] == 1
        assert feed.stats.gaps == 0
    elif where == "U-1":
        assert state[0, ST_VALID] == 0
        assert feed.stats.gaps == 1
    else:
        # u < lastUpdateId: older than the snapshot, dropped (not a gap); the snapshot's own
        # book stands, and the next diff must span lastUpdateId
        assert feed.stats.gaps == 0
        assert feed.stats.dropped_stale >= 1
