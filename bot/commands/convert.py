"""``tickbot convert``: tardis.dev / Binance public-data CSV or raw captures to an event file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.cli import UserError
from bot.core.instruments import InstrumentError, load_specs
from bot.data.convert import FORMATS, convert
from bot.data.csvscan import ConvertError
from bot.data.eventfile import EventFileError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` subcommand."""
    p = subparsers.add_parser(
        "convert",
        help="convert tardis.dev / Binance CSV or tickbot captures into an event file",
        description="Convert market-data files into one event file, merged by local time. "
        "Inputs stream in chunks: memory stays bounded whatever their size.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        type=Path,
        metavar="INPUT",
        help=".csv, .csv.gz, .zip, or a tickbot capture (file or directory)",
    )
    p.add_argument("--output", "-o", type=Path, required=True, help="event file to write")
    p.add_argument(
        "--instruments",
        type=Path,
        help="instrument specs (JSON or YAML list of venue, "
        "symbol, tick_size, lot_size, ...) for sources that carry none (captures carry theirs)",
    )
    p.add_argument("--format", choices=FORMATS, default="auto", help="input format (default auto)")
    p.add_argument("--symbol", help="symbol of Binance files whose name does not say it")
    p.add_argument(
        "--feed-latency-us",
        type=int,
        default=0,
        help="added to exchange time as local time for sources without a receive time (Binance)",
    )
    p.add_argument("--chunk-mb", type=int, default=8, help="input read size (memory bound)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Convert and print one summary line per input."""
    if args.chunk_mb < 1 or args.feed_latency_us < 0:
        raise UserError("--chunk-mb must be >= 1 and --feed-latency-us >= 0")
    try:
        specs = load_specs(args.instruments) if args.instruments is not None else []
        start = time.perf_counter()
        result = convert(
            list(args.inputs),
            args.output,
            specs,
            fmt=args.format,
            symbol=args.symbol,
            feed_latency_ns=args.feed_latency_us * 1000,
            chunk_bytes=args.chunk_mb << 20,
        )
    except (ConvertError, EventFileError, InstrumentError) as e:
        raise UserError(str(e)) from None
    elapsed = time.perf_counter() - start
    for item in result.inputs:
        skipped = item["skipped_before_snapshot"]
        note = f", {skipped} rows before the first snapshot skipped" if skipped else ""
        print(f"{item['input']}: {item['type']}, {item['rows']} events{note}")
    print(f"wrote {result.events} events to {result.output} in {elapsed:.2f} s")
    return 0
