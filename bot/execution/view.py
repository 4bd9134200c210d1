"""What the order journal says, read without a venue: for ``tickbot orders`` and incidents.

``journal_view`` replays a journal directory through the same code a restarting router uses
(``bot.execution.recovery.rebuild``), so it shows exactly the orders a restart would hold as
live. The router needs each instrument's tick and lot grid to do that; an operator's command
has no venue specs at hand, so the view takes for each symbol the finest decimal step found in
the journal's own exact strings: every price and size the journal holds is on that grid.

Positions: the last ``position`` record (the venue's figure at a reconciliation) or snapshot
entry of each symbol, plus the fills journaled after it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bot.core.dtypes import OrderStatus, Side, VenueId
from bot.core.ticks import DecimalFormatError, Grid, split_decimal
from bot.execution.journal import Record, replay
from bot.execution.recovery import rebuild

_DECIMAL_FIELDS = ("px", "qty", "filled")
_ORDER_RECORDS = ("new", "adopt", "report", "amend")


@dataclass(frozen=True, slots=True)
class JournalOrder:
    """A live order as the journal knows it (exact decimal strings)."""

    venue: str
    symbol: str
    client_order_id: str
    side: Side
    price: str
    qty: str
    filled: str
    status: OrderStatus
    venue_order_id: str


@dataclass
class JournalView:
    """The journal's live orders and positions, by venue and symbol."""

    orders: list[JournalOrder] = field(default_factory=list)
    positions: dict[tuple[str, str], Decimal] = field(default_factory=dict)
    """Last known position of each (venue, symbol); absent where the journal has none."""
    records: int = 0
    torn: int = 0
    files: int = 0


@dataclass(frozen=True, slots=True)
class _Instrument:
    id: int
    symbol: str
    tick: Grid
    lot: Grid


class _Instruments:
    """Grids inferred from the journal's strings (module doc), one per (venue, symbol)."""

    def __init__(self, exponents: dict[tuple[VenueId, str], int]) -> None:
        self.instruments: list[_Instrument] = []
        self._by_key: dict[tuple[VenueId, str], _Instrument] = {}
        for (venue, symbol), exp in sorted(exponents.items()):
            grid = Grid.parse(f"1e{exp}")
            x = _Instrument(len(self.instruments), symbol, grid, grid)
            self.instruments.append(x)
            self._by_key[(venue, symbol)] = x

    def instrument_of(self, venue: VenueId, symbol: str) -> _Instrument | None:
        return self._by_key.get((venue, symbol))


def _exponent(value: Any) -> int | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        mantissa, exp = split_decimal(value)
    except DecimalFormatError:
        return None
    return exp if mantissa else None


def _venue(name: Any) -> VenueId | None:
    try:
        return VenueId.from_label(str(name))
    except ValueError:
        return None


def _order_dicts(records: Sequence[Record]) -> Iterable[tuple[Record, dict[str, Any]]]:
    """Yield (record, order fields) for every record that names an order's numbers."""
    for rec in records:
        if rec.get("t") == "snapshot":
            for o in rec.get("orders", ()):
                if isinstance(o, dict):
                    yield rec, o
        else:
            yield rec, rec


def _grids(records: Sequence[Record]) -> dict[tuple[VenueId, str], int]:
    """Finest decimal exponent per (venue, symbol) over every number the journal holds."""
    venue_of: dict[str, tuple[VenueId, str]] = {}
    exps: dict[tuple[VenueId, str], int] = {}

    def see(key: tuple[VenueId, str], values: Iterable[Any]) -> None:
        for v in values:
            e = _exponent(v)
            if e is not None:
                exps[key] = min(exps.get(key, 0), e)
        exps.setdefault(key, 0)

    for rec, o in _order_dicts(records):
        kind = rec.get("t")
        venue = _venue(o.get("venue")) if "venue" in o else None
        if venue is not None and "symbol" in o:
            key = (venue, str(o["symbol"]))
            if "cid" in o:
                venue_of[str(o["cid"])] = key
            see(key, (o.get(f) for f in _DECIMAL_FIELDS))
        elif kind in _ORDER_RECORDS and str(rec.get("cid")) in venue_of:
            see(venue_of[str(rec["cid"])], (rec.get(f) for f in _DECIMAL_FIELDS))
    return exps


def _positions(records: Sequence[Record]) -> dict[tuple[str, str], Decimal]:
    out: dict[tuple[str, str], Decimal] = {}
    for rec in records:
        kind = rec.get("t")
        try:
            if kind == "snapshot":
                for venue, symbol, qty in rec.get("positions", ()):
                    out[(str(venue), str(symbol))] = Decimal(str(qty))
            elif kind == "position":
                out[(str(rec["venue"]), str(rec["symbol"]))] = Decimal(str(rec["qty"]))
            elif kind == "fill":
                key = (str(rec["venue"]), str(rec["symbol"]))
                if key in out:
                    out[key] += int(rec["side"]) * Decimal(str(rec["qty"]))
        except (KeyError, ValueError, TypeError, ArithmeticError):
            continue
    return out


def journal_view(directory: str | Path) -> JournalView:
    """Return the live orders and positions the journal in ``directory`` holds."""
    rep = replay(directory)
    instruments = _Instruments(_grids(rep.records))
    restored = rebuild(instruments, rep)
    view = JournalView(records=len(rep.records), torn=rep.torn, files=len(rep.files))
    for order in restored.orders.values():
        if not order.live:
            continue
        x = instruments.instruments[order.instrument]
        view.orders.append(
            JournalOrder(
                venue=order.venue.label,
                symbol=order.symbol,
                client_order_id=order.client_id,
                side=order.side,
                price=x.tick.to_str(order.price_tick),
                qty=x.lot.to_str(order.qty_lot),
                filled=x.lot.to_str(order.filled_lot),
                status=order.status,
                venue_order_id=order.venue_order_id,
            )
        )
    view.positions = _positions(rep.records)
    return view
