"""``tickbot venues``: every venue with a feed, shipped or a plugin, and what each supports."""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
from dataclasses import dataclass

from rich.console import Console
from rich.table import Table

from bot.cli import UserError
from bot.ingest.venues import VENUES, VenueEntry, all_venues, plugin_entry_points


@dataclass(frozen=True, slots=True)
class VenueInfo:
    """One row of ``tickbot venues``."""

    name: str
    source: str
    streams: tuple[str, ...]
    order_entry: bool
    amend: bool
    cancel_all: bool
    dead_man_switch: bool
    ws_order_entry: bool
    """The venue offers WebSocket order entry (used when its URL is configured)."""
    testnet: bool


def _order_class(entry: VenueEntry) -> type | None:
    if not entry.order_entry:
        return None
    module_name, _, attr = entry.order_entry.partition(":")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as e:
        raise UserError(f"venue {entry.name!r}: order entry {entry.order_entry!r}: {e}") from None
    if not isinstance(cls, type):
        raise UserError(f"venue {entry.name!r}: order entry {entry.order_entry!r} is no class")
    return cls


def _ws_capable(cls: type) -> bool:
    """Return whether the adapter takes a WebSocket order-entry URL (its flag is set then)."""
    params = inspect.signature(cls).parameters
    caps = getattr(cls, "capabilities", None)
    return any(name.startswith("ws_") for name in params) or bool(caps and caps.ws_order_entry)


def describe(entry: VenueEntry, source: str) -> VenueInfo:
    """Return what venue ``entry`` supports (its order entry's capabilities, if any)."""
    cls = _order_class(entry)
    caps = getattr(cls, "capabilities", None)
    testnet = cls is not None and "environment" in inspect.signature(cls).parameters
    return VenueInfo(
        name=entry.name,
        source=source,
        streams=tuple(entry.streams),
        order_entry=caps is not None,
        amend=bool(caps and caps.amend),
        cancel_all=bool(caps and caps.cancel_all),
        dead_man_switch=bool(caps and caps.dead_man_switch),
        ws_order_entry=bool(cls is not None and caps is not None and _ws_capable(cls)),
        testnet=testnet,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``venues`` subcommand."""
    p = subparsers.add_parser(
        "venues",
        help="list the venues: shipped and installed (tickbot.venues entry points)",
        description="List every venue with a market-data feed: the ones shipped with tickbot "
        "and those other installed packages register under the tickbot.venues entry-point "
        "group, with their streams and what their order entry supports (amend, cancel-all, "
        "dead-man switch, WebSocket order entry, testnet).",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(handler=run)


def _sources() -> dict[str, str]:
    out = dict.fromkeys(VENUES, "built-in")
    for name, ep in plugin_entry_points().items():
        out[name] = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else "plugin"
    return out


def run(args: argparse.Namespace) -> int:
    """Print one row (or JSON object) per venue."""
    try:
        entries = all_venues()
    except ValueError as e:
        raise UserError(str(e)) from None
    sources = _sources()
    infos = [describe(entries[name], sources[name]) for name in sorted(entries)]
    if args.json:
        print(json.dumps([_as_dict(i) for i in infos], indent=2))
        return 0
    table = Table(title="venues", title_justify="left")
    columns = ("venue", "from", "streams", "orders", "amend", "cancel-all", "dead-man", "ws orders")
    for column in (*columns, "testnet"):
        table.add_column(column, overflow="fold")
    yes = {True: "yes", False: "no"}
    for i in infos:
        table.add_row(
            i.name,
            i.source,
            ", ".join(i.streams),
            *(yes[v] for v in (i.order_entry, i.amend, i.cancel_all, i.dead_man_switch)),
            yes[i.ws_order_entry],
            yes[i.testnet],
        )
    Console(width=160).print(table)
    return 0


def _as_dict(info: VenueInfo) -> dict[str, object]:
    return {f: getattr(info, f) for f in info.__dataclass_fields__}
