"""Reconciliation: make the router's orders, fills and positions agree with the venue's.

Runs at start-up (after the journal is replayed) and after every user-stream reconnect:

1. open orders: each known one takes the venue's status and size; each unknown one is an
   orphan, cancelled or adopted by the account's ``orphans`` policy (one on a symbol the bot
   does not trade is logged and left alone);
2. every order the router holds as live that the venue did not list is queried by client id:
   its final state is applied, or it is closed as vanished if the venue does not know it;
3. fills since the last journaled one (minus a margin) are applied, counted once each;
4. the venue's position of every traded symbol is adopted.

Every discrepancy is journaled, logged with its ids and counted by kind
(``RouterCounters.discrepancies``).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from bot.adapters.trading import OrderReport
from bot.core.dtypes import OrderFlag, OrderStatus
from bot.execution.counters import Discrepancy
from bot.execution.ids import parse_client_id
from bot.execution.orders import FINAL, LIVE, Order
from bot.execution.ratelimit import Op

if TYPE_CHECKING:
    from bot.execution.account import Account
    from bot.execution.router import Router

log = logging.getLogger(__name__)
S = OrderStatus
FILL_MARGIN_NS = 60 * 1_000_000_000
"""Fills are fetched from this long before the last journaled one (clock skew, late prints)."""
RECENT_SEND_NS = 5 * 1_000_000_000
"""A live order sent this recently may simply not be listed yet: left to its settle task."""


def on_orphan_report(router: Router, acct: Account, rep: OrderReport, source: str) -> Order | None:
    """Handle a report of an order the router does not know; return the adopted order."""
    if rep.status in FINAL or rep.status not in LIVE:
        router.journal.append(
            "stray", {"cid": rep.client_order_id, "src": source, "status": rep.status.name}
        )
        return None
    x = router.instrument_of(acct.venue, rep.symbol)
    if x is None:
        router._discrepancy(
            Discrepancy.ORPHAN_UNTRACKED, rep.client_order_id, f"symbol {rep.symbol} not traded"
        )
        return None
    if router.ids is None:
        return None
    coid, _ = router.ids.next()
    ours = parse_client_id(rep.client_order_id)
    order = Order(
        coid=coid, client_id=rep.client_order_id, venue=acct.venue, symbol=rep.symbol,
        instrument=x.id, side=rep.side, flags=OrderFlag.NONE,
        price_tick=0 if rep.price is None else x.tick.to_units(rep.price),
        qty_lot=x.lot.to_units(rep.qty), status=rep.status,
        filled_lot=x.lot.to_units(rep.filled_qty), venue_order_id=rep.venue_order_id,
        ts_sent_ns=router._mono(),
    )  # fmt: skip
    order.venue_filled_lot = order.filled_lot
    router._track(order)
    router.hold(order)
    router.journal.append("adopt", router.order_record(order))
    origin = "ours, lost from the journal" if ours is not None else "foreign"
    if acct.settings.orphans == "cancel":
        router._discrepancy(Discrepancy.ORPHAN_CANCELLED, order.client_id, origin)
        router.cancel_order(order)
    else:
        router._discrepancy(Discrepancy.ORPHAN_ADOPTED, order.client_id, origin)
        router._emit(order)
    return order


async def reconcile(router: Router, acct: Account) -> int:
    """Reconcile one account; return the number of discrepancies found."""
    before = sum(router.counters.discrepancies.values())
    router.counters.reconciliations += 1
    venue = acct.venue
    router.journal.append("reconcile", {"venue": venue.label, "phase": "start"})
    await acct.lim.acquire(Op.QUERY)
    listed: set[str] = set()
    for rep in await router._call(acct, acct.entry.open_orders(None)):
        listed.add(rep.client_order_id)
        known = router._by_cid.get(rep.client_order_id)
        if (
            known is not None
            and known.status != rep.status
            and known.live
            and not (known.status == S.PENDING_CANCEL and rep.status in LIVE)
        ):
            router._discrepancy(
                Discrepancy.STATUS, known.client_id,
                f"journal {known.status.name}, venue {rep.status.name}",
            )  # fmt: skip
        router.apply_report(acct, rep, "reconcile")
    now = router._mono()
    for order in router.live_orders(venue):
        if order.client_id in listed or order.settling:
            continue
        await acct.lim.acquire(Op.QUERY)
        rep = await router._call(acct, acct.entry.query_order(order.symbol, order.client_id))
        if rep is not None:
            if rep.status != order.status:
                router._discrepancy(
                    Discrepancy.STATUS, order.client_id,
                    f"journal {order.status.name}, venue {rep.status.name}",
                )  # fmt: skip
            router.apply_report(acct, rep, "reconcile")
        elif now - order.ts_sent_ns < RECENT_SEND_NS and order.status in (S.PENDING_NEW, S.UNKNOWN):
            router._settle_later(acct, order, force=True)
        else:
            router._not_found(order)
    await _fills(router, acct)
    await _positions(router, acct)
    found = sum(router.counters.discrepancies.values()) - before
    router.journal.append("reconcile", {"venue": venue.label, "phase": "end", "found": found})
    log.info("reconciled %s: %d discrepancies", venue.label, found)
    return found


async def _fills(router: Router, acct: Account) -> None:
    last = router.last_fill_ns.get(acct.venue, 0)
    if last > 0:
        since = last - FILL_MARGIN_NS
    else:
        since = time.time_ns() - int(acct.settings.fill_lookback_s * 1e9)
    for x in router.instruments:
        if x.account is not acct:
            continue
        await acct.lim.acquire(Op.QUERY)
        for fill in await router._call(acct, acct.entry.recent_fills(x.symbol, since)):
            order = router.order_of_fill(acct, fill)
            if router.apply_fill(acct, fill, "reconcile") and order is not None:
                router._discrepancy(Discrepancy.MISSED_FILL, order.client_id, fill.trade_id)


async def _positions(router: Router, acct: Account) -> None:
    for x in router.instruments:
        if x.account is not acct:
            continue
        await acct.lim.acquire(Op.QUERY)
        pos = await router._call(acct, acct.entry.position(x.symbol))
        lots = x.lot.to_units(pos.qty)
        st = router.rstate[x.id]
        if int(st["position_lot"]) != lots:
            router._discrepancy(
                Discrepancy.POSITION, x.symbol,
                f"router {int(st['position_lot'])} lots, venue {lots} lots: venue's adopted",
            )  # fmt: skip
            st["position_lot"] = lots
        router.journal.append(
            "position", {"venue": acct.venue.label, "symbol": x.symbol, "qty": pos.qty}
        )
