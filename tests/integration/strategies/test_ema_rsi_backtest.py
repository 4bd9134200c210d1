"""EMA/RSI on a trend and its reversal, against a reference computed from the same trades."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.backtest import session
from bot.backtest.engine import Backtest
from bot.core.dtypes import EventKind, Liquidity
from strategies import ema_rsi
from tests.support.markets import START_NS

from .conftest import QUIET_S, TREND_PHASES_S, config

PARAMS: dict[str, Any] = {
    "bar": "time", "bar_interval_ms": 1000, "fast_period": 5, "slow_period": 20,
    "rsi_period": 14, "rsi_overbought": 90, "rsi_oversold": 10, "qty_lot": 3,
    "slippage_ticks": 1,
}  # fmt: skip
SIM = [{"venue": "sim", "symbol": "BTCUSDT"}]
MS = 1_000_000
LATENCY_NS = 1 * MS  # order entry (config: entry_ms 1)


@dataclass
class Reference:
    """Bars and indicators recomputed in plain Python from the trade rows of the events."""

    bar_end_ns: np.ndarray  # local time each bar closed (the strategy's wake)
    close: np.ndarray
    ema_fast: np.ndarray
    ema_slow: np.ndarray
    rsi: np.ndarray  # NaN until defined
    target: np.ndarray  # the target position after each bar
    vetoed: list[int]  # bars whose crossover the RSI filter vetoed


def reference(events: np.ndarray, p: dict[str, Any]) -> Reference:
    """Time bars aligned to the first event, closed by the first event at or after their end;
    EMAs seeded with the first close; Wilder's RSI seeded with the mean of the first n changes."""
    t0 = int(events["ts_local_ns"][0])
    last = int(events["ts_local_ns"][-1])
    step = round(p["bar_interval_ms"] * MS)
    kinds = events["kind"]
    trades = events[(kinds == EventKind.TRADE_BUY) | (kinds == EventKind.TRADE_SELL)]
    closes: dict[int, int] = {}
    for tr in trades:  # the last trade of each interval is its close
        closes[(int(tr["ts_local_ns"]) - t0) // step] = int(tr["price_tick"])
    done = sorted(b for b in closes if t0 + (b + 1) * step <= last)
    ends = np.array([t0 + (b + 1) * step for b in done], dtype=np.int64)
    c = np.array([closes[b] for b in done], dtype=np.float64)
    n, fast, slow = p["rsi_period"], p["fast_period"], p["slow_period"]
    ef = np.empty_like(c)
    es = np.empty_like(c)
    rsi = np.full_like(c, np.nan)
    target = np.zeros(len(c), dtype=np.int64)
    ef[0] = es[0] = c[0]
    gains: list[float] = []
    losses: list[float] = []
    ag = al = 0.0
    vetoed: list[int] = []
    for k in range(1, len(c)):
        ef[k] = ef[k - 1] + (c[k] - ef[k - 1]) * 2 / (fast + 1)
        es[k] = es[k - 1] + (c[k] - es[k - 1]) * 2 / (slow + 1)
        gains.append(max(c[k] - c[k - 1], 0.0))
        losses.append(max(c[k - 1] - c[k], 0.0))
        if k == n:
            ag, al = sum(gains) / n, sum(losses) / n
        elif k > n:
            ag = (ag * (n - 1) + gains[-1]) / n
            al = (al * (n - 1) + losses[-1]) / n
        if k >= n:
            rsi[k] = 100.0 - 100.0 / (1.0 + ag / al) if al > 0 else (100.0 if ag > 0 else 50.0)
        target[k] = target[k - 1]
        if k + 1 < slow or np.isnan(rsi[k]):
            continue
        before, now = ef[k - 1] - es[k - 1], ef[k] - es[k]
        if before <= 0 < now:
            if rsi[k] < p["rsi_overbought"]:
                target[k] = p["qty_lot"]
            else:
                vetoed.append(k)
        elif before >= 0 > now:
            if rsi[k] > p["rsi_oversold"]:
                target[k] = 0 if p.get("long_only") else -p["qty_lot"]
            else:
                vetoed.append(k)
    return Reference(ends, c, ef, es, rsi, target, vetoed)


@pytest.fixture(scope="module")
def built(trend_reversal: Path) -> Any:
    """Build backtests on the trend market (one compiled loop; params vary per call)."""
    data = session.load_data([trend_reversal])

    def build(**overrides: Any) -> Backtest:
        return session.build(config("ema_rsi", {**PARAMS, **overrides}, SIM), data)

    return build


def _check_against_reference(bt: Backtest, ref: Reference) -> None:
    """Bars, indicators and every trade match the reference; trades are taker IOCs."""
    assert bt.istate[ema_rsi.I_BARS] == len(ref.close)
    assert bt.fstate[ema_rsi.F_EMA_FAST] == pytest.approx(ref.ema_fast[-1], rel=1e-12)
    assert bt.fstate[ema_rsi.F_EMA_SLOW] == pytest.approx(ref.ema_slow[-1], rel=1e-12)
    assert bt.fstate[ema_rsi.F_RSI] == pytest.approx(ref.rsi[-1], rel=1e-9)
    fills = bt.venue.fill_rows()
    assert (fills["liquidity"] == Liquidity.TAKER).all()
    change = np.diff(ref.target, prepend=0)
    k = np.flatnonzero(change)
    # one IOC per target change, sent at that bar's close, filled in full one latency later
    assert fills["ts_exch_ns"].tolist() == (ref.bar_end_ns[k] + LATENCY_NS).tolist()
    assert (fills["side"] * fills["qty_lot"]).tolist() == change[k].tolist()
    assert int(bt.pos_local[0]) == ref.target[-1]
    # so it bought only below the overbought level and sold only above the oversold one
    p = bt.params_struct
    assert (ref.rsi[k][change[k] > 0] < p.rsi_overbought).all()
    assert (ref.rsi[k][change[k] < 0] > p.rsi_oversold).all()


def _position_at(bt: Backtest, t_s: float) -> int:
    """Return the sampled position at ``t_s`` seconds into the market (500 ms samples)."""
    i = np.searchsorted(bt.s_ts[: bt.es[bt.loop.ES_N_SAMPLES]], START_NS + round(t_s * 1e9))
    return int(bt.s_pos[i, 0])


def test_long_in_the_up_trend_short_after_the_reversal(built: Any) -> None:
    bt = built()
    bt.run()
    ref = reference(bt.events, PARAMS)
    _check_against_reference(bt, ref)
    flat, up, down = TREND_PHASES_S
    # settled in each trend (the slow EMA needs some bars to turn): long, then short
    qty = PARAMS["qty_lot"]
    assert all(_position_at(bt, t) == qty for t in np.arange(flat + 40, flat + up, 1.0))
    assert all(_position_at(bt, t) == -qty for t in np.arange(flat + up + 40, flat + up + down - 5))


def test_the_rsi_filter_vetoes_crossovers(built: Any) -> None:
    tight = {"rsi_overbought": 55.0, "rsi_oversold": 45.0}
    bt = built(**tight)
    bt.run()
    ref = reference(bt.events, {**PARAMS, **tight})
    assert ref.vetoed  # crossovers at a stretched RSI: the filter has work to do
    _check_against_reference(bt, ref)
    fill_times = set(bt.venue.fill_rows()["ts_exch_ns"].tolist())
    assert not fill_times & {int(ref.bar_end_ns[k]) + LATENCY_NS for k in ref.vetoed}
    # the same trades without the filter's vetoes would have been different
    loose = reference(bt.events, PARAMS)
    assert not loose.vetoed
    assert not np.array_equal(loose.target, ref.target)


@pytest.mark.parametrize("interval_ms", [700, 2500])
def test_time_bars_follow_the_interval_and_skip_intervals_without_trades(
    built: Any, interval_ms: int
) -> None:
    bt = built(bar_interval_ms=interval_ms)
    bt.run()
    ref = reference(bt.events, {**PARAMS, "bar_interval_ms": interval_ms})
    _check_against_reference(bt, ref)
    # one bar per interval that saw a trade: the quiet stretch leaves a gap in the bar grid
    t0 = int(bt.events["ts_local_ns"][0])
    grid = (ref.bar_end_ns - t0) // (interval_ms * MS)
    assert np.all(ref.bar_end_ns - t0 == grid * interval_ms * MS)
    assert np.diff(grid).max() >= (QUIET_S[1] - QUIET_S[0]) * 1000 // interval_ms
    last = int(bt.events["ts_local_ns"][-1])
    assert len(ref.close) < (last - t0) // (interval_ms * MS)
