"""``tickbot record``: capture a venue's raw market data to rotated gzip NDJSON files.

Fetches the instruments' specs from the venue's exchange-info endpoint (written into every file's
header), then runs the live feed supervisor with the recorder tapping every frame and REST body
before parsing. Stops after ``--duration`` or on SIGTERM/SIGINT; either way the last lines are
written and the file is fsynced.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import signal
from datetime import UTC, datetime

import aiohttp
import uvloop

from bot.adapters.errors import AdapterError
from bot.cli import UserError
from bot.core.book import new_books
from bot.core.instruments import InstrumentError, specs_to_builtins
from bot.ingest.capture import header
from bot.ingest.recorder import CaptureRecorder, CaptureWriter
from bot.ingest.supervisor import FeedSupervisor, SupervisorOptions
from bot.ingest.venues import VENUES, build_feed, fetch_specs, venue

log = logging.getLogger(__name__)

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str) -> float:
    """Return seconds for ``90``, ``90s``, ``15m``, ``2h``, ``1d`` (``ValueError`` otherwise)."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (examples: 90s, 15m, 2h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tickbot record``."""
    p = subparsers.add_parser("record", help="capture raw market data (gzip NDJSON)")
    p.add_argument("--venue", required=True, help=f"one of: {', '.join(sorted(VENUES))}")
    p.add_argument("--symbols", required=True, help="comma-separated venue symbols")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--duration", help="stop after this long (e.g. 90s, 15m, 2h)")
    p.add_argument("--rotate-mb", type=float, default=256.0, help="rotate after N MB (raw)")
    p.add_argument("--rotate-minutes", type=float, default=60.0, help="rotate after N minutes")
    p.add_argument("--ws-url", help=argparse.SUPPRESS)  # loopback tests and private gateways
    p.add_argument("--rest-url", help=argparse.SUPPRESS)
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Validate the options, then record until the duration ends or a signal arrives."""
    try:
        venue(args.venue)  # an unknown venue is a user error before anything starts
    except ValueError as e:
        raise UserError(str(e)) from None
    symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
    if not symbols:
        raise UserError("--symbols needs at least one symbol")
    try:
        duration = parse_duration(args.duration) if args.duration else None
    except ValueError as e:
        raise UserError(str(e)) from None
    if args.rotate_mb <= 0 or args.rotate_minutes <= 0:
        raise UserError("--rotate-mb and --rotate-minutes must be positive")
    overrides = {}
    if args.ws_url:
        overrides["ws_url"] = args.ws_url
    if args.rest_url:
        overrides["rest_url"] = args.rest_url
    try:
        return uvloop.run(_record(args, symbols, duration, overrides))
    except (InstrumentError, AdapterError) as e:
        raise UserError(str(e)) from None


async def _record(
    args: argparse.Namespace, symbols: list[str], duration: float | None, overrides: dict
) -> int:
    async with aiohttp.ClientSession() as http:
        specs = await fetch_specs(http, args.venue, symbols, rest_base_url=args.rest_url)
    qty, state = new_books(len(specs), window=1 << 12)
    feed = build_feed(args.venue, specs, qty, state, **overrides)
    started = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    writer = CaptureWriter(
        args.out,
        header(args.venue, symbols, specs_to_builtins(specs), started),
        rotate_bytes=int(args.rotate_mb * (1 << 20)),
        rotate_s=args.rotate_minutes * 60.0,
    )
    recorder = CaptureRecorder(writer)
    supervisor = FeedSupervisor(
        feed,
        lambda rows: None,
        state,
        symbols={k: s.symbol for k, s in enumerate(specs)},
        options=SupervisorOptions(),
        tap=recorder,
        wall_ns=recorder.clock,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with asyncio.TaskGroup() as tg:
            recording = tg.create_task(recorder.run())
            ingest = tg.create_task(supervisor.run())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(duration):
                    await stop.wait()
            ingest.cancel()
            recording.cancel()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
    log.info("recorded %d lines into %d file(s)", writer.lines, len(writer.files))
    return 0
