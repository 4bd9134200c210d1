"""The order state machine: one ``Order`` per client order id, and the only legal moves.

Statuses are ``bot.core.dtypes.OrderStatus`` (the simulated venue uses the same). Updates come
from replies, queries, open-order lists and the user stream, duplicated and out of order; every
one goes through ``transition``, which only moves an order forward::

    PENDING_NEW ─► OPEN ─► PARTIALLY_FILLED ─► FILLED
        │  │         │            │
        │  │         └─► PENDING_CANCEL ◄┘ ─► CANCELLED | EXPIRED (| back to OPEN/PARTIAL on
        │  │                                  a cancel reject)
        │  └─► REJECTED | EXPIRED | CANCELLED | FILLED (IOC, market, a fast fill)
        └─► UNKNOWN (timeout, disconnect, 5xx, 429) ─► any state the venue then reports

FILLED and REJECTED are final. CANCELLED and EXPIRED are final for the status, except that
fills still count (a fill that raced the cancel) and enough of them make the order FILLED.
Amends are not a status: an order carries ``amend_pending`` while one is in flight.

Quantities are int64 lots; ``filled_lot`` is the sum of fills seen once each (by trade id).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.dtypes import OrderFlag, OrderStatus, Side, VenueId

S = OrderStatus
FINAL = frozenset({S.FILLED, S.REJECTED, S.CANCELLED, S.EXPIRED})
"""Statuses after which the venue holds nothing of the order."""
LIVE = frozenset({S.PENDING_NEW, S.OPEN, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.UNKNOWN})
"""Statuses in which the order may rest (or be resting) on the venue: exposure in risk."""

_ANSWERS = frozenset(
    {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED, S.EXPIRED}
)
"""Where a sent order (or one of unknown outcome) can go once the venue answers."""
_ANSWERS = frozenset(
    {S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.REJECTED, S.EXPIRED}
)
"""Where a sent order (or one of unknown outcome) can go once the venue answers."""
_EDGES: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.PENDING_NEW: _ANSWERS | {S.UNKNOWN},
    S.UNKNOWN: _ANSWERS,
    S.OPEN: frozenset({S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED}),
    S.PARTIALLY_FILLED: frozenset({S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED}),
    S.PENDING_CANCEL: frozenset({S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED}),
    S.CANCELLED: frozenset({S.FILLED}),
    S.EXPIRED: frozenset({S.FILLED}),
    S.FILLED: frozenset(),
    S.REJECTED: frozenset(),
}


def can_move(old: OrderStatus, new: OrderStatus) -> bool:
    """Return whether ``old -> new`` is a legal edge (a repeat of ``old`` is not a move)."""
    return new in _EDGES[old]


@dataclass(slots=True)
class Order:
    """One of our orders as the router knows it."""

    coid: int
    """The int64 ``client_order_id`` of the core's rows."""
    client_id: str
    """The text id sent to the venue."""
    venue: VenueId
    symbol: str
    instrument: int
    side: Side
    flags: OrderFlag
    price_tick: int
    qty_lot: int
    status: OrderStatus = S.PENDING_NEW
    filled_lot: int = 0
    venue_filled_lot: int = 0
    """Cumulative fill the venue last reported (fills may arrive after the report)."""
    venue_order_id: str = ""
    ts_sent_ns: int = 0
    reserved_lot: int = 0
    """Size this order holds in risk's ``open_*_lot`` (released by fills and by closing)."""
    holds_slot: bool = False
    """Whether it counts in risk's ``open_orders``."""
    before_cancel: OrderStatus = S.OPEN
    """Status to return to when a cancel is rejected (the order was still there)."""
    amend_pending: tuple[int, int] | None = None
    """``(price_tick, qty_lot)`` of an amend in flight."""
    settling: bool = False
    """A query task is settling this order's unknown outcome."""
    trade_ids: set[str] = field(default_factory=set)

    @property
    def leaves_lot(self) -> int:
        """Return what is still open (never negative)."""
        return max(0, self.qty_lot - self.filled_lot)

    @property
    def live(self) -> bool:
        """Return whether the order may be on the venue."""
        return self.status in LIVE


def transition(order: Order, new: OrderStatus) -> bool:
    """Move ``order`` to ``new`` if that is forward; return whether it moved.

    Entering PENDING_CANCEL remembers where a cancel reject returns to.
    """
    old = order.status
    if not can_move(old, new):
        return False
    if new == S.PENDING_CANCEL:
        order.before_cancel = old if old in (S.OPEN, S.PARTIALLY_FILLED) else S.OPEN
    order.status = new
    return True


def status_after_fill(order: Order) -> OrderStatus:
    """Return the status a new fill implies (PARTIALLY_FILLED or FILLED), given ``filled_lot``."""
    return S.FILLED if order.filled_lot >= order.qty_lot else S.PARTIALLY_FILLED


def apply_fill_status(order: Order) -> bool:
    """Advance the status after a counted fill; return whether it changed.

    A partial fill of a PENDING_CANCEL order leaves that status (the cancel is still out); a
    partial fill after CANCELLED/EXPIRED changes nothing but the size. A fill of an UNKNOWN order
    proves the venue accepted it.
    """
    new = status_after_fill(order)
    if new == S.PARTIALLY_FILLED and order.status in (
        S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED, S.PARTIALLY_FILLED,
    ):  # fmt: skip
        if order.status == S.PENDING_CANCEL:
            order.before_cancel = S.PARTIALLY_FILLED
        return False
    return transition(order, new)
