"""The ``tickbot`` command line: the composition root, the only place that wires objects.

Each command lives in ``bot/commands/<name>.py`` with ``register(subparsers)``; it sets
``handler`` on its parser. User errors raise ``UserError`` and exit 2 with one line, never a
traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from bot import __version__, numba_cache

COMMAND_MODULES: tuple[str, ...] = (
    "run",
    "demo",
    "generate",
    "convert",
    "inspect",
    "record",
    "backtest",
    "sweep",
    "config",
    "sign",
    "orders",
    "cancel_all",
    "strategies",
    "venues",
    "new_strategy",
)
"""Modules under ``bot.commands`` that register a subcommand, in help order."""


class UserError(Exception):
    """A mistake the user can fix (bad option, missing file): printed as one line, exit 2."""


def build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="tickbot",
        description="Low-latency crypto trading bot: live ingest, numba core, backtests.",
    )
    parser.add_argument("--version", action="version", version=f"tickbot {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"bot.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the process exit code."""
    numba_cache.configure()  # before a command imports a cached kernel
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        return int(handler(args) or 0)
    except UserError as e:
        print(f"tickbot {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the imported module's main: commands raise ``bot.cli.UserError``, which is not this
    # ``__main__`` module's class, so ``python -m bot.cli`` would otherwise print a traceback.
    from bot.cli import main as _main

    sys.exit(_main())
