"""Statistics users compare runs by: the return interval, round trips, PnL split, formatting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.backtest import stats
from bot.backtest.sim_types import (
    A_EDGE_TL,
    VENUE_REJECT_BASE,
    VS_REJECT_REASON0,
    QueueModel,
    VenueReject,
)
from bot.backtest.sim_venue import SimVenue
from bot.backtest.summary import number, percent
from bot.core.dtypes import FILL_DTYPE
from tests.unit.backtest.helpers import ASK, BID, IOC, NEW, POST_ONLY, SELL_TRADE, events

S = 1_000_000_000


def _series(span_s: int, step_s: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(0, span_s + 1, step_s, dtype=np.int64) * S
    equity = 100_000.0 + np.cumsum(rng.normal(0.05, 1.0, ts.shape[0]))
    return ts, equity


def test_a_30_minute_run_reports_per_minute_ratios_not_annualised() -> None:
    ts, equity = _series(1800, 1, seed=1)
    r = stats.risk_ratios(ts, equity, 100_000.0, S)
    assert (r.interval_ns, r.n_returns, r.annualised) == (60 * S, 30, False)
    per_minute = np.diff(equity[::60]) / 100_000.0
    assert r.sharpe == pytest.approx(per_minute.mean() / per_minute.std())
    assert abs(r.sharpe) < 5  # what an annualised 1 s figure would inflate into the hundreds


def test_a_multi_day_run_annualises_daily_returns() -> None:
    ts, equity = _series(5 * 86_400, 10, seed=2)
    r = stats.risk_ratios(ts, equity, 100_000.0, 10 * S)
    assert (r.interval_ns, r.n_returns, r.annualised) == (86_400 * S, 5, True)
    daily = np.diff(equity[:: 86_400 // 10]) / 100_000.0
    assert r.sharpe == pytest.approx(daily.mean() / daily.std() * math.sqrt(365))
    down = np.sqrt(np.mean(np.minimum(daily, 0.0) ** 2))
    if down > 0:
        assert r.sortino == pytest.approx(daily.mean() / down * math.sqrt(365))


def test_the_interval_never_undercuts_the_sampling() -> None:
    # a 10 min run sampled every 5 s: 1 min gives only 10 returns, so the samples are used
    interval, annualised = stats.return_interval_ns(600 * S, 5 * S)
    assert (interval, annualised) == (5 * S, False)
    assert stats.return_interval_ns(2 * 86_400 * S, S) == (3_600 * S, False)


def _fills(rows: list[tuple[int, int, int, float]]) -> np.ndarray:
    out = np.zeros(len(rows), dtype=FILL_DTYPE)
    for i, (side, px, q, fee) in enumerate(rows):
        out[i]["side"], out[i]["price_tick"], out[i]["qty_lot"] = side, px, q
        out[i]["fee_quote"] = fee
    return out


def test_round_trips_close_at_flat_and_split_a_fill_that_flips_the_position() -> None:
    qptl = np.array([1.0])
    fills = _fills(
        [
            (1, 100, 2, 0.1),  # long 2
            (-1, 103, 3, 0.3),  # closes 2 (+6, fee 0.2 of 0.3), opens short 1 (fee 0.1)
            (1, 105, 1, 0.0),  # closes the short: -2 - 0.1
            (1, 100, 1, 0.0),  # open at the end: not a trip
        ]
    )
    trips = stats.round_trips(fills, qptl)
    assert trips == pytest.approx([6.0 - 0.1 - 0.2, -2.0 - 0.1])
    t = stats.trade_stats(trips)
    assert t["round_trips"] == 2
    assert t["win_rate"] == 0.5
    assert t["profit_factor"] == pytest.approx(5.7 / 2.1)
    assert t["avg_trade_quote"] == pytest.approx((5.7 - 2.1) / 2)
    assert stats.trade_stats(trips[:1])["profit_factor"] is None  # no loss: undefined


def _venue() -> SimVenue:
    return SimVenue(
        1,
        quote_per_tick_lot=np.array([1e-4]),
        maker_fee=np.array([0.0]),
        taker_fee=np.array([0.0]),
        lat_in_ns=np.array([1000]),
        lat_out_ns=np.array([1000]),
        queue_model=QueueModel.RISK_AVERSE,
    )


def test_spread_capture_measures_each_fill_against_the_venue_mid() -> None:
    v = _venue()
    for row in events([(0, BID, 100, 10), (0, ASK, 102, 10)]):  # mid 101
        v.market_event(row)
    v.send(now_ns=0, action=NEW, side=1, inst=0, client_order_id=1, price_tick=100, qty_lot=2)
    v.process_until(2000)
    v.market_event(events([(3000, SELL_TRADE, 100, 12)])[0])  # 10 ahead, then our 2
    assert v.acct[0, A_EDGE_TL] == pytest.approx(2 * (101 - 100))  # maker: earned 1 tick x 2
    flags = IOC
    v.send(4000, NEW, 1, 0, 2, price_tick=102, qty_lot=3, flags=flags)  # takes 3 at the ask
    v.process_until(6000)
    assert v.acct[0, A_EDGE_TL] == pytest.approx(2.0 - 3 * (102 - 101))


def test_venue_rejects_are_counted_by_reason() -> None:
    v = _venue()
    for row in events([(0, BID, 100, 10), (0, ASK, 101, 10)]):
        v.market_event(row)
    v.send(0, NEW, 1, 0, 1, price_tick=101, qty_lot=1, flags=POST_ONLY)  # would cross
    v.send(10, 2, 1, 0, 99, price_tick=100, qty_lot=1)  # cancel of an order never placed
    v.process_until(5000)
    counts = {r: int(v.vs[VS_REJECT_REASON0 + r - VENUE_REJECT_BASE]) for r in VenueReject}
    assert counts == {
        VenueReject.POST_ONLY: 1,
        VenueReject.UNKNOWN_ORDER: 1,
        VenueReject.NO_LIQUIDITY: 0,
        VenueReject.TOO_MANY_ORDERS: 0,
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_046_963.4512, "1,046,963.45"),
        (1.04696e6, "1,046,960.00"),
        (-12.5, "-12.5"),
        (0.000012345, "0.00001234"),
        (3, "3"),
        (1_185, "1,185"),
        (0.0, "0"),
        (None, "n/a"),
    ],
)
def test_numbers_print_for_humans(value: float | None, text: str) -> None:
    assert number(value) == text
    assert "e" not in number(value).replace("n/a", "")


def test_ratios_print_as_percent() -> None:
    assert percent(1.2e-5) == "0.0012 %"
    assert percent(0.25) == "25 %"
