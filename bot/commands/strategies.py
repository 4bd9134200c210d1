"""``tickbot strategies``: every strategy a config may name, shipped or installed as a plugin."""

from __future__ import annotations

import argparse
import dataclasses
import json

from rich.console import Console
from rich.table import Table

import strategies
from bot.cli import UserError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``strategies`` subcommand."""
    p = subparsers.add_parser(
        "strategies",
        help="list the strategies: shipped and installed (tickbot.strategies entry points)",
        description="List every strategy a config may name in strategy.name: the ones shipped "
        "with tickbot and those other installed packages register under the tickbot.strategies "
        "entry-point group, with what wakes each, whether it uses signals, and its params.",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one row (or JSON object) per strategy."""
    try:
        infos = [strategies.describe(name) for name in strategies.available()]
    except strategies.UnknownStrategyError as e:
        raise UserError(str(e)) from None
    if args.json:
        print(json.dumps([dataclasses.asdict(i) for i in infos], indent=2))
        return 0
    table = Table(title="strategies", title_justify="left")
    for column in ("name", "from", "wakes on", "signals", "params", "what"):
        table.add_column(column, overflow="fold")
    for i in infos:
        table.add_row(
            i.name,
            i.source,
            ", ".join(i.wakes_on),
            "yes" if i.uses_signals else "no",
            ", ".join(i.params),
            i.summary,
        )
    Console(width=160).print(table)
    return 0
