"""Building event rows for scalar messages (trades, BBO, mark, funding), all or nothing.

Venue parsers convert every value of a message first (conversion raises on bad input) and only
then append, so a malformed message leaves the event buffer untouched.
"""

from __future__ import annotations

from decimal import Decimal

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.wire.scalars import FUNDING_GRID, exact_units, nearest_units
from bot.core.dtypes import EventFlag, EventKind

Row = tuple[int, int, int, int, int]
Number = str | int | Decimal
"""A venue value: decimal text, or an exact number decoded by msgspec."""
Side = tuple[Number | None, Number | None]
"""(kind, ts_exch_ns, price_tick, qty_lot, aux) of one row to append."""

TAKER_SIDES = {
    "buy": EventKind.TRADE_BUY,
    "sell": EventKind.TRADE_SELL,
    "Buy": EventKind.TRADE_BUY,
    "Sell": EventKind.TRADE_SELL,
}


def append_rows(
    rows: list[Row], ref: InstrumentRef, venue: int, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append converted rows, the last one flagged BATCH_END; return how many."""
    for k, (kind, ts_exch_ns, price_tick, qty_lot, aux) in enumerate(rows):
        flags = EventFlag.BATCH_END if k == len(rows) - 1 else 0
        out.append(
            kind, ref.instrument, ts_exch_ns, ts_local_ns, price_tick, qty_lot,
            flags=flags, venue=venue, aux=aux,
        )  # fmt: skip
    return len(rows)


def trade_row(
    ref: InstrumentRef, kind: int, ts_exch_ns: int, price: Number, size: Number, aux: int = 0
) -> Row:
    """Return a trade row with exact price and size."""
    price_tick = exact_units(ref.tick, price, "trade price")
    return (kind, ts_exch_ns, price_tick, exact_units(ref.lot, size, "trade size"), aux)


def bbo_rows(ref: InstrumentRef, ts_exch_ns: int, bid: Side, ask: Side) -> list[Row]:
    """Return BBO_BID/BBO_ASK rows for ``(price, size)`` pairs; empty or null sides are skipped."""
    rows: list[Row] = []
    for kind, (price, size) in ((EventKind.BBO_BID, bid), (EventKind.BBO_ASK, ask)):
        if price is not None and size is not None and price != "" and size != "":
            price_tick = exact_units(ref.tick, price, "bbo price")
            rows.append((kind, ts_exch_ns, price_tick, exact_units(ref.lot, size, "bbo size"), 0))
    return rows


def mark_row(ref: InstrumentRef, ts_exch_ns: int, price: Number) -> Row:
    """Return a MARK_PRICE row, rounded to the nearest tick.

    Venues publish mark prices finer than the tick (BitMEX ``32181.37`` on a 0.5 grid); the mark
    is a reference for risk and funding, never an order price, so rounding it is safe and the
    alternative, dropping every mark, is not.
    """
    price_tick, _ = nearest_units(ref.tick, price, "mark price")
    if price_tick < 0:
        raise ValueError("mark price must not be negative")
    return (EventKind.MARK_PRICE, ts_exch_ns, price_tick, 0, 0)


def funding_row(ts_exch_ns: int, rate: Number) -> Row:
    """Return a FUNDING_RATE row: the rate in units of 1e-9 in ``aux`` (nearest)."""
    units, _ = nearest_units(FUNDING_GRID, rate, "funding rate")
    return (EventKind.FUNDING_RATE, ts_exch_ns, 0, 0, units)
