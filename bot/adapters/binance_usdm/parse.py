"""Pure parsers for Binance USD-M messages other than the depth hot path.

Each function turns a decoded ``schemas`` struct into event rows with exact fixed-point values
(``None`` / False means "malformed, count and skip"). ``parse_exchange_info`` turns the REST
``/fapi/v1/exchangeInfo`` body into ``InstrumentSpec`` objects.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.binance_usdm.constants import VENUE
from bot.adapters.binance_usdm.schemas import (
    EXCHANGE_INFO_DECODER,
    AggTrade,
    BookTicker,
    MarkPriceUpdate,
)
from bot.adapters.wire.scalars import FUNDING_GRID, exact_or_none, ms_to_ns, nearest_or_none
from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentError, InstrumentSpec, parse_specs

_VENUE = int(VenueId.BINANCE_USDM)


def parse_book_ticker(
    msg: BookTicker, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> tuple[int, int, int, int] | None:
    """Append BBO_BID/BBO_ASK rows; return ``(bid_tick, bid_lot, ask_tick, ask_lot)`` or None."""
    bid = exact_or_none(ref.tick, msg.b)
    bid_lot = exact_or_none(ref.lot, msg.B)
    ask = exact_or_none(ref.tick, msg.a)
    ask_lot = exact_or_none(ref.lot, msg.A)
    if bid is None or bid_lot is None or ask is None or ask_lot is None:
        return None
    ts = ms_to_ns(msg.T or msg.E)
    out.append(
        EventKind.BBO_BID, ref.instrument, ts, ts_local_ns, bid, bid_lot, venue=_VENUE, seq=msg.u
    )
    out.append(
        EventKind.BBO_ASK,
        ref.instrument,
        ts,
        ts_local_ns,
        ask,
        ask_lot,
        venue=_VENUE,
        seq=msg.u,
        flags=EventFlag.BATCH_END,
    )
    return bid, bid_lot, ask, ask_lot


def parse_agg_trade(msg: AggTrade, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> bool:
    """Append one TRADE row (``m`` = buyer is maker, so the taker sold)."""
    price = exact_or_none(ref.tick, msg.p)
    size = exact_or_none(ref.lot, msg.q)
    if price is None or size is None or price <= 0 or size <= 0:
        return False
    kind = EventKind.TRADE_SELL if msg.m else EventKind.TRADE_BUY
    out.append(
        kind,
        ref.instrument,
        ms_to_ns(msg.T),
        ts_local_ns,
        price,
        size,
        venue=_VENUE,
        seq=msg.a,
        aux=msg.a,
        flags=EventFlag.BATCH_END,
    )
    return True


def parse_mark_price(
    msg: MarkPriceUpdate, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> bool:
    """Append MARK_PRICE (nearest tick, ties away from zero) and FUNDING_RATE (1e-9 units) rows."""
    mark = nearest_or_none(ref.tick, msg.p)
    if mark is None or mark <= 0:
        return False
    ts = ms_to_ns(msg.E)
    rate = nearest_or_none(FUNDING_GRID, msg.r) if msg.r else None
    last_flag = EventFlag.NONE if rate is not None else EventFlag.BATCH_END
    out.append(
        EventKind.MARK_PRICE, ref.instrument, ts, ts_local_ns, mark, venue=_VENUE, flags=last_flag
    )
    if rate is not None:
        out.append(
            EventKind.FUNDING_RATE,
            ref.instrument,
            ts,
            ts_local_ns,
            venue=_VENUE,
            aux=rate,
            seq=msg.T,
            flags=EventFlag.BATCH_END,
        )
    return True


def parse_exchange_info(
    body: bytes | str, symbols: Iterable[str] | None = None
) -> list[InstrumentSpec]:
    """Return specs for the TRADING perpetuals in an exchangeInfo body (or just ``symbols``).

    Tick from PRICE_FILTER.tickSize, lot from LOT_SIZE.stepSize, ``min_qty`` from
    LOT_SIZE.minQty and ``min_notional`` from MIN_NOTIONAL.notional. Raise ``InstrumentError``
    if the body is malformed or a requested symbol is missing.
    """
    try:
        info = EXCHANGE_INFO_DECODER.decode(body)
    except msgspec.DecodeError as e:
        raise InstrumentError(f"{VENUE} exchangeInfo: {e}") from None
    wanted = None if symbols is None else {s.upper() for s in symbols}
    raw: list[dict[str, str]] = []
    for sym in info.symbols:
        if wanted is not None and sym.symbol not in wanted:
            continue
        if wanted is None and (sym.status != "TRADING" or sym.contractType != "PERPETUAL"):
            continue
        filters = {f.filterType: f for f in sym.filters}
        price_filter = filters.get("PRICE_FILTER")
        lot_filter = filters.get("LOT_SIZE")
        if price_filter is None or lot_filter is None:
            raise InstrumentError(
                f"{VENUE} exchangeInfo: {sym.symbol} has no PRICE_FILTER/LOT_SIZE"
            )
        spec = {
            "venue": VENUE,
            "symbol": sym.symbol,
            "tick_size": price_filter.tickSize or "",
            "lot_size": lot_filter.stepSize or "",
            "min_qty": lot_filter.minQty or "0",
        }
        notional = filters.get("MIN_NOTIONAL")
        if notional is not None and notional.notional:
            spec["min_notional"] = notional.notional
        raw.append(spec)
    if wanted is not None:
        missing = wanted - {s["symbol"] for s in raw}
        if missing:
            raise InstrumentError(f"{VENUE}: unknown symbols {', '.join(sorted(missing))}")
    return parse_specs(raw, source=f"{VENUE} exchangeInfo")
