"""The backtest summary as people read it: labelled rows of human-formatted numbers.

The console table (``tickbot backtest``) and the HTML report print the same rows. Numbers are
for reading, never in exponent form: thousands separators (``1,046,963.45``), ratios as percent
with enough significant digits to tell small values apart (``0.0012 %``). The JSON output and
``stats.json`` keep full precision; only these strings are rounded.
"""

from __future__ import annotations

import math
from typing import Any

SIGNIFICANT = 4
"""Significant digits kept for values below 1 (``0.0001234`` -> ``0.0001234``)."""
MAX_DECIMALS = 12
"""Beyond this many decimals a value prints as 0 (it is below any money or ratio we show)."""


def number(value: float | int | None, decimals: int | None = None) -> str:
    """Return ``value`` for humans: ``1,046,963.45``, ``0.0012``, ``-3``, ``n/a`` for None."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if decimals is None:
        mag = abs(value)
        if mag == 0.0:
            return "0"
        if mag >= 1000:
            decimals = 2
        elif mag >= 1:
            decimals = SIGNIFICANT
        else:
            decimals = min(MAX_DECIMALS, SIGNIFICANT - 1 - math.floor(math.log10(mag)))
    text = f"{value:,.{decimals}f}"
    if "." in text and decimals > 2:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def percent(value: float | None) -> str:
    """Return a fraction as percent for humans (``1.2e-05`` -> ``0.0012 %``)."""
    return "n/a" if value is None else f"{number(value * 100)} %"


def duration(seconds: float) -> str:
    """Return a span in the largest unit that reads well (``30 min``, ``3.5 d``, ``250 ms``)."""
    for unit, size in (("d", 86_400.0), ("h", 3_600.0), ("min", 60.0), ("s", 1.0)):
        if seconds >= size:
            return f"{number(round(seconds / size, 1))} {unit}"
    return f"{number(seconds * 1e3)} ms"


def _ratios(stats: dict[str, Any]) -> tuple[str, str]:
    interval = duration(stats["return_interval_s"])
    figures = f"{number(stats['sharpe'], 2)} / {number(stats['sortino'], 2)}"
    if stats["annualised"]:
        return (
            "Sharpe / Sortino (annualised)",
            f"{figures} (from {stats['returns_n']:,} daily returns)",
        )
    return (
        f"Sharpe / Sortino (per {interval})",
        f"{figures} from {stats['returns_n']:,} returns; not annualised: the run spans "
        f"{duration(stats['span_s'])}",
    )


def _reasons(counts: dict[str, int]) -> str:
    parts = [f"{name} {n:,}" for name, n in sorted(counts.items(), key=lambda kv: -kv[1]) if n]
    return ", ".join(parts) if parts else "none"


def summary_rows(stats: dict[str, Any]) -> list[tuple[str, str]]:
    """Return the summary as ``(label, text)`` rows (timing rows only when present)."""
    rows: list[tuple[str, str]] = []
    if "events" in stats:
        rows.append(("events", number(stats["events"])))
    if "events_per_s" in stats:
        rows.append(("events/s (warm)", number(round(stats["events_per_s"]))))
    if "compile_s" in stats:
        rows.append(("compile / cache load", f"{number(stats['compile_s'], 2)} s"))
    rejects = stats["rejects"]
    rows += [
        ("run span", duration(stats["span_s"])),
        ("PnL", f"{number(stats['pnl_quote'])} ({percent(stats['return'])})"),
        ("  spread capture", number(stats["spread_capture_quote"])),
        ("  inventory (mark-to-market)", number(stats["inventory_pnl_quote"])),
        ("  fees (neg = rebate)", number(stats["fees_quote"])),
        ("  funding", number(stats["funding_quote"])),
        ("realised / unrealised", f"{number(stats['realised_pnl_quote'])} / "
         f"{number(stats['unrealised_pnl_quote'])}"),
        _ratios(stats),
        ("max drawdown", f"{number(stats['max_drawdown_quote'])} "
         f"({percent(stats['max_drawdown'])})"),
        ("Calmar" + ("" if stats["annualised"] else " (run return, not annualised)"),
         number(stats["calmar"], 2)),
        ("round trips (win rate)", f"{number(stats['round_trips'])} "
         f"({percent(stats['win_rate'])})"),
        ("profit factor", number(stats["profit_factor"], 2)),
        ("average trade", number(stats["avg_trade_quote"])),
        ("turnover", f"{number(stats['turnover'])}x ({number(stats['volume_quote'])} quote)"),
        ("orders / cancels sent", f"{number(stats['orders_sent'])} / "
         f"{number(stats['cancels_sent'])}"),
        ("fills (maker share)", f"{number(stats['fills'])} ({percent(stats['maker_share'])})"),
        ("fill ratio", percent(stats["fill_ratio"])),
        ("mean queue wait", f"{number(stats['mean_queue_wait_s'])} s"),
        ("inventory q05/q50/q95", f"{number(stats['inventory_q05_lot'])} / "
         f"{number(stats['inventory_q50_lot'])} / {number(stats['inventory_q95_lot'])} lots"),
        (f"risk rejects {number(stats['risk_rejects'])}", _reasons(rejects["risk"])),
        (f"venue rejects {number(stats['venue_rejects'])}", _reasons(rejects["venue"])),
        ("cancels lost to fills", number(stats["cancels_lost"])),
    ]  # fmt: skip
    return rows


def flat_rows(stats: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Return every stat as ``(key, human text)``, nested mappings as ``outer.inner`` keys."""
    out: list[tuple[str, str]] = []
    for key, value in stats.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += flat_rows(value, f"{name}.")
        elif isinstance(value, float | int | bool) or value is None:
            out.append((name, number(value)))
        else:
            out.append((name, str(value)))
    return out
