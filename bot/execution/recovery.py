"""Rebuild the router's in-flight state from the journal (start-up after a restart or crash).

Replay is idempotent and forgiving: records apply in ``seq`` order through the same state
machine as live updates, a record about an order the journal never introduced is skipped, a
torn or corrupt line was already dropped by ``journal.replay``. The result is the set of orders
that may still be live on a venue, the fills already counted (so a restart never counts a fill
twice), the largest order counter and the run ids used, and the time of the last fill per venue
(where reconciliation starts asking for fills).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.core.dtypes import OrderFlag, OrderStatus, Side, VenueId
from bot.core.ticks import Grid
from bot.execution.journal import Record, Replay
from bot.execution.orders import FINAL, Order, apply_fill_status, transition

if TYPE_CHECKING:
    from bot.execution.router import Router

log = logging.getLogger(__name__)
S = OrderStatus


class Traded(Protocol):
    """What replay needs of a traded instrument: its engine id, symbol and grids."""

    @property
    def id(self) -> int: ...
    @property
    def symbol(self) -> str: ...
    @property
    def tick(self) -> Grid: ...
    @property
    def lot(self) -> Grid: ...


class Instruments(Protocol):
    """The instruments replay resolves records against (a ``Router``, or the journal view)."""

    @property
    def instruments(self) -> Sequence[Traded]: ...

    def instrument_of(self, venue: VenueId, symbol: str) -> Traded | None: ...


@dataclass
class Restored:
    """What the journal says the previous runs left."""

    orders: dict[str, Order] = field(default_factory=dict)
    trades: set[tuple[int, str, str]] = field(default_factory=set)
    last_counter: int = 0
    runs: set[str] = field(default_factory=set)
    last_fill_ns: dict[VenueId, int] = field(default_factory=dict)
    skipped: int = 0
    """Records about orders on instruments no longer traded, or never introduced."""


def _order_from(router: Instruments, rec: Record, out: Restored) -> Order | None:
    try:
        venue = VenueId.from_label(str(rec["venue"]))
    except ValueError:
        out.skipped += 1
        return None
    x = router.instrument_of(venue, str(rec["symbol"]))
    if x is None:
        out.skipped += 1
        log.warning(
            "journal: order %s on %s:%s, an instrument not traded now: left to reconciliation",
            rec.get("cid"), rec.get("venue"), rec.get("symbol"),
        )  # fmt: skip
        return None
    order = Order(
        coid=int(rec["coid"]), client_id=str(rec["cid"]), venue=venue, symbol=x.symbol,
        instrument=x.id, side=Side(int(rec["side"])), flags=OrderFlag(int(rec.get("flags", 0))),
        price_tick=x.tick.to_units(str(rec["px"])), qty_lot=x.lot.to_units(str(rec["qty"])),
        status=OrderStatus[str(rec.get("status", "PENDING_NEW"))],
        filled_lot=x.lot.to_units(str(rec.get("filled", "0"))),
        venue_order_id=str(rec.get("voi", "")),
    )  # fmt: skip
    order.trade_ids.update(str(t) for t in rec.get("trades", ()))
    for t in order.trade_ids:
        out.trades.add((int(venue), x.symbol, t))
    out.last_counter = max(out.last_counter, order.coid)
    return order


def _apply(router: Instruments, rec: Record, out: Restored) -> None:
    kind = rec.get("t")
    cid = str(rec.get("cid", ""))
    order = out.orders.get(cid)
    if kind == "snapshot":
        out.orders.clear()
        for o in rec.get("orders", ()):
            restored = _order_from(router, o, out)
            if restored is not None:
                out.orders[restored.client_id] = restored
        out.runs.update(rec.get("runs", ()))
        out.last_counter = max(out.last_counter, int(rec.get("counter", 0)))
        for v, symbol, t in rec.get("recent_trades", ()):
            out.trades.add((int(v), str(symbol), str(t)))
        for name, ts in rec.get("last_fill_ns", {}).items():
            out.last_fill_ns[VenueId.from_label(name)] = int(ts)
    elif kind == "run":
        out.runs.add(str(rec["run"]))
    elif kind in ("new", "adopt"):
        restored = _order_from(router, rec, out)
        if restored is not None:
            out.orders[restored.client_id] = restored
    elif kind == "fill":
        _apply_fill(router, rec, order, out)
    elif order is None:
        if kind in ("cancel", "report", "reject", "unknown", "not_found"):
            out.skipped += 1
    else:
        _apply_order_record(router, kind, rec, order)


def _apply_fill(router: Instruments, rec: Record, order: Order | None, out: Restored) -> None:
    try:
        venue = VenueId.from_label(str(rec["venue"]))
    except ValueError:
        return
    key = (int(venue), str(rec["symbol"]), str(rec["trade_id"]))
    if key in out.trades:
        return
    out.trades.add(key)
    ts = int(rec.get("ts_exch", 0))
    out.last_fill_ns[venue] = max(out.last_fill_ns.get(venue, 0), ts)
    if order is None:
        return
    x = router.instruments[order.instrument]
    order.trade_ids.add(key[2])
    order.filled_lot += x.lot.to_units(str(rec["qty"]))
    apply_fill_status(order)


def _apply_order_record(router: Instruments, kind: Any, rec: Record, order: Order) -> None:
    x = router.instruments[order.instrument]
    if kind == "cancel":
        transition(order, S.PENDING_CANCEL)
    elif kind == "report":
        if rec.get("voi"):
            order.venue_order_id = str(rec["voi"])
        new = OrderStatus[str(rec["status"])]
        if new in (S.OPEN, S.PARTIALLY_FILLED) and rec.get("qty") and order.status not in FINAL:
            order.qty_lot = x.lot.to_units(str(rec["qty"]))
            if rec.get("px"):
                order.price_tick = x.tick.to_units(str(rec["px"]))
        if not (order.status == S.PENDING_CANCEL and new in (S.OPEN, S.PARTIALLY_FILLED)):
            transition(order, new)
    elif kind == "reject" and rec.get("op") == "new":
        transition(order, S.REJECTED)
    elif kind == "unknown" and rec.get("op") == "new":
        transition(order, S.UNKNOWN)
    elif kind == "not_found":
        transition(order, OrderStatus[str(rec["status"])])


def rebuild(instruments: Instruments, replay: Replay) -> Restored:
    """Apply ``replay``'s records in order: the orders, fills and ids the journal knows."""
    out = Restored()
    for rec in replay.records:
        try:
            _apply(instruments, rec, out)
        except (KeyError, ValueError, TypeError) as e:
            out.skipped += 1
            log.warning("journal: record seq=%s skipped (%s)", rec.get("seq"), e)
    return out


def restore(router: Router, replay: Replay) -> Restored:
    """Replay ``replay`` into the router: live orders tracked and held in risk."""
    out = rebuild(router, replay)
    router.known_runs.update(out.runs)
    router.last_fill_ns.update(out.last_fill_ns)
    for key in out.trades:
        router._seen[key] = None
    live = 0
    for order in out.orders.values():
        if order.live:
            router._track(order)
            router.hold(order)
            live += 1
    log.info(
        "journal replayed: %d records, %d live orders, %d torn lines, %d skipped",
        len(replay.records), live, replay.torn, out.skipped,
    )  # fmt: skip
    return out
