"""ema_rsi: bars from trades and indicators against an independent reference."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bot.core.signal import SIG_LAST_TRADE_TICK, SIG_TRADE_COUNT, SIG_TRADE_VOLUME_LOT
from strategies import ema_rsi

from .state import T0, State, news

MS = 1_000_000


def _trade(s: State, price: int, qty: int) -> None:
    """What ``update_trade_signals`` writes for one trade."""
    s.sig[0, SIG_LAST_TRADE_TICK] = price
    s.sig[0, SIG_TRADE_COUNT] += 1
    s.sig[0, SIG_TRADE_VOLUME_LOT] += qty


def reference(closes: list[float], fast: int, slow: int, n: int) -> tuple[float, float, float]:
    """EMAs seeded with the first close; Wilder RSI seeded with the mean of n changes."""
    ef = es = closes[0]
    for c in closes[1:]:
        ef = ef + (c - ef) * 2 / (fast + 1)
        es = es + (c - es) * 2 / (slow + 1)
    changes = [b - a for a, b in itertools.pairwise(closes)]
    gains = [max(x, 0) for x in changes]
    losses = [max(-x, 0) for x in changes]
    if len(changes) < n:
        return ef, es, math.nan
    ag = sum(gains[:n]) / n
    al = sum(losses[:n]) / n
    for g, lo in zip(gains[n:], losses[n:], strict=False):
        ag = (ag * (n - 1) + g) / n
        al = (al * (n - 1) + lo) / n
    rsi = 100.0 if al == 0 else 100 - 100 / (1 + ag / al)
    return ef, es, rsi


def test_volume_bars_and_indicators_match_the_reference() -> None:
    s = State(ema_rsi, ema_rsi.Params(bar="volume", bar_volume_lot=10, fast_period=3,
                                      slow_period=6, rsi_period=4))  # fmt: skip
    s.two_sided(99_990, 100_010)
    rng = np.random.default_rng(3)
    closes: list[float] = []
    vol = 0
    price = 100_000
    for i in range(200):
        price += int(rng.integers(-5, 6))
        qty = int(rng.integers(1, 8))
        _trade(s, price, qty)
        s.decide(T0 + i * MS, 0, 0)
        vol += qty
        if vol >= 10:  # the bar closes on this trade; excess volume is dropped
            closes.append(price)
            vol = 0
    assert s.istate[ema_rsi.I_BARS] == len(closes) > 30
    ef, es, rsi = reference(closes, 3, 6, 4)
    assert s.fstate[ema_rsi.F_EMA_FAST] == pytest.approx(ef, rel=1e-12)
    assert s.fstate[ema_rsi.F_EMA_SLOW] == pytest.approx(es, rel=1e-12)
    assert s.fstate[ema_rsi.F_RSI] == pytest.approx(rsi, rel=1e-9)


def test_time_bars_close_on_time_with_the_last_trade_price() -> None:
    s = State(ema_rsi, ema_rsi.Params(bar="time", bar_interval_ms=1000, fast_period=2,
                                      slow_period=3, rsi_period=2))  # fmt: skip
    s.two_sided(99_990, 100_010)
    s.decide(T0, 1)  # the engine's first timer call starts the bar clock
    assert s.istate[0] == T0 + 1000 * MS
    _trade(s, 100_000, 1)
    s.decide(T0 + 100 * MS, 0, 0)
    _trade(s, 100_004, 1)
    s.decide(T0 + 900 * MS, 0, 0)
    s.decide(T0 + 1000 * MS, 1)  # timer: the bar [0, 1 s) closes at 100,004
    assert s.istate[ema_rsi.I_BARS] == 1
    assert s.fstate[ema_rsi.F_EMA_FAST] == 100_004
    s.decide(T0 + 3500 * MS, 1)  # two empty intervals make no bar
    assert s.istate[ema_rsi.I_BARS] == 1
    assert s.istate[0] == T0 + 4000 * MS
    _trade(s, 100_010, 1)
    s.decide(T0 + 3600 * MS, 0, 0)
    _trade(s, 100_020, 1)
    s.decide(T0 + 4000 * MS, 0, 0)  # a trade at the bar end belongs to the next bar
    assert s.istate[ema_rsi.I_BARS] == 2
    assert s.fstate[ema_rsi.F_PREV_CLOSE] == 100_010


def test_crossover_with_rsi_filter_sets_the_target_and_trades_ioc() -> None:
    p = ema_rsi.Params(bar="volume", bar_volume_lot=1, fast_period=2, slow_period=4,
                       rsi_period=2, rsi_overbought=99.0, rsi_oversold=1.0, qty_lot=3)  # fmt: skip
    s = State(ema_rsi, p)
    s.two_sided(99_990, 100_010)
    sent = []
    prices = [100_000, 99_990, 99_980, 99_970, 99_960, 99_965, 99_990, 100_030]
    for i, px in enumerate(prices):
        _trade(s, px, 1)
        out = news(s.decide(T0 + i * MS, 0, 0))
        s.pos[0] += sum(int(o["side"]) * int(o["qty_lot"]) for o in out)  # the IOC filled
        sent.append(out)
    assert s.istate[ema_rsi.I_TARGET_LOT] == 3  # the fast EMA crossed above on the rebound
    buys = [o for out in sent for o in out]
    assert len(buys) == 1
    assert buys[0]["side"] == 1
    assert buys[0]["qty_lot"] == 3
    assert buys[0]["price_tick"] == 100_011
    assert buys[0]["flags"] & 4
    s.halt()
    s.pos[0] = 0
    _trade(s, 100_040, 1)
    assert len(s.decide(T0 + 99 * MS, 0, 0)) == 0  # halted: nothing, even off target


def test_fast_must_be_faster_than_slow() -> None:
    import msgspec

    with pytest.raises(msgspec.ValidationError, match="fast_period"):
        msgspec.convert({"fast_period": 5, "slow_period": 5}, ema_rsi.Params)
