"""``tickbot cancel-all --config FILE [--flatten] [--yes]``: the panic button.

Cancels every open order of the configured instruments on their venues (the venue's cancel-all
where it has one, else order by order), then re-lists the open orders and cancels what is still
there until none is left (at most ``CONFIRM_ROUNDS`` rounds). With ``--flatten`` it then closes
each configured symbol's position with a reduce-only market order and re-reads the position
until it is zero. On a terminal it asks before doing anything; off a terminal (a script, a
``kubectl exec`` without ``-t``) ``--yes`` is required. It never writes the journal (a running
bot may own it): a bot started later reconciles with what the venue then reports.

Exit 0 when every venue confirmed no open order left (and, with ``--flatten``, no position),
1 when something is left or a venue did not answer (each printed), 2 on a user error.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from decimal import Decimal

from bot.adapters.trading import OrderRejectedError, OrderRequest, RejectReason
from bot.cli import UserError
from bot.commands._accounts import (
    VenueAccount,
    VenueErrors,
    add_config_options,
    close_all,
    load,
    open_accounts,
)
from bot.core.dtypes import OrderFlag, Side
from bot.execution.ids import client_id, new_run_id

CONFIRM_ROUNDS = 5
"""Re-list and re-cancel rounds before giving up on a venue."""
ROUND_PAUSE_S = 0.2
"""Pause between rounds: ack-only venues (Bybit, OKX, Bitget, BingX) apply cancels a moment
after they answer."""
POSITION_ROUNDS = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``tickbot cancel-all``."""
    p = subparsers.add_parser(
        "cancel-all",
        help="cancel every open order of the configured instruments (and --flatten positions)",
        description=__doc__,
    )
    add_config_options(p)
    p.add_argument(
        "--flatten", action="store_true", help="also close positions with reduce-only orders"
    )
    p.add_argument("--yes", action="store_true", help="do not ask (required off a terminal)")
    p.set_defaults(handler=run)


def _confirm(accounts: list[VenueAccount], flatten: bool) -> bool:
    what = "cancel every open order" + (" and close the positions" if flatten else "")
    print(f"About to {what} of:")
    for acct in accounts:
        print(f"  {acct.name} ({acct.section.environment}): {', '.join(acct.symbols)}")
    sys.stdout.write("Continue? [y/N] ")
    sys.stdout.flush()
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


async def _cancel_symbol(acct: VenueAccount, symbol: str, timeout_s: float) -> int | None:
    """Cancel all of ``symbol`` and confirm; return the orders left (None: unknown)."""
    entry = acct.entry
    if entry.capabilities.cancel_all:
        await acct.call(f"cancel-all {symbol}", entry.cancel_all(symbol), timeout_s)
    left = None
    for attempt in range(CONFIRM_ROUNDS):
        listed = await acct.call(f"open orders {symbol}", entry.open_orders(symbol), timeout_s)
        if listed is None:
            left = None
        else:
            left = len(listed)
            if not listed:
                return 0
            for rep in listed:
                try:
                    async with asyncio.timeout(timeout_s):
                        await entry.cancel(symbol, rep.client_order_id)
                except OrderRejectedError as e:
                    if e.reason is not RejectReason.UNKNOWN_ORDER:  # gone meanwhile: fine
                        acct.errors.append(f"{acct.name}: cancel {rep.client_order_id}: {e}")
                except VenueErrors as e:
                    acct.errors.append(
                        f"{acct.name}: cancel {rep.client_order_id}: {type(e).__name__}: {e}"
                    )
        await asyncio.sleep(ROUND_PAUSE_S * (attempt + 1))
    return left


async def _flatten_symbol(acct: VenueAccount, symbol: str, timeout_s: float) -> Decimal | None:
    """Close ``symbol``'s position with a reduce-only market order; return what is left."""
    entry = acct.entry
    pos = await acct.call(f"position {symbol}", entry.position(symbol), timeout_s)
    if pos is None:
        return None
    qty = Decimal(pos.qty)
    if qty == 0:
        return qty
    side = Side.SELL if qty > 0 else Side.BUY
    size = pos.qty.lstrip("-+")
    req = OrderRequest(
        client_id(new_run_id(), 1),
        symbol,
        side,
        size,
        None,
        OrderFlag.MARKET | OrderFlag.REDUCE_ONLY,
    )
    await acct.call(f"flatten {symbol}", entry.submit(req), timeout_s)
    for attempt in range(POSITION_ROUNDS):
        pos = await acct.call(f"position {symbol}", entry.position(symbol), timeout_s)
        if pos is not None:
            qty = Decimal(pos.qty)
            if qty == 0:
                print(f"{acct.name}: {symbol}: position closed ({side.name.lower()} {size})")
                return qty
        await asyncio.sleep(ROUND_PAUSE_S * (attempt + 1))
    return qty


async def _panic(accounts: list[VenueAccount], flatten: bool, timeout_s: float) -> bool:
    ok = True
    try:
        for acct in accounts:
            for symbol in acct.symbols:
                left = await _cancel_symbol(acct, symbol, timeout_s)
                if left == 0:
                    print(f"{acct.name}: {symbol}: no open order left")
                else:
                    ok = False
                    what = "unknown (venue unreachable)" if left is None else str(left)
                    print(f"{acct.name}: {symbol}: open orders left: {what}")
                if flatten:
                    pos = await _flatten_symbol(acct, symbol, timeout_s)
                    if pos is None or pos != 0:
                        ok = False
                        shown = "unknown" if pos is None else format(pos.normalize(), "f")
                        print(f"{acct.name}: {symbol}: position left: {shown}")
            ok = ok and not acct.errors
    finally:
        await close_all(accounts)
    return ok


def run(args: argparse.Namespace) -> int:
    """Cancel (and flatten) everything configured; see the module doc."""
    cfg = load(args)
    accounts = open_accounts(cfg, str(args.config), args.timeout)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UserError("not a terminal: pass --yes to cancel without asking")
        if not _confirm(accounts, args.flatten):
            print("aborted: nothing sent")
            return 1
    ok = asyncio.run(_panic(accounts, args.flatten, args.timeout))
    for acct in accounts:
        for line in acct.errors:
            print(f"tickbot cancel-all: {line}", file=sys.stderr)
    return 0 if ok else 1
