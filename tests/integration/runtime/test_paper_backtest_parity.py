"""Paper mode and the backtest make the same orders and fills from the same market.

The live core (``TradingCore`` as ``tickbot run`` builds it for ``mode: paper``: the simulated
venue timed by the receive clock) is driven frame by frame with recorded market messages, on a
clock that fires each timer and venue answer at its due time; the backtest runs the same events.

What is equal, exactly: the counters (decisions, orders, cancels, amends, risk and venue
rejections), every request the strategy sent in order (action, side, instrument, client order
id, price, size, send time) and every fill (order, side, price, size, time, fee). The
condition: the events' exchange time is their receive time, because a paper venue sees the
book when the bot does (``venue_local_clock``); the backtest's latency model (``lat_in``,
``lat_out``, queue) is the same in both. In a live paper session timers and answers fire at
the loop's wake-up instead, a few microseconds late, so a frame arriving inside that jitter
can be seen before a due timer: the same logic, a slightly different interleaving.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import strategies
from bot.backtest import sim_types as st
from bot.backtest.engine import Backtest, EngineOptions
from bot.core.dtypes import EventFlag
from bot.core.risk import make_limits, new_risk
from bot.data.generate import GenerateParams, generate_events
from bot.runtime.core import TradingCore


class _Handle:
    def cancel(self) -> None:
        pass


class _Loop:
    """No real loop: due work runs from ``on_frame`` (everything due by the frame's time)."""

    def call_at(self, when: float, callback: Callable[[], None]) -> _Handle:
        return _Handle()


class ReplayClock:
    """The receive clock of a recorded session, at the frame being replayed."""

    def __init__(self, now_ns: int) -> None:
        self.now = now_ns
        self.loop: Any = _Loop()

    def now_ns(self) -> int:
        return self.now

    def loop_time(self, ns: int) -> float:
        return ns * 1e-9


def _limits() -> np.ndarray:
    limits, _, _ = new_risk(1)
    limits[0] = make_limits(max_position_lot=5, max_order_lot=2, max_notional_quote=1e9,
                            price_band_bps=50, max_open_orders=6, orders_per_s=100,
                            burst=50)  # fmt: skip
    return limits


def _events() -> np.ndarray:
    params = GenerateParams(events=60_000, duration_s=120.0, sigma_bps=2.0)
    ev = generate_events(params, seed=11)
    ev["ts_exch_ns"] = ev["ts_local_ns"]  # the paper venue's clock is the receive clock
    return ev


def test_paper_core_and_backtest_send_the_same_orders_and_get_the_same_fills() -> None:
    events = _events()
    spec = GenerateParams().spec()
    module = strategies.load("fixed_spread")
    params = module.Params(offset_ticks=1, qty_lot=1, interval_ms=50)
    options = EngineOptions(lat_in_ns=np.array([1_500_000]), lat_out_ns=np.array([800_000]))

    bt = Backtest(events, [spec], module, params, [0], _limits(), options)
    bt.run()

    core = TradingCore([spec], module, params, [0], _limits(), options,
                       apply_books=True, venue_local_clock=True)  # fmt: skip
    core.warm_up()
    clock = ReplayClock(int(events["ts_local_ns"][0]))
    core.start(clock)  # type: ignore[arg-type]
    ends = np.flatnonzero(events["flags"] & int(EventFlag.BATCH_END))
    start = 0
    for end in ends.tolist():
        frame = events[start : end + 1]
        clock.now = int(frame["ts_local_ns"][0])
        core.on_frame(frame, 0)
        start = end + 1
    assert start == events.shape[0]

    got, want = core.venue, bt.venue
    counters = bt.counters()
    assert counters["orders_sent"] > 100  # a real session: quotes, requotes, fills
    assert counters["fills"] > 10
    for name, slot in (("decide_calls", 8), ("orders_sent", 3), ("cancels_sent", 4),
                       ("amends_sent", 5), ("risk_rejects", 6), ("venue_rejects", 16)):  # fmt: skip
        assert int(core.es[slot]) == counters[name], name
    n_req = int(want.vs[st.VS_REQ_TAIL])
    assert int(got.vs[st.VS_REQ_TAIL]) == n_req
    ring = want.req.shape[0]
    idx = np.arange(max(0, n_req - ring), n_req) & (ring - 1)
    assert np.array_equal(got.req[idx], want.req[idx])  # every request, in order
    n_fills = counters["fills"]
    assert int(got.vs[st.VS_N_FILLS]) == n_fills
    assert np.array_equal(got.fills[:n_fills], want.fills[:n_fills])
