"""``tickbot convert``: tardis.dev / Binance public-data CSV or raw captures to an event file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.cli import UserError
from bot.core.instruments import InstrumentError, load_specs
from bot.data import formats
from bot.data.convert import FORMATS, convert
from bot.data.csvscan import ConvertError
from bot.data.eventfile import EventFileError
from bot.data.order import DEFAULT_WINDOW_NS


def _format_name(value: str) -> str:
    if value != "list" and value not in FORMATS:
        raise argparse.ArgumentTypeError(
            f"unknown format {value!r} (`tickbot convert --format` lists them)"
        )
    return value


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
        nargs="*",
        type=Path,
        metavar="INPUT",
        help=".csv, .csv.gz, .zip, or a tickbot capture (file or directory)",
    )
    p.add_argument("--output", "-o", type=Path, help="event file to write")
    p.add_argument(
        "--instruments",
        type=Path,
        help="instrument specs (JSON or YAML list of venue, "
        "symbol, tick_size, lot_size, ...) for sources that carry none (captures carry theirs)",
    )
    p.add_argument(
        "--format",
        nargs="?",
        const="list",
        default="auto",
        type=_format_name,
        metavar="NAME",
        help="input format (default auto); --format alone lists the formats",
    )
    p.add_argument("--symbol", help="symbol of Binance files whose name does not say it")
    p.add_argument(
        "--symbols",
        metavar="S1,S2",
        help="keep only these symbols of multi-symbol files (other rows are counted)",
    )
    p.add_argument(
        "--reorder-window-ms",
        type=int,
        default=DEFAULT_WINDOW_NS // 1_000_000,
        help="local-time window within which out-of-order rows are sorted (default 5000)",
    )
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
    if args.format == "list":
        _print_formats()
        return 0
    if not args.inputs or args.output is None:
        raise UserError("give INPUT files and --output FILE (tickbot convert --help)")
    if args.chunk_mb < 1 or args.feed_latency_us < 0 or args.reorder_window_ms < 0:
        raise UserError("--chunk-mb must be >= 1, --feed-latency-us and --reorder-window-ms >= 0")
    symbols = [s.strip() for s in args.symbols.split(",") if s.strip()] if args.symbols else None
    try:
        specs = load_specs(args.instruments) if args.instruments is not None else []
        start = time.perf_counter()
        result = convert(
            list(args.inputs),
            args.output,
            specs,
            fmt=args.format,
            symbol=args.symbol,
            symbols=symbols,
            reorder_window_ns=args.reorder_window_ms * 1_000_000,
            feed_latency_ns=args.feed_latency_us * 1000,
            chunk_bytes=args.chunk_mb << 20,
        )
    except (ConvertError, EventFileError, InstrumentError) as e:
        raise UserError(str(e)) from None
    elapsed = time.perf_counter() - start
    for item in result.inputs:
        notes = "".join(f", {n}" for n in item["notes"])
        print(f"{item['input']}: {item['type']}, {item['rows']} rows read{notes}")
    print(f"wrote {result.events} events to {result.output} in {elapsed:.2f} s")
    return 0


def _print_formats() -> None:
    """Print every format ``--format`` takes, with what it reads."""
    width = max(len(f.name) for f in formats.FORMATS)
    print(f"{'auto':<{width}}  recognise each input by its first line (the default)")
    for fmt in formats.FORMATS:
        print(f"{fmt.name:<{width}}  {fmt.summary} (order: {fmt.order.value})")
    print(f"{formats.CAPTURE:<{width}}  tickbot raw captures (gzip NDJSON from tickbot record)")
