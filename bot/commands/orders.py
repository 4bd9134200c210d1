"""``tickbot orders --config FILE``: the venues' open orders, positions and balances, next to
what the order journal says.

For each venue account in the config: every open order the venue lists (with the journal's
status of the same client order id, or ``-`` where the journal does not know it), the live
orders the journal holds that the venue did not list, the position of every configured symbol
(venue and journal) and the balances. Read-only: nothing is sent but queries, and the journal
is only read. ``--json`` prints the same as one JSON document. Exit 0 when every venue answered,
1 when one did not (its error is printed, the rest still shown), 2 on a user error.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.adapters.trading import BalanceReport, OrderReport, PositionReport
from bot.cli import UserError
from bot.commands._accounts import VenueAccount, add_config_options, close_all, load, open_accounts
from bot.execution.journal import JournalError
from bot.execution.view import JournalOrder, JournalView, journal_view

NOT_IN_JOURNAL = "-"
NOT_LISTED = "not listed"


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tickbot orders``."""
    p = subparsers.add_parser(
        "orders",
        help="open orders, positions and balances on the venues, next to the journal's view",
        description=__doc__,
    )
    add_config_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(handler=run)


@dataclass
class VenueState:
    """What one venue reported (None where a call failed)."""

    name: str
    environment: str
    open_orders: list[OrderReport] | None = None
    positions: dict[str, PositionReport | None] = field(default_factory=dict)
    balances: list[BalanceReport] | None = None
    errors: list[str] = field(default_factory=list)


async def _query(acct: VenueAccount, timeout_s: float) -> VenueState:
    state = VenueState(acct.name, acct.section.environment)
    state.open_orders = await acct.call("open orders", acct.entry.open_orders(None), timeout_s)
    for symbol in acct.symbols:
        state.positions[symbol] = await acct.call(
            f"position {symbol}", acct.entry.position(symbol), timeout_s
        )
    state.balances = await acct.call("balances", acct.entry.balances(), timeout_s)
    state.errors = acct.errors
    return state


async def _gather(accounts: list[VenueAccount], timeout_s: float) -> list[VenueState]:
    try:
        return [await _query(acct, timeout_s) for acct in accounts]
    finally:
        await close_all(accounts)


def _num(text: str | None) -> str | None:
    """Normalise an exact decimal for display (``0.010`` -> ``0.01``), never through float."""
    if text is None:
        return None
    d = Decimal(text)
    return "0" if d == 0 else format(d.normalize(), "f")


def _document(states: list[VenueState], view: JournalView | None, journal: str | None) -> dict:
    live: dict[tuple[str, str], JournalOrder] = {}
    if view is not None:
        live = {(o.venue, o.client_order_id): o for o in view.orders}
    venues: list[dict[str, Any]] = []
    for st in states:
        orders: list[dict[str, Any]] = []
        listed: set[str] = set()
        for rep in st.open_orders or ():
            listed.add(rep.client_order_id)
            known = live.get((st.name, rep.client_order_id))
            orders.append({
                "symbol": rep.symbol, "client_order_id": rep.client_order_id,
                "venue_order_id": rep.venue_order_id, "side": rep.side.name.lower(),
                "price": _num(rep.price), "qty": _num(rep.qty), "filled": _num(rep.filled_qty),
                "venue_status": rep.status.name,
                "journal_status": known.status.name if known else NOT_IN_JOURNAL,
            })  # fmt: skip
        if st.open_orders is not None:
            orders.extend(
                {
                    "symbol": o.symbol,
                    "client_order_id": o.client_order_id,
                    "venue_order_id": o.venue_order_id,
                    "side": o.side.name.lower(),
                    "price": _num(o.price),
                    "qty": _num(o.qty),
                    "filled": _num(o.filled),
                    "venue_status": NOT_LISTED,
                    "journal_status": o.status.name,
                }
                for o in live.values()
                if o.venue == st.name and o.client_order_id not in listed
            )
        positions = []
        for symbol, pos in st.positions.items():
            jpos = view.positions.get((st.name, symbol)) if view is not None else None
            positions.append({
                "symbol": symbol,
                "venue": _num(pos.qty) if pos is not None else None,
                "entry_price": _num(pos.entry_price) if pos is not None else None,
                "journal": _num(str(jpos)) if jpos is not None else None,
            })  # fmt: skip
        balances = None
        if st.balances is not None:
            balances = [
                {"asset": b.asset, "total": _num(b.total), "available": _num(b.available)}
                for b in st.balances
            ]
        venues.append({
            "venue": st.name, "environment": st.environment,
            "open_orders": orders if st.open_orders is not None else None,
            "positions": positions, "balances": balances, "errors": st.errors,
        })  # fmt: skip
    jdoc = None
    if view is not None:
        jdoc = {"path": journal, "records": view.records, "files": view.files, "torn": view.torn}
    return {"venues": venues, "journal": jdoc}


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in rows]  # fmt: skip


def _text(doc: dict) -> str:
    out: list[str] = []
    j = doc["journal"]
    if j is None:
        out.append("journal: none configured (journal.path unset)")
    else:
        out.append(f"journal: {j['path']} ({j['records']} records, {j['torn']} torn)")
    for v in doc["venues"]:
        out.append("")
        out.append(f"{v['venue']} ({v['environment']})")
        orders = v["open_orders"]
        if orders is None:
            out.append("  open orders: unavailable")
        elif not orders:
            out.append("  open orders: none")
        else:
            head = ["symbol", "side", "qty", "price", "filled", "client id", "venue", "journal"]
            rows = [head] + [
                [o["symbol"], o["side"], o["qty"] or "", o["price"] or "market",
                 o["filled"] or "0", o["client_order_id"], o["venue_status"], o["journal_status"]]
                for o in orders
            ]  # fmt: skip
            out.append("  open orders:")
            out.extend("  " + line for line in _table(rows))
        rows = [["position", "venue", "journal"]] + [
            [p["symbol"], p["venue"] or "unavailable", p["journal"] or "-"] for p in v["positions"]
        ]
        out.extend(_table(rows))
        if v["balances"] is None:
            out.append("  balances: unavailable")
        else:
            rows = [["balance", "total", "available"]] + [
                [b["asset"], b["total"], b["available"]] for b in v["balances"]
            ]
            out.extend(_table(rows))
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Print the venues' and the journal's view of the configured accounts."""
    cfg = load(args)
    accounts = open_accounts(cfg, str(args.config), args.timeout)
    view = None
    if cfg.journal.path is not None:
        try:
            view = journal_view(cfg.journal.path)
        except JournalError as e:
            raise UserError(str(e)) from None
    states = asyncio.run(_gather(accounts, args.timeout))
    doc = _document(states, view, cfg.journal.path)
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_text(doc))
    errors = [e for st in states for e in st.errors]
    for line in errors:
        print(f"tickbot orders: {line}", file=sys.stderr)
    return 1 if errors else 0
