"""``tickbot config``: validate a config file (every error, with its path) or print the schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from bot.cli import UserError
from bot.commands import config_push
from bot.config.check import config_errors, config_schema


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``config`` subcommand (``validate FILE``, ``schema`` and ``push``)."""
    p = subparsers.add_parser(
        "config",
        help="validate a strategy config file, or print its JSON schema",
        description="validate FILE: print every error with the path of the bad field and exit "
        "2 (exit 0 and one OK line when valid). schema: print the JSON schema of the whole "
        "config, with each shipped strategy's params.",
    )
    sub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    v = sub.add_parser("validate", help="check a config file")
    v.add_argument("file", type=Path, help="strategy config (YAML)")
    v.set_defaults(handler=run_validate)
    s = sub.add_parser("schema", help="print the JSON schema of the config")
    s.add_argument("--indent", type=int, default=2, help="JSON indent (0: one line)")
    s.set_defaults(handler=run_schema)
    config_push.register(sub)


def run_validate(args: argparse.Namespace) -> int:
    """Print each error (``path: what``) to stderr and return 2, or print OK and return 0."""
    path: Path = args.file
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {e}") from None
    errors = config_errors(raw)
    for error in errors:
        print(f"{path}: {error}", file=sys.stderr)
    if errors:
        return 2
    print(f"{path}: OK ({raw['strategy']['name']})")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    """Print the JSON schema."""
    import strategies

    indent = args.indent if args.indent > 0 else None
    try:
        schema = config_schema()
    except strategies.UnknownStrategyError as e:  # a broken plugin: one line, not a traceback
        raise UserError(str(e)) from None
    print(json.dumps(schema, indent=indent))
    return 0
