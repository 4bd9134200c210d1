"""``tickbot backtest``: run a strategy config over event files; summary, JSON and report."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.cli import UserError
from bot.config.schema import ConfigError, load_config


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` subcommand."""
    p = subparsers.add_parser(
        "backtest",
        help="backtest a strategy config on event files",
        description="Replay event files through the strategy, pre-trade risk and the simulated "
        "venue (latency, queue position, fees). Prints a summary and writes a report folder.",
    )
    p.add_argument("--config", type=Path, required=True, help="strategy config (YAML)")
    p.add_argument("--data", type=Path, nargs="+", required=True, help="event file(s)")
    p.add_argument(
        "--latency",
        help="order latency: ENTRY[,RESPONSE] (5ms, 250us, 0.005s), a file of measured ns, or "
        "a seeded distribution: lognormal:median=2ms,p99=8ms",
    )
    p.add_argument(
        "--queue-model", help="risk-averse, proportional, power or power:N (default: config)"
    )
    p.add_argument(
        "--out", type=Path, help="report folder (default: reports/backtest-<config name>)"
    )
    p.add_argument("--no-report", action="store_true", help="write no report folder")
    p.add_argument("--png", action="store_true", help="also write PNG plots into the report folder")
    p.add_argument("--json", action="store_true", help="print every stat as one JSON object")
    p.set_defaults(handler=run)


def _progress(enabled: bool) -> Any:
    """Return a (context manager, callback) pair: a rich bar on a TTY, nothing otherwise."""
    if not enabled:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} events"),
        TimeRemainingColumn(),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("events", total=0)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


def _summary(stats: dict[str, Any], report: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from bot.backtest.summary import summary_rows

    table = Table(title="backtest", show_header=False)
    rows = summary_rows(stats)
    for k, v in rows:
        table.add_row(k, v)
    console = Console()
    console.print(table)
    if report is not None:
        console.print(f"report: {report}")


def run(args: argparse.Namespace) -> int:
    """Run the backtest and print the summary (or JSON)."""
    from bot.backtest import session
    from bot.backtest.engine import BacktestError

    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        raise UserError(str(e)) from None
    overrides = session.Overrides(latency=args.latency, queue_model=args.queue_model)
    bar, update = _progress(sys.stderr.isatty() and not args.json)
    try:
        data = session.load_data(args.data)
        if bar is not None:
            with bar:
                bt, stats = session.run(cfg, data, overrides, progress=update)
        else:
            bt, stats = session.run(cfg, data, overrides)
    except session.SetupError as e:
        raise UserError(str(e)) from None
    except BacktestError as e:
        print(f"tickbot backtest: engine error: {e}", file=sys.stderr)
        return 1
    page = None
    if not args.no_report:
        from bot.backtest.report import RunInfo, write_report

        out = args.out if args.out is not None else Path("reports") / f"backtest-{args.config.stem}"
        try:
            page = write_report(
                bt,
                stats,
                out,
                f"{cfg.strategy.name} on {', '.join(map(str, args.data))}",
                RunInfo(config_path=args.config, data_paths=data.paths),
                png=args.png,
            )
        except OSError as e:
            raise UserError(f"cannot write report to {out}: {e.strerror}") from None
        stats["report"] = str(page)
    if args.json:
        print(json.dumps(stats))
    else:
        _summary(stats, page)
    return 0
