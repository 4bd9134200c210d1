"""``tickbot new-strategy NAME``: scaffold an installable strategy package (``bot.scaffold``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import UserError
from bot.scaffold import ScaffoldError, scaffold


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``new-strategy`` subcommand."""
    p = subparsers.add_parser(
        "new-strategy",
        help="scaffold an installable strategy package (kernel, params, config, tests)",
        description="Write NAME/ in --dir: a Python package registering the strategy NAME "
        "under the tickbot.strategies entry point, with its numba kernel and Params struct, an "
        "example config and tests that pass as written. Install it with pip install -e, then "
        "tickbot strategies lists it and a config can use it.",
    )
    p.add_argument("name", help="strategy name (lower case, digits, _), e.g. my_maker")
    p.add_argument("--dir", type=Path, default=Path("."), help="folder to create NAME/ in")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the package and say what to do next."""
    try:
        written = scaffold(args.name, args.dir)
    except ScaffoldError as e:
        raise UserError(str(e)) from None
    root = args.dir / args.name
    for path in written:
        print(path)
    print(f"next: pip install -e {root}  &&  pytest {root}")
    return 0
