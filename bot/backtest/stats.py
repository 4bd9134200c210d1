"""Backtest results: fills, sampled series and the summary statistics users compare runs by.

Money is in quote currency. PnL is split the way a trader reads it: realised (average-cost, on
closed size), unrealised (open position at the last mid), fees (negative = rebates earned) and
funding; ``cash + position * mark = initial + realised + unrealised - fees - funding`` holds per
instrument by construction of the venue's accounts, and ``check_identity`` verifies it. A second
split says where the money came from: spread capture (each fill against the venue's mid at that
moment), fees/rebates, funding, and inventory (mark-to-market of the position as the mid moves:
what is left, exactly, since ``pnl = capture + inventory - fees - funding``).

Risk-adjusted figures use returns (equity change over the initial capital) over one stated
interval, resampled from the equity series: daily when the run spans ``ANNUALISE_MIN_DAYS`` days
or more, annualised with sqrt(365) (crypto trades every day); a shorter run gets the longest of
1 h, 1 min, 1 s that still gives ``MIN_RETURNS`` returns, and its Sharpe and Sortino are the
per-interval figures, *not* annualised (a 30-minute run annualised would claim a Sharpe in the
thousands from noise). ``return_interval_s`` and ``annualised`` say which. Sortino divides by
the downside deviation (root mean square of the negative returns); Calmar is the (annualised
when ``annualised``) return over the maximum drawdown.

Trade statistics (win rate, profit factor, average trade) are over round trips: a trip opens
when the position leaves zero and closes when it returns to zero or changes sign (that fill is
split pro rata); its PnL is its cash flow including fees. A trip still open at the end is not
counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.backtest import sim_types as st
from bot.core.dtypes import RiskReason

SECOND_NS = 1_000_000_000
DAY_NS = 86_400 * SECOND_NS
YEAR_NS = 365 * DAY_NS
ANNUALISE_MIN_DAYS = 3
"""A run spanning at least this many days gets daily returns and annualised ratios."""
SHORT_INTERVALS_NS = (3_600 * SECOND_NS, 60 * SECOND_NS, SECOND_NS)
"""Return intervals for shorter runs, longest first."""
MIN_RETURNS = 20
"""A shorter run uses the longest interval that gives at least this many returns."""


@dataclass(frozen=True)
class Series:
    """Sampled series (exchange-side truth at each sample time)."""

    ts_ns: np.ndarray
    equity_quote: np.ndarray
    position_lot: np.ndarray
    """``[sample, instrument]``."""
    mid_tick: np.ndarray
    spread_tick: np.ndarray


def series_of(bt: Any) -> Series:
    """Return the filled part of a backtest's sample arrays."""
    k = int(bt.es[bt.loop.ES_N_SAMPLES])
    initial = bt.options.initial_capital_quote
    return Series(
        ts_ns=bt.s_ts[:k],
        equity_quote=bt.s_equity[:k] + initial,
        position_lot=bt.s_pos[:k],
        mid_tick=bt.s_mid[:k],
        spread_tick=bt.s_spread[:k],
    )


def _marks(bt: Any) -> np.ndarray:
    """Return the last mid per instrument (venue book), falling back to the last sampled one."""
    marks = np.array(bt.mark, dtype=np.float64)
    for inst in range(marks.shape[0]):
        bid = bt.venue.xstate[inst, 1]
        ask = bt.venue.xstate[inst, 2]
        if abs(bid) < (1 << 61) and abs(ask) < (1 << 61):
            marks[inst] = 0.5 * (bid + ask)
    return np.nan_to_num(marks, nan=0.0)


def pnl_parts(bt: Any) -> dict[str, float]:
    """Return cash, position value, realised, unrealised, fees and funding (quote, summed)."""
    acct, iacct, vinst = bt.venue.acct, bt.venue.iacct, bt.venue.vinst
    qptl = vinst[:, st.VI_QUOTE_PER_TICK_LOT]
    marks = _marks(bt)
    pos = iacct[:, st.I_POSITION].astype(np.float64)
    value = pos * marks * qptl
    unrealised = (pos * marks - acct[:, st.A_COST_TL]) * qptl
    return {
        "cash_quote": float(acct[:, st.A_CASH].sum()),
        "position_value_quote": float(value.sum()),
        "realised_pnl_quote": float((acct[:, st.A_REALISED_TL] * qptl).sum()),
        "unrealised_pnl_quote": float(unrealised.sum()),
        "fees_quote": float(acct[:, st.A_FEES].sum()),
        "funding_quote": float(acct[:, st.A_FUNDING].sum()),
    }


def check_identity(bt: Any, rel_tol: float = 1e-9) -> float:
    """Return the identity's residual; raise ``AssertionError`` if it exceeds ``rel_tol``."""
    p = pnl_parts(bt)
    left = p["cash_quote"] + p["position_value_quote"]
    right = (
        p["realised_pnl_quote"] + p["unrealised_pnl_quote"] - p["fees_quote"] - p["funding_quote"]
    )
    residual = left - right
    scale = max(1.0, abs(left), abs(p["fees_quote"]))
    if abs(residual) > rel_tol * scale:
        raise AssertionError(f"accounting identity broken: residual {residual}")
    return residual


@dataclass(frozen=True)
class RiskRatios:
    """Sharpe, Sortino and the interval of the returns they are computed from."""

    interval_ns: int
    n_returns: int
    annualised: bool
    sharpe: float
    sortino: float


def return_interval_ns(span_ns: int, sample_interval_ns: int) -> tuple[int, bool]:
    """Return the return interval for a run of ``span_ns`` and whether it is annualised."""
    if span_ns >= ANNUALISE_MIN_DAYS * DAY_NS:
        return max(DAY_NS, sample_interval_ns), True
    for interval in SHORT_INTERVALS_NS:
        if interval >= sample_interval_ns and span_ns // interval >= MIN_RETURNS:
            return interval, False
    return sample_interval_ns, False


def resample(ts_ns: np.ndarray, values: np.ndarray, interval_ns: int) -> np.ndarray:
    """Return ``values`` at ``ts[0] + k * interval`` (the last sample at or before each)."""
    if ts_ns.shape[0] == 0:
        return values[:0]
    t0 = int(ts_ns[0])
    k = (int(ts_ns[-1]) - t0) // interval_ns
    at = t0 + np.arange(k + 1, dtype=np.int64) * interval_ns
    idx = np.searchsorted(ts_ns, at, side="right") - 1
    return values[np.maximum(idx, 0)]


def risk_ratios(
    ts_ns: np.ndarray, equity: np.ndarray, initial: float, sample_interval_ns: int
) -> RiskRatios:
    """Return Sharpe and Sortino of the equity series over the interval that fits its span."""
    span = int(ts_ns[-1] - ts_ns[0]) if ts_ns.shape[0] else 0
    interval, annualised = return_interval_ns(span, sample_interval_ns)
    eq = resample(ts_ns, equity, interval)
    if eq.shape[0] < 3:
        return RiskRatios(interval, max(eq.shape[0] - 1, 0), annualised, 0.0, 0.0)
    r = np.diff(eq) / initial
    scale = math.sqrt(YEAR_NS / interval) if annualised else 1.0
    sd = float(r.std())
    mean = float(r.mean())
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    sharpe = mean / sd * scale if sd > 0 else 0.0
    sortino = mean / down * scale if down > 0 else 0.0
    return RiskRatios(interval, int(r.shape[0]), annualised, sharpe, sortino)


def round_trips(fills: np.ndarray, quote_per_tick_lot: np.ndarray) -> np.ndarray:
    """Return the PnL (quote, fees included) of every closed round trip, in closing order."""
    n_inst = quote_per_tick_lot.shape[0]
    pos = [0] * n_inst
    cash = [0.0] * n_inst
    out: list[float] = []
    for f in fills:
        inst = int(f["instrument"])
        side = int(f["side"])
        q = int(f["qty_lot"])
        flow = -side * float(f["price_tick"]) * q * float(quote_per_tick_lot[inst])
        flow -= float(f["fee_quote"])
        before = pos[inst]
        after = before + side * q
        if before != 0 and (after == 0 or (after > 0) != (before > 0)):
            closing = abs(before) / q  # the share of this fill that closes the trip
            out.append(cash[inst] + flow * closing)
            cash[inst] = flow * (1.0 - closing)
        else:
            cash[inst] += flow
        pos[inst] = after
    return np.array(out, dtype=np.float64)


def trade_stats(trips: np.ndarray) -> dict[str, Any]:
    """Return round trips, win rate, profit factor (None: no losing trip) and average trade."""
    wins = trips[trips > 0]
    losses = trips[trips < 0]
    gross_loss = float(-losses.sum())
    return {
        "round_trips": int(trips.shape[0]),
        "win_rate": float(wins.shape[0] / trips.shape[0]) if trips.shape[0] else 0.0,
        "profit_factor": float(wins.sum()) / gross_loss if gross_loss > 0 else None,
        "avg_trade_quote": float(trips.mean()) if trips.shape[0] else 0.0,
        "avg_win_quote": float(wins.mean()) if wins.shape[0] else 0.0,
        "avg_loss_quote": float(losses.mean()) if losses.shape[0] else 0.0,
    }


def rejects_by_reason(bt: Any) -> dict[str, dict[str, int]]:
    """Return risk rejects per ``RiskReason`` and venue rejects per ``VenueReject`` (by name).

    Venue reasons count what the venue answered: rejected orders, and cancel/amend rejects
    (``unknown_order``: the order had filled first; ``post_only`` also covers an amend that
    would have crossed). Orders are priced in ticks and sized in lots, so the venue's
    price/lot filters cannot fail; malformed orders are refused by risk (``invalid_order``).
    """
    risk_counts = bt.rcounts.sum(axis=0)
    risk = {r.name.lower(): int(risk_counts[r]) for r in RiskReason if r != RiskReason.OK}
    vs = bt.venue.vs
    venue = {
        r.name.lower(): int(vs[st.VS_REJECT_REASON0 + r - st.VENUE_REJECT_BASE])
        for r in st.VenueReject
    }
    return {"risk": risk, "venue": venue}


def _drawdown(equity: np.ndarray) -> tuple[float, float]:
    if equity.shape[0] == 0:
        return 0.0, 0.0
    peak = np.maximum.accumulate(equity)
    dd = peak - equity
    k = int(np.argmax(dd))
    return float(dd[k]), float(dd[k] / peak[k]) if peak[k] > 0 else 0.0


def compute_stats(bt: Any) -> dict[str, Any]:
    """Return every summary statistic of a finished backtest (JSON-ready)."""
    opts = bt.options
    initial = opts.initial_capital_quote
    parts = pnl_parts(bt)
    iacct, acct = bt.venue.iacct, bt.venue.acct
    series = series_of(bt)
    equity_end = initial + parts["cash_quote"] + parts["position_value_quote"]
    ratios = risk_ratios(series.ts_ns, series.equity_quote, initial, opts.sample_interval_ns)
    dd_quote, dd_frac = _drawdown(series.equity_quote)
    span_ns = int(series.ts_ns[-1] - series.ts_ns[0]) if series.ts_ns.shape[0] else 0
    pnl = equity_end - initial
    run_return = pnl / initial
    yearly = run_return * YEAR_NS / span_ns if ratios.annualised and span_ns > 0 else run_return
    qptl = bt.venue.vinst[:, st.VI_QUOTE_PER_TICK_LOT]
    capture = float((acct[:, st.A_EDGE_TL] * qptl).sum())
    maker = int(iacct[:, st.I_MAKER_LOT].sum())
    taker = int(iacct[:, st.I_TAKER_LOT].sum())
    counters = bt.counters()
    submitted = counters.pop("submitted_lot")
    waits = int(iacct[:, st.I_QWAIT_N].sum())
    inventory = series.position_lot.sum(axis=1) if series.position_lot.size else np.zeros(1)
    q = np.quantile(inventory, [0.05, 0.25, 0.5, 0.75, 0.95]) if inventory.size else [0] * 5
    volume = float(acct[:, st.A_VOLUME_QUOTE].sum())
    stats: dict[str, Any] = {
        "initial_capital_quote": initial,
        "equity_end_quote": equity_end,
        "pnl_quote": pnl,
        "return": run_return,
        **parts,
        "spread_capture_quote": capture,
        "inventory_pnl_quote": pnl - capture + parts["fees_quote"] + parts["funding_quote"],
        "span_s": span_ns / SECOND_NS,
        "return_interval_s": ratios.interval_ns / SECOND_NS,
        "returns_n": ratios.n_returns,
        "annualised": ratios.annualised,
        "sharpe": ratios.sharpe,
        "sortino": ratios.sortino,
        "max_drawdown_quote": dd_quote,
        "max_drawdown": dd_frac,
        "calmar": yearly / dd_frac if dd_frac > 0 else None,
        **trade_stats(round_trips(bt.venue.fill_rows(), qptl)),
        "volume_quote": volume,
        "turnover": volume / initial,
        "filled_lot": maker + taker,
        "fill_ratio": (maker + taker) / submitted if submitted else 0.0,
        "maker_share": maker / (maker + taker) if maker + taker else 0.0,
        "mean_queue_wait_s": float(acct[:, st.A_QWAIT_NS].sum()) / waits * 1e-9 if waits else 0.0,
        "position_end_lot": int(iacct[:, st.I_POSITION].sum()),
        "inventory_min_lot": int(inventory.min()) if inventory.size else 0,
        "inventory_q05_lot": float(q[0]),
        "inventory_q25_lot": float(q[1]),
        "inventory_q50_lot": float(q[2]),
        "inventory_q75_lot": float(q[3]),
        "inventory_q95_lot": float(q[4]),
        "inventory_max_lot": int(inventory.max()) if inventory.size else 0,
        **counters,
        "rejects": rejects_by_reason(bt),
        "samples": int(series.ts_ns.shape[0]),
    }
    return stats
