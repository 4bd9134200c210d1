"""Signal kernels against naive re-computations on random books and trade streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.book import ST_VALID, Book
from bot.core.signal import (
    SIG_FLOW,
    SIG_IMBALANCE,
    SIG_MICRO_TICK,
    SIG_MID_TICK,
    SIG_SPREAD_TICK,
    SIG_VALID,
    SIG_VOL,
    SIG_VWAP_TICK,
    new_signals,
    signal_params,
    update_book_signals,
    update_trade_signals,
)

from .naive import NaiveBook, NaiveTrades, NaiveVol, naive_book_signals


def test_hand_computed_book_signals() -> None:
    book = Book(window=256)
    for side, price, qty in [(0, 100, 3), (0, 99, 5), (0, 97, 2), (1, 102, 1), (1, 104, 9)]:
        book.set(side, price, qty)
    sig, _, _ = new_signals(1)
    update_book_signals(book.qty, book.state, sig, 0, 1, signal_params(levels=2))
    assert sig[0, SIG_VALID] == 1.0
    assert sig[0, SIG_MID_TICK] == 101.0
    assert sig[0, SIG_SPREAD_TICK] == 2.0
    assert sig[0, SIG_MICRO_TICK] == pytest.approx((100 * 1 + 102 * 3) / 4)
    assert sig[0, SIG_IMBALANCE] == pytest.approx((8 - 10) / 18)


def test_invalid_or_one_sided_books_give_no_signal() -> None:
    book = Book(window=256)
    sig, _, _ = new_signals(1)
    params = signal_params()
    book.set(0, 100, 1)
    update_book_signals(book.qty, book.state, sig, 0, 1, params)
    assert sig[0, SIG_VALID] == 0.0
    book.set(1, 101, 1)
    book.state[0, ST_VALID] = 0  # the feed lost sync
    update_book_signals(book.qty, book.state, sig, 0, 2, params)
    assert sig[0, SIG_VALID] == 0.0


@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([0, 1]),
            st.integers(min_value=1, max_value=12),
            st.integers(min_value=0, max_value=9),
            st.integers(min_value=1, max_value=5_000_000_000),
        ),
        min_size=1,
        max_size=120,
    ),
    levels=st.integers(min_value=1, max_value=6),
)
def test_book_signals_and_volatility_match_the_oracle(
    steps: list[tuple[int, int, int, int]], levels: int
) -> None:
    book = Book(window=512)
    naive = NaiveBook(window=512)
    params = signal_params(levels=levels, tau_vol_s=3.0)
    sig, _, _ = new_signals(1)
    vol = NaiveVol(tau_s=3.0)
    ts = 0
    mid = 10_000
    for side, offset, qty, dt in steps:
        ts += dt
        price = mid - offset if side == 0 else mid + offset
        book.set(side, price, qty)
        naive.set(side, price, qty)
        update_book_signals(book.qty, book.state, sig, 0, ts, params)
        expected = naive_book_signals(naive, levels)
        if expected is None:
            assert sig[0, SIG_VALID] == 0.0
            continue
        assert sig[0, SIG_VALID] == 1.0
        assert sig[0, SIG_MID_TICK] == expected["mid_tick"]
        assert sig[0, SIG_SPREAD_TICK] == expected["spread_tick"]
        assert sig[0, SIG_MICRO_TICK] == pytest.approx(expected["micro_tick"], rel=1e-12)
        assert sig[0, SIG_IMBALANCE] == pytest.approx(expected["imbalance"], abs=1e-12)
        assert sig[0, SIG_VOL] == pytest.approx(vol.update(expected["mid_tick"], ts), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    trades=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=3_000_000_000),
            st.sampled_from([1, -1, 0]),
            st.integers(min_value=90_000, max_value=110_000),
            st.integers(min_value=1, max_value=10_000),
        ),
        min_size=1,
        max_size=200,
    ),
    capacity=st.sampled_from([1, 4, 64]),
)
def test_trade_flow_and_vwap_match_the_oracle(
    trades: list[tuple[int, int, int, int]], capacity: int
) -> None:
    params = signal_params(tau_flow_s=2.0, vwap_window_s=5.0)
    sig, ring, ring_idx = new_signals(1, vwap_capacity=capacity)
    naive = NaiveTrades(tau_s=2.0, window_s=5.0, capacity=capacity)
    ts = 10**9
    for dt, side, price, qty in trades:
        ts += dt
        update_trade_signals(sig, ring, ring_idx, 0, ts, side, price, qty, params)
        flow, vwap = naive.update(ts, side, price, qty)
        assert sig[0, SIG_FLOW] == pytest.approx(flow, rel=1e-9, abs=1e-12)
        assert sig[0, SIG_VWAP_TICK] == pytest.approx(vwap, rel=1e-9)


def test_volatility_is_a_rate_independent_of_tick_frequency() -> None:
    """The same random walk sampled every 10 ms or every 100 ms gives a similar sigma."""
    rng = np.random.default_rng(3)
    sigma_per_sqrt_s = 0.001
    estimates = []
    for step_ms in (10, 100):
        book = Book(window=1 << 16)
        sig, _, _ = new_signals(1)
        params = signal_params(tau_vol_s=600.0)
        price = 1_000_000.0
        dt = step_ms / 1000
        for k in range(20_000):
            price *= math.exp(rng.normal(0, sigma_per_sqrt_s * math.sqrt(dt)))
            tick = round(price)
            book.clear()
            book.set(0, tick - 1, 1)
            book.set(1, tick + 1, 1)
            update_book_signals(book.qty, book.state, sig, 0, int(k * step_ms * 1e6), params)
        estimates.append(sig[0, SIG_VOL])
    assert estimates[0] == pytest.approx(sigma_per_sqrt_s, rel=0.25)
    assert estimates[1] == pytest.approx(sigma_per_sqrt_s, rel=0.25)


def test_bad_parameters_are_rejected() -> None:
    with pytest.raises(ValueError, match="levels"):
        signal_params(levels=0)
    with pytest.raises(ValueError, match="tau_vol_s"):
        signal_params(tau_vol_s=0)
