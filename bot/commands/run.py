"""``tickbot run --config FILE``: the live service (sim, paper or live mode).

Loads and validates the config (every error, one line each, exit 2), sets up logging (JSON on
stdout off a TTY), then runs ``bot.app`` on one uvloop loop until SIGTERM/SIGINT or
``--duration``: cancel everything, exit 0. The config file is watched for hot reload.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import uvloop

from bot.app import App, RunOptions, RunResult
from bot.cli import UserError
from bot.config.reload import Snapshot, load_snapshot
from bot.config.schema import ConfigError
from bot.logsetup import configure
from bot.runtime.setup import StartupError

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tickbot run``."""
    p = subparsers.add_parser(
        "run",
        help="run the bot: market data -> strategy -> risk -> orders (sim, paper or live)",
        description=__doc__,
    )
    p.add_argument("--config", type=Path, required=True, help="config file (YAML), watched")
    add_runtime_options(p)
    p.set_defaults(handler=run)


def add_runtime_options(p: argparse.ArgumentParser) -> None:
    """Options shared by ``run`` and ``demo``."""
    p.add_argument("--speed", type=float, help="sim mode: market seconds per wall second")
    p.add_argument("--metrics-port", type=int, help="port of /metrics /healthz /readyz (0: any)")
    p.add_argument("--metrics-host", help="address to serve metrics on")
    p.add_argument("--duration", type=float, help="stop (cancel everything) after S seconds")
    p.add_argument("--no-view", action="store_true", help="no live terminal view, logs only")


def check_runtime_options(args: argparse.Namespace) -> None:
    """Raise ``UserError`` on a bad option value."""
    if args.speed is not None and not 0 < args.speed <= 1e6:
        raise UserError("--speed must be in (0, 1e6]")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UserError("--metrics-port must be 0..65535")
    if args.duration is not None and args.duration <= 0:
        raise UserError("--duration must be positive")


def execute(snapshot: Snapshot, options: RunOptions) -> RunResult:
    """Run the app on a fresh uvloop loop; user-fixable start-up failures become ``UserError``."""
    try:
        return uvloop.run(App(snapshot, options).run())
    except StartupError as e:
        raise UserError(str(e)) from None


def run(args: argparse.Namespace) -> int:
    """Validate, then run until stopped."""
    check_runtime_options(args)
    try:
        snapshot = load_snapshot(args.config)
    except ConfigError as e:
        raise UserError(str(e)) from None
    log_cfg = snapshot.config.logging
    view = not args.no_view and sys.stdout.isatty()
    configure(log_cfg.level, log_cfg.format)
    options = RunOptions(
        config_path=args.config,
        speed=args.speed,
        metrics_host=args.metrics_host,
        metrics_port=args.metrics_port,
        duration_s=args.duration,
        view=view,
    )
    execute(snapshot, options)
    return 0
