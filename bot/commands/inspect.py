"""``tickbot inspect``: an event file's header, counts per kind, time range, or its book."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import Any

from rich.console import Console
from rich.table import Table

from bot.cli import UserError
from bot.data.eventfile import EventFileError, read_event_file
from bot.data.inspect import book_at, pick_instrument, summary


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` subcommand."""
    p = subparsers.add_parser(
        "inspect",
        help="show an event file's header and counts, or its reconstructed book",
        description="Show an event file's header, counts per event kind and time range; with "
        "--book, the L2 book reconstructed at a local time.",
    )
    p.add_argument("file", help="event file")
    p.add_argument("--book", action="store_true", help="print the reconstructed book")
    p.add_argument(
        "--symbol", help="instrument (SYMBOL or VENUE:SYMBOL) in a multi-instrument file"
    )
    p.add_argument("--at", type=int, metavar="TS_NS", help="local time in ns (default: the end)")
    p.add_argument("--depth", type=int, default=10, help="levels a side (default 10)")
    p.add_argument("--verify", action="store_true", help="check the data CRC-32 as well")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary or the book."""
    if args.depth < 1:
        raise UserError(f"--depth must be >= 1, got {args.depth}")
    try:
        opened = read_event_file(args.file, verify=args.verify)
    except EventFileError as e:
        raise UserError(str(e)) from None
    if args.book:
        try:
            inst = pick_instrument(opened, args.symbol)
        except ValueError as e:
            raise UserError(str(e)) from None
        book = book_at(opened, inst, args.at, args.depth)
        if args.json:
            print(json.dumps(book))
        else:
            _print_book(book)
        return 0
    info = summary(opened)
    if args.json:
        print(json.dumps(info))
    else:
        _print_summary(info)
    return 0


def _when(ns: int) -> str:
    moment = dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _print_summary(info: dict[str, Any]) -> None:
    console = Console()
    console.print(
        f"[bold]{info['path']}[/bold]: {info['format']} v{info['version']}, "
        f"schema {info['schema_version']}, {info['events']:,} events"
    )
    console.print(f"source: {info['source']}  created: {info['created_at']}")
    for clock, span in info["time_range"].items():
        if span is not None:
            seconds = (span[1] - span[0]) / 1e9
            console.print(f"{clock}: {_when(span[0])} .. {_when(span[1])} ({seconds:,.3f} s)")
    kinds = Table(title="events per kind")
    kinds.add_column("kind")
    kinds.add_column("events", justify="right")
    kinds.add_column("share", justify="right")
    total = max(1, info["events"])
    for name, count in info["kinds"].items():
        kinds.add_row(name, f"{count:,}", f"{100 * count / total:.1f} %")
    console.print(kinds)
    insts = Table(title="instruments")
    for col in ("id", "venue", "symbol", "tick_size", "lot_size", "events"):
        insts.add_column(col)
    for item in info["instruments"]:
        insts.add_row(
            *(
                f"{item[c]:,}" if c == "events" else str(item[c])
                for c in ("id", "venue", "symbol", "tick_size", "lot_size", "events")
            )
        )
    console.print(insts)


def _print_book(book: dict[str, Any]) -> None:
    table = Table(title=f"{book['symbol']} at {book['ts']} ({_when(book['ts'])})")
    for col in ("bid qty", "bid", "ask", "ask qty"):
        table.add_column(col, justify="right")
    bids, asks = book["bids"], book["asks"]
    for k in range(max(len(bids), len(asks))):
        bid = bids[k] if k < len(bids) else ["", ""]
        ask = asks[k] if k < len(asks) else ["", ""]
        table.add_row(bid[1], bid[0], ask[0], ask[1])
    Console().print(table)
