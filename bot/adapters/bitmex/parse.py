"""Pure parsers for BitMEX tables (quote, trade, instrument) and the instrument REST response.

A BitMEX frame may carry rows of several symbols. Each ``parse_bitmex_*`` takes the raw JSON of
a frame's ``data`` array and the subscribed instruments by symbol, appends rows per instrument
(rows of other symbols are skipped) and returns how many; on bad input it raises and appends
nothing. The order book is kept by ``bot.adapters.bitmex.book_sync``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bitmex import schemas
from bot.adapters.bitmex.constants import VENUE_LABEL
from bot.adapters.wire.rows import (
    TAKER_SIDES,
    Row,
    append_rows,
    bbo_rows,
    funding_row,
    mark_row,
    trade_row,
)
from bot.adapters.wire.scalars import iso_to_ns
from bot.core.dtypes import EventKind, VenueId
from bot.core.instruments import InstrumentSpec, parse_specs

_VENUE = int(VenueId.BITMEX)
Json = bytes | str | msgspec.Raw
Refs = Mapping[str, InstrumentRef]


def _append_grouped(
    grouped: dict[str, list[Row]], refs: Refs, ts_local_ns: int, out: EventBuffer
) -> int:
    return sum(append_rows(rows, refs[s], _VENUE, ts_local_ns, out) for s, rows in grouped.items())


def match_id(trd_match_id: str) -> int:
    """Return the first 60 bits of a trade's GUID as ``aux`` (0 if it is not hexadecimal)."""
    digits = trd_match_id.replace("-", "")[:15]
    try:
        return int(digits, 16) if digits else 0
    except ValueError:
        return 0


def parse_bitmex_quotes(data: Json, refs: Refs, ts_local_ns: int, out: EventBuffer) -> int:
    """Append BBO_BID/BBO_ASK rows for every ``quote`` row of a subscribed symbol."""
    grouped: dict[str, list[Row]] = {}
    for q in schemas.QUOTES.decode(data):
        ref = refs.get(q.symbol)
        if ref is not None:
            bid, ask = (q.bidPrice, q.bidSize), (q.askPrice, q.askSize)
            grouped.setdefault(q.symbol, []).extend(bbo_rows(ref, iso_to_ns(q.timestamp), bid, ask))
    return _append_grouped(grouped, refs, ts_local_ns, out)


def parse_bitmex_trades(data: Json, refs: Refs, ts_local_ns: int, out: EventBuffer) -> int:
    """Append one trade row per ``trade`` row of a subscribed symbol (``side`` is the taker's)."""
    grouped: dict[str, list[Row]] = {}
    for t in schemas.TRADES.decode(data):
        ref = refs.get(t.symbol)
        if ref is not None:
            kind = TAKER_SIDES.get(t.side, EventKind.TRADE_UNKNOWN)
            row = trade_row(
                ref, kind, iso_to_ns(t.timestamp), t.price, t.size, match_id(t.trdMatchID)
            )
            grouped.setdefault(t.symbol, []).append(row)
    return _append_grouped(grouped, refs, ts_local_ns, out)


def parse_bitmex_instrument(data: Json, refs: Refs, ts_local_ns: int, out: EventBuffer) -> int:
    """Append MARK_PRICE (nearest tick) and FUNDING_RATE rows from ``instrument`` rows."""
    grouped: dict[str, list[Row]] = {}
    for i in schemas.INSTRUMENT_UPDATES.decode(data):
        ref = refs.get(i.symbol)
        if ref is None or (i.markPrice is None and i.fundingRate is None):
            continue
        ts_exch_ns = iso_to_ns(i.timestamp) if i.timestamp else 0
        rows = grouped.setdefault(i.symbol, [])
        if i.markPrice is not None:
            rows.append(mark_row(ref, ts_exch_ns, i.markPrice))
        if i.fundingRate is not None:
            rows.append(funding_row(ts_exch_ns, i.fundingRate))
    return _append_grouped(grouped, refs, ts_local_ns, out)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _contract_multiplier(i: schemas.Instrument) -> Decimal:
    """Return base (or, inverse, quote) units per contract.

    Inverse (XBTUSD): a contract is ``multiplier / underlyingToSettleMultiplier`` USD (1).
    Linear/quanto: a contract is ``1 / underlyingToPositionMultiplier`` of the underlying when
    BitMEX gives that, else ``multiplier / quoteToSettleMultiplier``.
    """
    multiplier = abs(i.multiplier) if i.multiplier else Decimal(1)
    if i.isInverse:
        settle = abs(i.underlyingToSettleMultiplier or multiplier)
        return multiplier / settle
    if i.underlyingToPositionMultiplier:
        return 1 / abs(i.underlyingToPositionMultiplier)
    if i.quoteToSettleMultiplier:
        return multiplier / abs(i.quoteToSettleMultiplier)
    return multiplier


def parse_bitmex_instruments(body: bytes | str) -> list[InstrumentSpec]:
    """Return the specs in a ``GET /api/v1/instrument`` response (one object or a list)."""
    decoded = schemas.INSTRUMENTS.decode(body)
    rows = decoded if isinstance(decoded, list) else [decoded]
    raw = [
        {
            "venue": VENUE_LABEL,
            "symbol": i.symbol,
            "tick_size": _text(i.tickSize),
            "lot_size": _text(i.lotSize),
            "contract_multiplier": _text(_contract_multiplier(i)),
            "min_qty": _text(i.lotSize),
            "maker_fee_rate": _text(i.makerFee or Decimal(0)),
            "taker_fee_rate": _text(i.takerFee or Decimal(0)),
            "inverse": i.isInverse,
        }
        for i in rows
    ]
    return parse_specs(raw, source="bitmex instruments")
