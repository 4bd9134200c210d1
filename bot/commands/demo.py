"""``tickbot demo``: the bot itself for a minute, on a synthetic market, with no keys or network.

It is ``tickbot run`` in ``sim`` mode with the Avellaneda-Stoikov market maker: a seeded
synthetic market (``bot.data.generate``) drives the simulated exchange in real time (or
``--speed`` times faster), with its latency and queue model; metrics and probes are served on
localhost; on a terminal a live view shows the book, our quotes, position and PnL. At the end
every order is cancelled and a summary printed: orders, fills, PnL, tick-to-trade p50/p99.
"""

from __future__ import annotations

import argparse
import math
import sys

from bot.app import RunOptions, RunResult
from bot.cli import UserError
from bot.commands.run import add_runtime_options, check_runtime_options, execute
from bot.config.reload import parse_snapshot
from bot.config.schema import ConfigError
from bot.logsetup import configure

DEMO_CONFIG = """
strategy:
  name: avellaneda_stoikov
  params: {model: finite, gamma_per_tick: 0.001, kappa_per_tick: 0.5, estimate_kappa: true,
           horizon_s: 60, qty_lot: 2, max_inventory_lot: 20, min_spread_ticks: 2,
           max_spread_ticks: 50, requote_ticks: 1, interval_ms: 100, post_only: true}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 50, max_order_lot: 10, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 100, burst: 200}
backtest:
  latency: {entry_ms: 5, response_ms: 5}
  queue: {model: power, power: 2}
  fees: {maker_bps: -0.5, taker_bps: 5}
mode: sim
sim: {seed: 7, speed: 1.0, events_per_s: 400, informed_share: 0.3, informed_impact_bps: 0.2}
metrics: {host: 127.0.0.1, port: 9464}
logging: {level: INFO, format: auto}
runtime: {stats_log_interval_s: 60, shutdown_timeout_s: 5}
"""
"""The demo's config (the shipped Avellaneda-Stoikov example, in sim mode on localhost). Three
trades in ten are informed (the fair price moves their way), so the maker meets adverse selection
and its PnL says something about the strategy, not only its rebates."""

DEFAULT_DURATION_S = 60.0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tickbot demo``."""
    p = subparsers.add_parser(
        "demo",
        help="run the bot for a minute on a synthetic market (no keys, no network)",
        description=__doc__,
    )
    add_runtime_options(p)
    p.set_defaults(handler=run, duration=DEFAULT_DURATION_S)


def summary(result: RunResult) -> str:
    """Return the end-of-run summary as text."""
    t = result.totals
    pnl = sum(t.realized_pnl_quote) + sum(t.unrealized_pnl_quote)

    def us(x: float) -> str:
        return "n/a" if math.isnan(x) else f"{x * 1e6:.1f} us"

    return "\n".join(
        [
            f"demo summary ({result.duration_s:.1f} s, {', '.join(result.symbols)})",
            f"  orders sent      {t.orders:,}  (cancels {t.cancels:,})",
            f"  fills            {t.fills:,}",
            f"  risk rejections  {t.risk_rejections:,}",
            f"  PnL              {pnl:,.2f} quote (realised {sum(t.realized_pnl_quote):,.2f},"
            f" unrealised {sum(t.unrealized_pnl_quote):,.2f}, fees {sum(t.fees_quote):,.2f})",
            f"  tick-to-trade    p50 {us(t.t2t_p50_s)}  p99 {us(t.t2t_p99_s)}"
            f"  over {t.t2t_samples:,} orders",
        ]
    )


def run(args: argparse.Namespace) -> int:
    """Run the bot in sim mode, then print the summary."""
    check_runtime_options(args)
    try:
        snapshot = parse_snapshot(DEMO_CONFIG.encode(), "demo config")
    except ConfigError as e:  # pragma: no cover - the shipped config is tested
        raise UserError(str(e)) from None
    view = not args.no_view and sys.stdout.isatty()
    configure("INFO", "text" if view else "auto", sys.stderr if view else None)
    options = RunOptions(
        speed=args.speed,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        duration_s=args.duration,
        view=view,
    )
    result = execute(snapshot, options)
    print(summary(result))
    return 0
