"""The synthetic market: reproducible, never crossed, trades at the touch, the asked-for mix."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.core.book import apply_events, new_books
from bot.core.dtypes import EventFlag, EventKind
from bot.data.eventfile import read_event_file
from bot.data.generate import GenerateParams, generate_events, generate_file
from tests.unit.data.naive import NaiveBook

# Pure-Python kernels (NUMBA_DISABLE_JIT=1) are slow: keep the market small there.
N = 20_000 if os.environ.get("NUMBA_DISABLE_JIT") == "1" else 300_000
SMALL = GenerateParams(events=N, duration_s=1800 * N / 2_000_000)


_OTHER_PROCESS = """
import sys
from dataclasses import replace
from pathlib import Path
from bot.data.generate import GenerateParams, generate_file
events, duration_s, out = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
generate_file(out, GenerateParams(events=events, duration_s=duration_s), seed=11)
"""


def test_same_seed_same_bytes_in_another_process_other_seed_other_bytes(tmp_path: Path):
    params = replace(SMALL, events=min(N, 50_000))
    a = generate_file(tmp_path / "a.events", params, seed=11).read_bytes()
    # another process (its own hash seed and global random state) must write the same file
    argv = [str(params.events), repr(params.duration_s), str(tmp_path / "b.events")]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
    subprocess.run([sys.executable, "-c", _OTHER_PROCESS, *argv], env=env, check=True)
    c = generate_file(tmp_path / "c.events", params, seed=12).read_bytes()
    assert (tmp_path / "b.events").read_bytes() == a
    assert a != c


def test_starts_with_clear_and_a_full_snapshot():
    ev = generate_events(replace(SMALL, events=1000, levels=5), seed=1)
    assert ev["kind"][0] == EventKind.BOOK_CLEAR
    snap = ev[1:11]
    assert list(snap["kind"]) == [1] * 5 + [2] * 5
    assert np.all(snap["flags"] & EventFlag.SNAPSHOT)
    assert [bool(f & EventFlag.BATCH_END) for f in snap["flags"]] == [False] * 9 + [True]
    assert snap["price_tick"][0] < snap["price_tick"][5]  # best bid below best ask
    assert not np.any(ev[11:]["flags"] & EventFlag.SNAPSHOT)


def test_every_message_ends_a_batch_and_the_book_is_never_crossed():
    ev = generate_events(SMALL, seed=5)
    assert ev.shape == (N,)
    assert np.all(ev[2 * 20 :]["flags"] & EventFlag.BATCH_END)  # snapshot end onwards
    qty, state = new_books(1)
    counts = np.zeros(4, dtype=np.int64)
    crossed = apply_events(qty, state, ev, counts)
    assert crossed == 0
    assert counts[0] == N  # every level fitted the window: nothing dropped or re-centred


def test_trades_print_at_the_touch_and_consume_it():
    ev = generate_events(replace(SMALL, events=min(N, 20_000)), seed=9)
    book = NaiveBook()
    trades = 0
    for i, row in enumerate(ev):
        kind = int(row["kind"])
        if kind in (EventKind.TRADE_BUY, EventKind.TRADE_SELL):
            side = 1 if kind == EventKind.TRADE_BUY else 0  # a buyer lifts the ask
            touch = book.best(0, side)
            assert row["price_tick"] == touch
            before = book.side(0, side)[touch]
            update = ev[i + 1]
            assert update["kind"] == (EventKind.BOOK_ASK if side == 1 else EventKind.BOOK_BID)
            assert update["price_tick"] == touch
            assert update["qty_lot"] == before - row["qty_lot"]
            assert 0 < row["qty_lot"] <= before
            trades += 1
        book.apply(row)
        bid, ask = book.best(0, 0), book.best(0, 1)
        if i >= 40:  # after the snapshot both sides always hold a level
            assert bid is not None
            assert ask is not None
            assert bid < ask
    assert trades > 0


def test_mix_duration_levels_and_clocks():
    ev = generate_events(SMALL, seed=3)
    kinds = np.bincount(ev["kind"], minlength=8)
    trade_share = (kinds[EventKind.TRADE_BUY] + kinds[EventKind.TRADE_SELL]) / N
    assert trade_share == pytest.approx(0.10, abs=0.01)
    assert kinds[EventKind.TRADE_BUY] == pytest.approx(kinds[EventKind.TRADE_SELL], rel=0.15)
    span_s = (ev["ts_exch_ns"][-1] - ev["ts_exch_ns"][0]) / 1e9
    assert span_s == pytest.approx(SMALL.duration_s, rel=0.05)
    assert np.all(np.diff(ev["ts_exch_ns"]) >= 0)
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)
    latency = ev["ts_local_ns"] - ev["ts_exch_ns"]
    assert latency.min() >= 2_000_000  # the 2 ms base feed latency
    book = NaiveBook()
    sizes = []
    for i, row in enumerate(ev[: min(N, 20_000)]):
        book.apply(row)
        if i > 100 and i % 50 == 0:
            sizes.append((len(book.side(0, 0)), len(book.side(0, 1))))
    mean_levels = np.mean(sizes, axis=0)
    assert np.all((mean_levels > 17) & (mean_levels < 23))
    mid = (ev["price_tick"][ev["kind"] == EventKind.TRADE_BUY]).astype(float)
    assert abs(mid.mean() - 600_000) < 600_000 * 0.02  # stays near the requested price


def test_file_header_names_the_instrument_and_parameters(tmp_path: Path):
    params = replace(SMALL, events=500, symbol="ETHUSDT", tick_size="0.01", price="3000")
    opened = read_event_file(generate_file(tmp_path / "g.events", params, seed=2), verify=True)
    (spec,) = opened.instruments
    assert (spec.venue, spec.symbol, spec.tick_size, spec.lot_size) == (
        "sim",
        "ETHUSDT",
        "0.01",
        "0.001",
    )
    assert opened.header["generator"]["seed"] == 2
    assert opened.events["price_tick"][1] == pytest.approx(300_000, abs=5)


def _trade_edge(ev: np.ndarray, ahead: int = 20) -> float:
    """Mean of (trade sign) x (price move over the next ``ahead`` trades), in ticks."""
    trades = ev[(ev["kind"] == EventKind.TRADE_BUY) | (ev["kind"] == EventKind.TRADE_SELL)]
    sign = np.where(trades["kind"] == EventKind.TRADE_BUY, 1.0, -1.0)
    px = trades["price_tick"].astype(float)
    return float(np.mean(sign[:-ahead] * (px[ahead:] - px[:-ahead])))


def test_informed_trades_predict_the_next_move():
    plain = _trade_edge(generate_events(SMALL, seed=5))
    informed = _trade_edge(
        generate_events(replace(SMALL, informed_share=0.3, informed_impact_bps=0.2), seed=5)
    )
    assert informed > 0.0
    assert informed > 3 * max(plain, 0.1)  # what makers meet: flow that knows where it goes


@pytest.mark.parametrize(
    "bad",
    [
        {"events": 10},
        {"trade_ratio": 0.6},
        {"price": "60000.05"},
        {"levels": 0},
        {"venue": "nowhere"},
        {"informed_share": 1.5},
        {"informed_impact_bps": -1.0},
    ],
)
def test_invalid_parameters_are_refused(bad: dict[str, object]):
    with pytest.raises(ValueError):
        GenerateParams(**bad).validate()  # type: ignore[arg-type]
