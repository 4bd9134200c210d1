"""Core kernels: book level updates, the signal set, pre-trade risk, numba start-up.

Every figure comes with a baseline measured in the same run:
* book: a Python dict of levels plus a sorted price list (bisect), the usual hand-written book,
  and the fixed-window kernel the exact book replaced (``benchmarks/book_fixed_window.py``);
  the drift figure against the same book with a touch that does not drift;
* signals and risk: the same logic in plain Python;
* start-up: first call with an empty numba cache (compilation) against a warm on-disk cache.
Kernel figures are ns per item over blocks of items; median and p99 are across blocks.
"""

from __future__ import annotations

import bisect
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

from benchmarks import book_fixed_window as before
from benchmarks.common import result, time_blocks
from bot.core.book import DEFAULT_WINDOW, ST_MOVED, ST_RECENTRES, apply_level, new_books
from bot.core.book_overflow import move_window
from bot.core.dtypes import OrderAction, empty_intents
from bot.core.nrt import borrow
from bot.core.risk import check_intent, make_limits, new_risk, on_order_closed
from bot.core.signal import new_signals, signal_params, update_book_signals, update_trade_signals

N_DELTAS = 1_000_000
BLOCK = 10_000


@njit(cache=True)
def _gen_deltas(n, levels, seed, sides, prices, sizes):  # type: ignore[no-untyped-def]
    np.random.seed(seed)
    boundary = 1_000_000  # asks at >= boundary, bids below: the book never crosses
    p_level = 4.0 / levels
    k = 0
    while k < n:
        if np.random.random() < 0.02 and k + 2 <= n:
            # the touch moves a tick: the level it crosses goes, the level beyond depth goes
            if np.random.random() < 0.5:
                sides[k], prices[k] = 1, boundary
                sides[k + 1], prices[k + 1] = 0, boundary - levels
                boundary += 1
            else:
                sides[k], prices[k] = 0, boundary - 1
                sides[k + 1], prices[k + 1] = 1, boundary + levels - 1
                boundary -= 1
            sizes[k] = 0
            sizes[k + 1] = 0
            k += 2
            continue
        side = np.random.randint(0, 2)
        offset = min(np.random.geometric(p_level) - 1, levels - 1)
        sides[k] = side
        prices[k] = boundary - 1 - offset if side == 0 else boundary + offset
        sizes[k] = 0 if np.random.random() < 0.15 else np.random.randint(1, 50)
        k += 1


def make_deltas(n: int, levels: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random level updates on a book of about ``levels`` a side that never crosses.

    Offsets from the touch are geometric (most activity near the touch), 15 % of updates delete
    a level (often an absent one), and 2 % move the touch by a tick, deleting the crossed level
    and the one that falls out of depth, so best prices keep moving both ways.
    """
    sides = np.empty(n, dtype=np.int64)
    prices = np.empty(n, dtype=np.int64)
    sizes = np.empty(n, dtype=np.int64)
    _gen_deltas(n, levels, seed, sides, prices, sizes)
    return sides, prices, sizes


@njit(cache=True)
def _apply_block(qty, state, sides, prices, sizes, start, stop):  # type: ignore[no-untyped-def]
    qty, state = borrow(qty), borrow(state)
    for k in range(start, stop):
        apply_level(qty, state, 0, sides[k], prices[k], sizes[k])


@njit(cache=True)
def _apply_block_before(qty, state, sides, prices, sizes, start, stop):  # type: ignore[no-untyped-def]
    qty, state = borrow(qty), borrow(state)
    for k in range(start, stop):
        before.apply_level(qty, state, 0, sides[k], prices[k], sizes[k])


def _time_kernel(block_fn: Any, qty: np.ndarray, state: np.ndarray, deltas: Any) -> np.ndarray:
    sides, prices, sizes = deltas
    block_fn(qty, state, sides, prices, sizes, 0, BLOCK)  # compile + warm the arrays
    n_blocks = len(sides) // BLOCK
    return np.concatenate(
        [
            time_blocks(
                lambda b: block_fn(qty, state, sides, prices, sizes, b * BLOCK, (b + 1) * BLOCK),
                n_blocks,
                BLOCK,
            )
            for _ in range(3)
        ]
    )


def bench_book(levels: int) -> list[dict[str, Any]]:
    sides, prices, sizes = make_deltas(N_DELTAS, levels, seed=levels)
    # the exact book and the fixed-window kernel it replaced, interleaved in one run
    ours_runs, before_runs = [], []
    for _ in range(2):
        ours_runs.append(_time_kernel(_apply_block, *new_books(1), (sides, prices, sizes)))
        before_runs.append(
            _time_kernel(_apply_block_before, *before.new_books(1), (sides, prices, sizes))
        )
    ours = np.concatenate(ours_runs)
    was = np.concatenate(before_runs)

    # baseline: dict of levels + sorted list of prices per side
    n_base = 200_000
    books: list[dict[int, int]] = [{}, {}]
    keys: list[list[int]] = [[], []]

    def baseline_block(b: int) -> None:
        for k in range(b * BLOCK, (b + 1) * BLOCK):
            side, price, size = int(sides[k]), int(prices[k]), int(sizes[k])
            book, sorted_prices = books[side], keys[side]
            if size == 0:
                if book.pop(price, None) is not None:
                    del sorted_prices[bisect.bisect_left(sorted_prices, price)]
            else:
                if price not in book:
                    bisect.insort(sorted_prices, price)
                book[price] = size
            # best prices, as the kernel keeps them
            _ = sorted_prices[-1] if side == 0 and sorted_prices else None
            _ = sorted_prices[0] if side == 1 and sorted_prices else None

    base = time_blocks(baseline_block, n_base // BLOCK, BLOCK)
    return [
        result(
            f"book level update, {levels} levels/side",
            ours,
            "ns/update",
            "dict + sorted prices (Python)",
            float(np.median(base)),
            updates=N_DELTAS * 6,
        ),
        result(
            f"book level update, {levels} levels/side, exact vs fixed window",
            ours,
            "ns/update",
            "fixed-window kernel before issue 9",
            float(np.median(was)),
            note="same stream, same run; the old kernel dropped levels outside its window",
        ),
    ]


@njit(cache=True)
def _gen_drift(n, levels, windows, window, seed, sides, prices, sizes):  # type: ignore[no-untyped-def]
    """Like ``_gen_deltas``, but the touch climbs ``windows`` windows over the stream and a
    resting level is left behind every 1,000 updates (it lives in the overflow afterwards)."""
    np.random.seed(seed)
    boundary = 1 << 40
    p_move = windows * window / n  # expected ticks climbed per update
    p_level = 4.0 / levels
    k = 0
    while k < n:
        if np.random.random() < p_move and k + 2 <= n:
            sides[k], prices[k], sizes[k] = 1, boundary, 0
            sides[k + 1], prices[k + 1], sizes[k + 1] = 0, boundary - levels, 0
            boundary += 1
            k += 2
            continue
        side = np.random.randint(0, 2)
        offset = min(np.random.geometric(p_level) - 1, levels - 1)
        if k % 1000 == 0:
            offset = levels + np.random.randint(0, window)  # resting, beyond the active depth
        sides[k] = side
        prices[k] = boundary - 1 - offset if side == 0 else boundary + offset
        sizes[k] = np.random.randint(1, 50)
        k += 1


def bench_book_drift(windows: int = 8) -> list[dict[str, Any]]:
    """The touch drifts ``windows`` windows: the window follows, levels go to and from the
    overflow; reports the amortised update and the cost of one window move."""
    n = N_DELTAS
    sides = np.empty(n, dtype=np.int64)
    prices = np.empty(n, dtype=np.int64)
    sizes = np.empty(n, dtype=np.int64)
    _gen_drift(n, 20, windows, DEFAULT_WINDOW, 11, sides, prices, sizes)
    _apply_block(*new_books(1), sides, prices, sizes, 0, BLOCK)  # compile
    qty, state = new_books(1)
    samples = time_blocks(  # one pass: a replay would jump the touch back to the start
        lambda b: _apply_block(qty, state, sides, prices, sizes, b * BLOCK, (b + 1) * BLOCK),
        n // BLOCK,
        BLOCK,
    )
    moves = int(state[0, ST_RECENTRES])
    carried = int(state[0, ST_MOVED])
    _apply_block_before(*before.new_books(1), sides, prices, sizes, 0, BLOCK)  # compile
    was_qty, was_state = before.new_books(1)
    was = time_blocks(  # the fixed-window kernel on the same drift (it drops what it pushes off)
        lambda b: _apply_block_before(
            was_qty, was_state, sides, prices, sizes, b * BLOCK, (b + 1) * BLOCK
        ),
        n // BLOCK,
        BLOCK,
    )

    # one move on its own: a quarter window up, then back, on the book the drift left behind
    base = int(state[0, 0])
    move_window(qty, state, 0, base)  # compile
    times = []
    for k in range(200):
        shift = DEFAULT_WINDOW // 4 if k % 2 == 0 else -(DEFAULT_WINDOW // 4)
        t0 = time.perf_counter_ns()
        move_window(qty, state, 0, int(state[0, 0]) + shift)
        times.append((time.perf_counter_ns() - t0) / 1e3)
    levels_held = int(state[0, 3] + state[0, 4])
    return [
        result(
            f"book update, touch drifting {windows} windows ({windows * DEFAULT_WINDOW:,} ticks)",
            samples,
            "ns/update",
            "fixed-window kernel before issue 9, same stream",
            float(np.median(was)),
            window_moves=moves,
            levels_carried=carried,
        ),
        result(
            f"book window move, W/4 ({DEFAULT_WINDOW // 4:,} ticks), {levels_held:,} levels held",
            times,
            "us/move",
            note=f"{moves} moves per drift of {windows} windows, {carried:,} levels carried",
        ),
    ]


@njit(cache=True)
def _signals_block(qty, state, sig, ring, ring_idx, params, sides, prices, sizes, start, stop):  # type: ignore[no-untyped-def]
    qty, state, sig, ring, ring_idx = (
        borrow(qty),
        borrow(state),
        borrow(sig),
        borrow(ring),
        borrow(ring_idx),
    )
    ts = 0
    for k in range(start, stop):
        ts = k * 1_000_000
        if sizes[k] % 10 == 3:  # ~10 % of events are trades
            update_trade_signals(
                sig, ring, ring_idx, 0, ts, 1 - 2 * sides[k], prices[k], sizes[k], params
            )
        else:
            update_book_signals(qty, state, sig, 0, ts, params)


def bench_signals() -> list[dict[str, Any]]:
    sides, prices, sizes = make_deltas(N_DELTAS, 20, seed=99)
    qty, state = new_books(1)
    # a realistic 20-level book to read from
    for k in range(200_000):
        apply_level(qty, state, 0, sides[k], prices[k], max(sizes[k], 1))
    sig, ring, ring_idx = new_signals(1)
    params = signal_params(levels=5)
    _signals_block(qty, state, sig, ring, ring_idx, params, sides, prices, sizes, 0, BLOCK)
    ours = time_blocks(
        lambda b: _signals_block(
            qty,
            state,
            sig,
            ring,
            ring_idx,
            params,
            sides,
            prices,
            sizes,
            b * BLOCK,
            (b + 1) * BLOCK,
        ),
        N_DELTAS // BLOCK,
        BLOCK,
    )

    # baseline: the same signal set in plain Python over a dict book snapshot
    bids = {int(p): int(q) for p, q in zip(*_side(qty, state, 0), strict=True)}
    asks = {int(p): int(q) for p, q in zip(*_side(qty, state, 1), strict=True)}
    py = {"last_mid": math.nan, "last_ns": 0, "r2": 0.0, "dt": 0.0, "fs": 0.0, "ft": 0.0}
    trades: list[tuple[int, float, int]] = []

    def baseline_block(b: int) -> None:
        for k in range(b * BLOCK, (b + 1) * BLOCK):
            ts = k * 1_000_000
            if sizes[k] % 10 == 3:
                q = int(sizes[k])
                w = math.exp(-1e-9 * 1_000_000 / 10.0)
                py["fs"] = w * py["fs"] + (1 - 2 * int(sides[k])) * q
                py["ft"] = w * py["ft"] + q
                trades.append((ts, float(prices[k]) * q, q))
                while trades and trades[0][0] < ts - 60e9:
                    trades.pop(0)
                _ = sum(t[1] for t in trades[-64:]) / sum(t[2] for t in trades[-64:])
                continue
            top_b = sorted(bids, reverse=True)[:5]
            top_a = sorted(asks)[:5]
            bid, ask = top_b[0], top_a[0]
            mid = (bid + ask) / 2
            _ = (bid * asks[ask] + ask * bids[bid]) / (asks[ask] + bids[bid])
            tb, ta = sum(bids[p] for p in top_b), sum(asks[p] for p in top_a)
            _ = (tb - ta) / (tb + ta)
            if not math.isnan(py["last_mid"]) and mid != py["last_mid"]:
                dt = (ts - py["last_ns"]) * 1e-9
                w = math.exp(-dt / 60.0)
                py["r2"] = w * py["r2"] + (1 - w) * math.log(mid / py["last_mid"]) ** 2
                py["dt"] = w * py["dt"] + (1 - w) * dt
            py["last_mid"], py["last_ns"] = mid, ts

    base = time_blocks(baseline_block, 5, BLOCK)
    return [
        result(
            "signals: full set per event (book read + trades)",
            ours,
            "ns/event",
            "same signals in plain Python",
            float(np.median(base)),
        )
    ]


def _side(qty: np.ndarray, state: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    from bot.core.book import depth

    prices = np.empty(100, dtype=np.int64)
    sizes = np.empty(100, dtype=np.int64)
    n = depth(qty, state, 0, side, 100, prices, sizes)
    return prices[:n], sizes[:n]


@njit(cache=True)
def _risk_block(limits, rstate, counts, intents, start, stop):  # type: ignore[no-untyped-def]
    limits, rstate, counts, intents = (
        borrow(limits),
        borrow(rstate),
        borrow(counts),
        borrow(intents),
    )
    n = intents.shape[0]
    for k in range(start, stop):
        i = k % n
        reason = check_intent(limits, rstate, counts, intents, i, 600_000.0, 0.0001, k * 1000)
        if reason == 0 and intents[i]["action"] == 1:
            # the order is cancelled at once so reservations do not saturate the limits
            on_order_closed(rstate, 0, intents[i]["side"], intents[i]["qty_lot"])


def bench_risk() -> list[dict[str, Any]]:
    rng = np.random.default_rng(5)
    intents = empty_intents(4096)
    intents["action"] = rng.choice([OrderAction.NEW, OrderAction.NEW, OrderAction.CANCEL], 4096)
    intents["side"] = rng.choice([1, -1], 4096)
    intents["qty_lot"] = rng.integers(1, 8, 4096)
    intents["price_tick"] = 600_000 + rng.integers(-2000, 2000, 4096)
    limits, rstate, counts = new_risk(1)
    limits[0] = make_limits(
        max_position_lot=100,
        max_order_lot=6,
        max_notional_quote=1e9,
        price_band_bps=30,
        max_open_orders=50,
        orders_per_s=1e9,
        burst=1e9,
    )
    _risk_block(limits, rstate, counts, intents, 0, BLOCK)
    ours = time_blocks(
        lambda b: _risk_block(limits, rstate, counts, intents, b * BLOCK, (b + 1) * BLOCK),
        N_DELTAS // BLOCK,
        BLOCK,
    )
    py_counts = [0] * 10

    def baseline_block(b: int) -> None:
        pos, open_buy, open_sell, open_orders = 0, 0, 0, 0
        for k in range(b * BLOCK, (b + 1) * BLOCK):
            row = intents[k % 4096]
            action, side, qty, price = (
                int(row["action"]),
                int(row["side"]),
                int(row["qty_lot"]),
                int(row["price_tick"]),
            )
            mid = 600_000.0
            if action == 2:
                reason = 0
            elif qty > 6:
                reason = 2
            elif (side == 1 and pos + open_buy + qty > 100) or (
                side == -1 and pos - open_sell - qty < -100
            ):
                reason = 3
            elif price * qty * 0.0001 > 1e9:
                reason = 4
            elif abs(price - mid) * 1e4 > 30 * mid:
                reason = 5
            elif open_orders >= 50:
                reason = 6
            else:
                reason = 0
            py_counts[reason] += 1

    base = time_blocks(baseline_block, 20, BLOCK)
    return [
        result(
            "risk: pre-trade check per intent",
            ours,
            "ns/intent",
            "same checks in plain Python",
            float(np.median(base)),
        )
    ]


_STARTUP_SCRIPT = """
import time
t0 = time.perf_counter()
import numpy as np
from bot.core.book import Book, apply_events, load_snapshot
from bot.core.dtypes import empty_events, empty_intents
from bot.core.risk import check_intent, new_risk, on_fill, on_order_closed, on_amend
from bot.core.signal import new_signals, signal_params, update_book_signals, update_trade_signals
from bot.core.ticks import POW10, parse_units
b = Book(1, 64)
ev = empty_events(2); ev["kind"] = [1, 2]; ev["price_tick"] = [10, 11]; ev["qty_lot"] = 1
apply_events(b.qty, b.state, ev, np.zeros(4, np.int64))
i64 = np.array([1], np.int64)
load_snapshot(b.qty, b.state, 0, i64, i64, i64 + 1, i64)
s, r, ri = new_signals(1); p = signal_params()
update_book_signals(b.qty, b.state, s, 0, 1, p)
update_trade_signals(s, r, ri, 0, 1, 1, 10, 1, p)
L, S, C = new_risk(1); it = empty_intents(1)
check_intent(L, S, C, it, 0, 10.0, 1.0, 1); on_fill(S, 0, 1, 1, True)
on_order_closed(S, 0, 1, 1); on_amend(S, 0, 1, 1, 2)
parse_units(np.frombuffer(b"1.5", np.uint8), 0, 3, 1, -1, POW10)
print(time.perf_counter() - t0)
"""


def bench_startup() -> list[dict[str, Any]]:
    """Import + first call of every core kernel in a fresh process: cold vs warm numba cache."""
    root = Path(__file__).resolve().parent.parent
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as cache:
            env = {**os.environ, "NUMBA_CACHE_DIR": cache, "PYTHONPATH": str(root)}
            env.pop("NUMBA_DISABLE_JIT", None)

            def once(env: dict[str, str] = env) -> float:
                t0 = time.perf_counter()
                out = subprocess.run(
                    [sys.executable, "-c", _STARTUP_SCRIPT],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                    cwd=root,
                )
                del out
                return time.perf_counter() - t0

            cold.append(once())
            warm.extend(once() for _ in range(2))
    floor = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import numba"], check=True)
        floor.append(time.perf_counter() - t0)
    return [
        result(
            "numba start-up: process + import + first call, warm cache",
            warm,
            "s",
            "same, empty cache (compiles)",
            float(np.median(cold)),
            cold_s=cold,
        ),
        result(
            "python start + import numba (the floor of any numba process)",
            floor,
            "s",
        ),
    ]


def run() -> list[dict[str, Any]]:
    """Run the core suite."""
    return [
        *bench_book(20),
        *bench_book(1000),
        *bench_book_drift(),
        *bench_signals(),
        *bench_risk(),
        *bench_startup(),
    ]
