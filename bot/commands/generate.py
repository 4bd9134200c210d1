"""``tickbot generate``: write a seeded synthetic market to an event file."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bot.cli import UserError
from bot.core.ticks import DecimalFormatError, OffGridError
from bot.data.eventfile import EventFileError
from bot.data.generate import GenerateParams, generate_file


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``generate`` subcommand."""
    defaults = GenerateParams()
    p = subparsers.add_parser(
        "generate",
        help="write a seeded synthetic L2 market (event file)",
        description="Write a seeded synthetic market: random-walk mid with jumps, level churn "
        "biased to the touch, trades at the touch, Poisson arrivals. Same seed, same bytes.",
    )
    p.add_argument("--events", type=int, default=defaults.events, help="rows to write")
    p.add_argument("--seed", type=int, required=True, help="random seed")
    p.add_argument("--out", type=Path, required=True, help="event file to write")
    p.add_argument("--symbol", default=defaults.symbol)
    p.add_argument("--venue", default=defaults.venue)
    p.add_argument("--tick-size", default=defaults.tick_size)
    p.add_argument("--lot-size", default=defaults.lot_size)
    p.add_argument("--price", default=defaults.price, help="starting mid price")
    p.add_argument("--levels", type=int, default=defaults.levels, help="levels a side")
    p.add_argument(
        "--trade-ratio", type=float, default=defaults.trade_ratio, help="share of trade rows"
    )
    p.add_argument(
        "--duration-s", type=float, default=defaults.duration_s, help="exchange time covered"
    )
    p.add_argument(
        "--informed-share",
        type=float,
        default=defaults.informed_share,
        help="share of trades that know the next move (adverse selection for makers), 0..1",
    )
    p.add_argument(
        "--informed-impact-bps",
        type=float,
        default=defaults.informed_impact_bps,
        help="how far the fair price moves an informed trade's way (bps)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Generate the file and print one summary line."""
    if args.seed < 0:
        raise UserError(f"--seed must be >= 0, got {args.seed}")
    params = GenerateParams(
        events=args.events,
        symbol=args.symbol,
        venue=args.venue,
        tick_size=args.tick_size,
        lot_size=args.lot_size,
        price=args.price,
        levels=args.levels,
        trade_ratio=args.trade_ratio,
        duration_s=args.duration_s,
        informed_share=args.informed_share,
        informed_impact_bps=args.informed_impact_bps,
    )
    try:
        params.validate()
    except (DecimalFormatError, OffGridError, ValueError) as e:
        raise UserError(str(e)) from None
    start = time.perf_counter()
    try:
        path = generate_file(args.out, params, args.seed)
    except EventFileError as e:
        raise UserError(str(e)) from None
    elapsed = time.perf_counter() - start
    print(f"wrote {params.events} events to {path} in {elapsed:.2f} s")
    return 0
