"""``tickbot sweep``: a parameter grid over local cores, ranked; shardable for an Indexed Job.

The grid file maps dotted config paths to lists of values; every combination is one backtest::

    strategy.params.offset_ticks: [1, 2, 3]
    strategy.params.interval_ms: [50, 100]
    backtest.queue.model: [risk_averse, power]

Combinations are numbered in a fixed order (keys sorted, values in file order), so
``--index I --of N`` picks combinations ``k`` with ``k % N == I`` on every machine alike
(Kubernetes Indexed Job: ``--index $JOB_COMPLETION_INDEX``).
"""

from __future__ import annotations

import argparse
import copy
import csv
import itertools
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from bot.cli import UserError

RESULT_COLUMNS = (
    "pnl_quote", "return", "sharpe", "sortino", "max_drawdown_quote", "fees_quote", "turnover",
    "fills", "maker_share", "fill_ratio", "orders_sent", "cancels_sent", "position_end_lot",
    "events_per_s",
)  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep",
        help="backtest a grid of config values on all cores",
        description="Run one backtest per combination of the grid's values, rank them, write CSV.",
    )
    p.add_argument("--config", type=Path, help="base strategy config (YAML)")
    p.add_argument("--grid", type=Path, help="grid: dotted path -> list of values")
    p.add_argument("--data", type=Path, nargs="+", help="event file(s)")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="worker processes")
    p.add_argument("--index", type=int, default=0, help="this shard's index (0-based)")
    p.add_argument("--of", type=int, default=1, help="number of shards")
    p.add_argument("--rank-by", default="sharpe", help="stat to rank by, highest first")
    p.add_argument("--out", type=Path, help="CSV path (default: reports/sweep-<config>.csv)")
    p.add_argument(
        "--no-report", action="store_true", help="write no HTML report (default: beside the CSV)"
    )
    p.add_argument(
        "--merge", type=Path, metavar="DIR", help="rank the shard CSVs in DIR as one sweep"
    )
    p.set_defaults(handler=run)


def load_grid(path: Path) -> dict[str, list[Any]]:
    """Read a grid file; raise ``UserError`` naming what is wrong."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {e}") from None
    if isinstance(raw, dict) and set(raw) == {"grid"}:
        raw = raw["grid"]
    if not isinstance(raw, dict) or not raw:
        raise UserError(f"{path}: expected a mapping of dotted config paths to value lists")
    for key, values in raw.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise UserError(f"{path}: bad key {key!r} (use dotted paths like strategy.params.x)")
        if not isinstance(values, list) or not values:
            raise UserError(f"{path}: {key}: expected a non-empty list of values")
    return {k: raw[k] for k in sorted(raw)}


def combinations(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Return every combination, in the fixed order shards rely on."""
    keys = list(grid)
    return [dict(zip(keys, values, strict=True)) for values in itertools.product(*grid.values())]


def apply(raw: dict[str, Any], combo: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of the raw config with each dotted path set."""
    out = copy.deepcopy(raw)
    for key, value in combo.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise UserError(f"grid key {key}: {part} is not a mapping in the config")
            node = child
        node[parts[-1]] = value
    return out


def _one(job: tuple[int, dict[str, Any], dict[str, Any], list[str]]) -> dict[str, Any]:
    from bot.backtest import session
    from bot.config.schema import ConfigError, parse_config

    k, combo, raw, data_paths = job
    try:
        cfg = parse_config(raw, source=f"combination {k}")
        _, stats = session.run(cfg, session.load_data(data_paths))
    except (ConfigError, session.SetupError) as e:
        return {"combination": k, **combo, "error": str(e)}
    return {"combination": k, **combo, **{c: stats[c] for c in RESULT_COLUMNS}}


def run(args: argparse.Namespace) -> int:
    """Run this shard's combinations and print the ranked table (or merge shards)."""
    if args.merge is not None:
        from bot.commands import sweep_merge

        return sweep_merge.merge(args.merge, args.rank_by, args.out)
    missing = [f"--{n}" for n in ("config", "grid", "data") if getattr(args, n) is None]
    if missing:
        raise UserError(f"{', '.join(missing)} required (or --merge DIR)")
    if args.of < 1 or not 0 <= args.index < args.of:
        raise UserError(f"--index must be in [0, --of), got --index {args.index} --of {args.of}")
    if args.jobs < 1:
        raise UserError(f"--jobs must be >= 1, got {args.jobs}")
    if args.rank_by not in RESULT_COLUMNS:
        raise UserError(f"--rank-by: one of {', '.join(RESULT_COLUMNS)}")
    try:
        raw = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{args.config}: no such file") from None
    except yaml.YAMLError as e:
        raise UserError(f"{args.config}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{args.config}: expected a mapping at the top level")
    for path in args.data:
        if not path.is_file():
            raise UserError(f"{path}: no such file")
    grid = load_grid(args.grid)
    combos = combinations(grid)
    mine = [(k, c) for k, c in enumerate(combos) if k % args.of == args.index]
    jobs = [(k, c, apply(raw, c), [str(p) for p in args.data]) for k, c in mine]
    results = _run_all(jobs, args.jobs, sys.stderr.isatty())
    ok = [r for r in results if "error" not in r]
    failed = [r for r in results if "error" in r]
    ok.sort(key=lambda r: (-float(r[args.rank_by]), r["combination"]))
    out = args.out
    if out is None:
        shard = f"-shard-{args.index}-of-{args.of}" if args.of > 1 else ""
        out = Path("reports") / f"sweep-{args.config.stem}{shard}.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    columns = ["rank", "combination", *grid, *RESULT_COLUMNS, "error"]
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for rank, r in enumerate(ok, 1):
            w.writerow({"rank": rank, **r})
        for r in failed:
            w.writerow(r)
    page = None
    if not args.no_report:
        from bot.backtest.report import REPORT_EXTRA, RunInfo, has_package

        if has_package("plotly"):
            from bot.commands.sweep_report import write_sweep_report

            info = RunInfo(config_path=args.config, data_paths=args.data, grid_path=args.grid)
            page = write_sweep_report(
                out.with_suffix(".html"), ok, failed, grid, args.rank_by, info, out
            )
        else:  # the container image leaves the report extra out; the CSV is the result
            print(
                f"tickbot sweep: HTML report skipped (plotly is not installed: {REPORT_EXTRA})",
                file=sys.stderr,
            )
    _table(ok, failed, list(grid), args.rank_by, out, len(combos), len(mine))
    if page is not None:
        from rich.console import Console

        Console().print(f"report: {page}")
    return 1 if failed and not ok else 0


def _run_all(jobs: list[Any], n_jobs: int, bar: bool) -> list[dict[str, Any]]:
    """Run the combinations (in a process pool when ``n_jobs > 1``), with a bar on a TTY."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    progress = Progress(
        TextColumn("sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("combinations"),
        TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
        console=Console(stderr=True), disable=not bar,
    )  # fmt: skip
    results: list[dict[str, Any]] = []
    with progress:
        task = progress.add_task("combinations", total=len(jobs))
        if n_jobs == 1 or len(jobs) == 1:
            for job in jobs:
                results.append(_one(job))
                progress.advance(task)
        else:
            with ProcessPoolExecutor(max_workers=min(n_jobs, len(jobs))) as pool:
                for r in pool.map(_one, jobs):
                    results.append(r)
                    progress.advance(task)
    return results


def _table(ok, failed, keys, rank_by, out, total, mine) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"sweep: {mine} of {total} combinations, ranked by {rank_by}")
    for col in ["#", *keys, "pnl_quote", "sharpe", "max_drawdown_quote", "fills", "maker_share"]:
        table.add_column(col)
    for rank, r in enumerate(ok, 1):
        table.add_row(
            str(rank),
            *(str(r[k]) for k in keys),
            f"{r['pnl_quote']:.4f}",
            f"{r['sharpe']:.2f}",
            f"{r['max_drawdown_quote']:.4f}",
            str(r["fills"]),
            f"{r['maker_share']:.2f}",
        )
    console = Console()
    console.print(table)
    for r in failed:
        console.print(f"combination {r['combination']} failed: {r['error']}")
    console.print(f"csv: {out}")
