"""Folds the core's arrays into Prometheus metrics once a second, and logs latency once a minute.

The hot path only writes numbers into preallocated arrays (tick-to-trade ring, the engine's
counters, risk counts, the venue's fill log); this task reads them off the hot path and turns
deltas into counter increments, so a scrape never touches the trading loop's state mid-frame.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from bot.backtest import _loop as lp
from bot.backtest import sim_types as st
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID
from bot.core.dtypes import RiskReason
from bot.metrics import registry as m
from bot.runtime import live
from bot.runtime.core import LATENCY_RING, TradingCore

log = logging.getLogger(__name__)

_ORDER_COUNTERS = (("new", lp.ES_ORDERS), ("cancel", lp.ES_CANCELS), ("amend", lp.ES_AMENDS))


@dataclass
class Totals:
    """What the run did so far (the demo's summary and the TTY view read it)."""

    orders: int = 0
    cancels: int = 0
    fills: int = 0
    risk_rejections: int = 0
    venue_rejections: int = 0
    t2t_p50_s: float = float("nan")
    t2t_p99_s: float = float("nan")
    t2t_samples: int = 0
    realized_pnl_quote: list[float] = field(default_factory=list)
    unrealized_pnl_quote: list[float] = field(default_factory=list)
    fees_quote: list[float] = field(default_factory=list)


def latency_samples(core: TradingCore, since: int = 0) -> np.ndarray:
    """Return the tick-to-trade samples (ns) recorded after sample number ``since``."""
    n = core.t2t_n
    first = max(since, n - LATENCY_RING)
    if first >= n:
        return np.zeros(0, dtype=np.int64)
    idx = np.arange(first, n) & (LATENCY_RING - 1)
    return core.t2t_ns[idx]


class Exporter:
    """Periodically export one core's state."""

    def __init__(self, core: TradingCore, *, log_interval_s: float = 60.0) -> None:
        self.core = core
        self.log_interval_s = log_interval_s
        self.totals = Totals()
        self._es_seen = np.zeros_like(core.es)
        self._rcounts_seen = np.zeros_like(core.rcounts)
        self._t2t_seen = 0
        self._t2t_logged = 0
        self._fills_seen = 0
        self._router_seen: dict[tuple[str, str], int] = {}
        self._unknown_seen = 0
        self._live_fills_seen = np.zeros((len(core.specs), len(live.FILL_LABELS)), dtype=np.int64)
        self._last_log = time.monotonic()
        labels = [(s.venue, s.symbol) for s in core.specs]
        self._labels = labels
        self._t2t = {v: m.TICK_TO_TRADE.labels(v) for v in {s.venue for s in core.specs}}
        core.fills_overflow = self._drain_then_reset  # type: ignore[method-assign]

    async def run(self, period_s: float = 1.0) -> None:
        """Export every ``period_s`` until cancelled."""
        while True:
            await asyncio.sleep(period_s)
            self.export()

    def export(self) -> None:
        """Export everything once (also called at shutdown)."""
        core = self.core
        es = core.es
        venue = core.specs[0].venue if core.specs else "sim"
        t = self.totals
        if core.router is not None:
            self._export_router(venue)
            self._export_live_pnl()
        else:
            for action, slot in _ORDER_COUNTERS:
                delta = int(es[slot] - self._es_seen[slot])
                if delta:
                    m.ORDERS.labels(venue, action, "sent").inc(delta)
            delta = int(es[lp.ES_VENUE_REJECTS] - self._es_seen[lp.ES_VENUE_REJECTS])
            if delta:
                m.ORDERS.labels(venue, "new", "rejected").inc(delta)
            self._drain_fills()
            self._export_books_and_pnl()
            t.venue_rejections = int(es[lp.ES_VENUE_REJECTS])
        self._es_seen[:] = es
        self._export_risk()
        self._export_latency(venue)
        t.orders = int(es[lp.ES_ORDERS])
        t.cancels = int(es[lp.ES_CANCELS])
        t.risk_rejections = int(es[lp.ES_RISK_REJECTS])
        now = time.monotonic()
        if now - self._last_log >= self.log_interval_s:
            self._last_log = now
            self.log_latency()

    def log_latency(self) -> None:
        """Log tick-to-trade p50/p99 over the samples since the last log line."""
        samples = latency_samples(self.core, self._t2t_logged)
        self._t2t_logged = self.core.t2t_n
        if samples.size == 0:
            log.info("tick-to-trade: no orders in the last interval")
            return
        p50, p99 = np.percentile(samples, [50, 99]) * 1e-9
        extra = {"p50_s": float(p50), "p99_s": float(p99), "orders": int(samples.size)}
        log.info("tick-to-trade p50 %.1f us p99 %.1f us over %d orders",
                 p50 * 1e6, p99 * 1e6, samples.size, extra=extra)  # fmt: skip

    def _export_risk(self) -> None:
        counts = self.core.rcounts
        delta = counts - self._rcounts_seen
        if delta.any():
            for inst, reason in zip(*np.nonzero(delta), strict=True):
                if reason == 0:
                    continue
                name = RiskReason(int(reason)).name.lower()
                m.RISK_REJECTIONS.labels(self._labels[inst][1], name).inc(int(delta[inst, reason]))
            self._rcounts_seen[:] = counts

    def _export_router(self, venue: str) -> None:
        """Live mode: orders by action and result, unknown outcomes, from the router."""
        router = self.core.router
        counters = router.counters
        for (action, result), n in counters.orders.items():
            seen = self._router_seen.get((action, result), 0)
            if n > seen:
                m.ORDERS.labels(venue, action, result).inc(n - seen)
                self._router_seen[(action, result)] = n
        if counters.unknown_outcomes > self._unknown_seen:
            m.ORDERS_UNKNOWN.labels(venue).inc(counters.unknown_outcomes - self._unknown_seen)
            self._unknown_seen = counters.unknown_outcomes
        self.totals.venue_rejections = counters.orders.get(("new", "rejected"), 0)

    def _export_live_pnl(self) -> None:
        """Live mode: fills, position and PnL from the fills the router reported."""
        core = self.core
        acct = core.live_acct
        state = core.lstate
        realized, unrealized, fees = [], [], []
        for inst, (venue, symbol) in enumerate(self._labels):
            a = acct[inst]
            for k, (side, liquidity) in enumerate(live.FILL_LABELS):
                n = int(a[live.L_FILLS + k])
                seen = int(self._live_fills_seen[inst, k])
                if n > seen:
                    m.FILLS.labels(venue, symbol, side, liquidity).inc(n - seen)
                    self.totals.fills += n - seen
                    self._live_fills_seen[inst, k] = n
            bid, ask = int(state[inst, ST_BEST_BID]), int(state[inst, ST_BEST_ASK])
            valid = state[inst, ST_VALID] != 0 and bid < ask
            m.SPREAD_TICKS.labels(venue, symbol).set(ask - bid if valid else float("nan"))
            pos = int(core.rstate[inst]["position_lot"])
            mid = (bid + ask) / 2 if valid else float("nan")
            qptl = float(core.qptl[inst])
            m.POSITION_LOTS.labels(venue, symbol).set(pos)
            m.NOTIONAL_QUOTE.labels(venue, symbol).set(abs(pos * mid * qptl) if pos else 0.0)
            r = float(a[live.L_REALISED_TL] * qptl - a[live.L_FEES])
            lpos = a[live.L_POSITION]
            u = float((lpos * mid - a[live.L_COST_TL]) * qptl) if lpos else 0.0
            m.REALIZED_PNL.labels(venue, symbol).set(r)
            m.UNREALIZED_PNL.labels(venue, symbol).set(u)
            realized.append(r)
            unrealized.append(u)
            fees.append(float(a[live.L_FEES]))
        t = self.totals
        t.realized_pnl_quote, t.unrealized_pnl_quote, t.fees_quote = realized, unrealized, fees

    def _drain_fills(self) -> None:
        v = self.core.venue
        n = int(v.vs[st.VS_N_FILLS])
        for f in v.fills[self._fills_seen : n]:
            venue, symbol = self._labels[int(f["instrument"])]
            side = "buy" if f["side"] > 0 else "sell"
            liquidity = "maker" if f["liquidity"] == 1 else "taker"
            m.FILLS.labels(venue, symbol, side, liquidity).inc()
            self.totals.fills += 1
        self._fills_seen = n

    def _drain_then_reset(self) -> None:
        self._drain_fills()
        self.core.venue.vs[st.VS_N_FILLS] = 0
        self._fills_seen = 0

    def _export_latency(self, venue: str) -> None:
        core = self.core
        samples = latency_samples(core, self._t2t_seen)
        self._t2t_seen = core.t2t_n
        hist = self._t2t[venue]
        for ns in samples.tolist():
            hist.observe(ns * 1e-9)
        everything = latency_samples(core)
        t = self.totals
        t.t2t_samples = core.t2t_n
        if everything.size:
            p50, p99 = np.percentile(everything, [50, 99]) * 1e-9
            t.t2t_p50_s, t.t2t_p99_s = float(p50), float(p99)

    def _export_books_and_pnl(self) -> None:
        core = self.core
        v = core.venue
        state = core.lstate
        qptl = v.vinst[:, st.VI_QUOTE_PER_TICK_LOT]
        realized, unrealized, fees = [], [], []
        for inst, (venue, symbol) in enumerate(self._labels):
            bid, ask = int(state[inst, ST_BEST_BID]), int(state[inst, ST_BEST_ASK])
            valid = state[inst, ST_VALID] != 0 and bid < ask
            m.SPREAD_TICKS.labels(venue, symbol).set(ask - bid if valid else float("nan"))
            pos = int(v.iacct[inst, st.I_POSITION])
            mid = (bid + ask) / 2 if valid else float("nan")
            m.POSITION_LOTS.labels(venue, symbol).set(pos)
            value = pos * mid * qptl[inst] if pos else 0.0
            m.NOTIONAL_QUOTE.labels(venue, symbol).set(abs(value))
            r = float(v.acct[inst, st.A_REALISED_TL] * qptl[inst] - v.acct[inst, st.A_FEES])
            u = float((pos * mid - v.acct[inst, st.A_COST_TL]) * qptl[inst]) if pos else 0.0
            m.REALIZED_PNL.labels(venue, symbol).set(r)
            m.UNREALIZED_PNL.labels(venue, symbol).set(u)
            realized.append(r)
            unrealized.append(u)
            fees.append(float(v.acct[inst, st.A_FEES]))
        t = self.totals
        t.realized_pnl_quote, t.unrealized_pnl_quote, t.fees_quote = realized, unrealized, fees
