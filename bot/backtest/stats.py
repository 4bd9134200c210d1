"""Backtest results: fills, sampled series and the summary statistics users compare runs by.

Money is in quote currency. PnL is split the way a trader reads it: realised (average-cost, on
closed size), unrealised (open position at the last mid), fees (negative = rebates earned) and
funding; ``cash + position * mark = initial + realised + unrealised - fees - funding`` holds per
instrument by construction of the venue's accounts, and ``check_identity`` verifies it.

Risk-adjusted figures use the sampled equity series (one sample per ``sample_interval``):
returns are equity changes over the initial capital, annualised with the number of sampling
intervals in 365 days (crypto trades every day). Sortino divides by the downside deviation
(root mean square of the negative returns).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.backtest import sim_types as st

YEAR_NS = 365 * 86_400 * 1_000_000_000


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


def _risk_ratios(equity: np.ndarray, initial: float, interval_ns: int) -> tuple[float, float]:
    if equity.shape[0] < 3:
        return 0.0, 0.0
    r = np.diff(equity) / initial
    per_year = math.sqrt(YEAR_NS / interval_ns)
    sd = float(r.std())
    mean = float(r.mean())
    down = float(np.sqrt(np.mean(np.minimum(r, 0.0) ** 2)))
    sharpe = mean / sd * per_year if sd > 0 else 0.0
    sortino = mean / down * per_year if down > 0 else 0.0
    return sharpe, sortino


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
    sharpe, sortino = _risk_ratios(series.equity_quote, initial, opts.sample_interval_ns)
    dd_quote, dd_frac = _drawdown(series.equity_quote)
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
        "pnl_quote": equity_end - initial,
        "return": (equity_end - initial) / initial,
        **parts,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown_quote": dd_quote,
        "max_drawdown": dd_frac,
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
        "samples": int(series.ts_ns.shape[0]),
    }
    return stats
