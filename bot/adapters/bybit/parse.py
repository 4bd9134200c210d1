"""Pure parsers for Bybit v5 linear messages other than the book hot path."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bybit.constants import VENUE
from bot.adapters.bybit.schemas import INSTRUMENTS_DECODER, Ticker, Trade
from bot.adapters.wire.scalars import FUNDING_GRID, exact_or_none, nearest_or_none
from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentError, InstrumentSpec, parse_specs

_VENUE = int(VenueId.BYBIT)


def parse_public_trade(
    trade: Trade, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> bool:
    """Append one TRADE row (``S`` is the taker's side)."""
    price = exact_or_none(ref.tick, trade.p)
    size = exact_or_none(ref.lot, trade.v)
    if price is None or size is None or price <= 0 or size <= 0 or trade.S not in ("Buy", "Sell"):
        return False
    kind = EventKind.TRADE_BUY if trade.S == "Buy" else EventKind.TRADE_SELL
    out.append(
        kind,
        ref.instrument,
        trade.T * 1_000_000,
        ts_local_ns,
        price,
        size,
        venue=_VENUE,
        seq=trade.seq,
        flags=EventFlag.BATCH_END,
    )
    return True


class TickerState:
    """Merges ``tickers.*`` snapshot + deltas (deltas carry only changed fields)."""

    __slots__ = ("ask", "ask_lot", "bid", "bid_lot")

    def __init__(self) -> None:
        self.bid: int | None = None
        self.bid_lot: int | None = None
        self.ask: int | None = None
        self.ask_lot: int | None = None

    def apply(
        self, msg: Ticker, ref: InstrumentRef, ts_exch_ns: int, ts_local_ns: int, out: EventBuffer
    ) -> bool:
        """Merge and append BBO, MARK_PRICE and FUNDING_RATE rows; False if a field is bad."""
        updates = (
            (msg.bid1Price, "bid", ref.tick),
            (msg.bid1Size, "bid_lot", ref.lot),
            (msg.ask1Price, "ask", ref.tick),
            (msg.ask1Size, "ask_lot", ref.lot),
        )
        changed = False
        for text, name, grid in updates:
            if text is None:
                continue
            value = exact_or_none(grid, text)
            if value is None:
                return False
            setattr(self, name, value)
            changed = True
        rows = []
        if changed and None not in (self.bid, self.bid_lot, self.ask, self.ask_lot):
            rows.append((EventKind.BBO_BID, self.bid, self.bid_lot, 0))
            rows.append((EventKind.BBO_ASK, self.ask, self.ask_lot, 0))
        if msg.markPrice is not None:
            mark = nearest_or_none(ref.tick, msg.markPrice)
            if mark is None or mark <= 0:
                return False
            rows.append((EventKind.MARK_PRICE, mark, 0, 0))
        if msg.fundingRate:
            rate = nearest_or_none(FUNDING_GRID, msg.fundingRate)
            if rate is None:
                return False
            rows.append((EventKind.FUNDING_RATE, 0, 0, rate))
        for k, (kind, price, size, aux) in enumerate(rows):
            flags = EventFlag.BATCH_END if k == len(rows) - 1 else EventFlag.NONE
            out.append(
                kind,
                ref.instrument,
                ts_exch_ns,
                ts_local_ns,
                price or 0,
                size or 0,
                venue=_VENUE,
                aux=aux,
                flags=flags,
            )
        return True


def parse_instruments_info(
    body: bytes | str, symbols: Iterable[str] | None = None
) -> list[InstrumentSpec]:
    """Return specs from a ``/v5/market/instruments-info?category=linear`` body.

    Tick from priceFilter.tickSize, lot from lotSizeFilter.qtyStep, ``min_qty`` from minOrderQty
    and ``min_notional`` from minNotionalValue. Raise ``InstrumentError`` on a malformed body, a
    non-zero retCode or a missing requested symbol.
    """
    try:
        reply = INSTRUMENTS_DECODER.decode(body)
    except msgspec.DecodeError as e:
        raise InstrumentError(f"{VENUE} instruments-info: {e}") from None
    if reply.retCode != 0:
        raise InstrumentError(f"{VENUE} instruments-info: retCode {reply.retCode} {reply.retMsg}")
    wanted = None if symbols is None else {s.upper() for s in symbols}
    raw = [
        {
            "venue": VENUE,
            "symbol": item.symbol,
            "tick_size": item.priceFilter.tickSize,
            "lot_size": item.lotSizeFilter.qtyStep,
            "min_qty": item.lotSizeFilter.minOrderQty,
            "min_notional": item.lotSizeFilter.minNotionalValue or "0",
        }
        for item in reply.result.items
        if wanted is None or item.symbol in wanted
    ]
    if wanted is not None:
        missing = wanted - {s["symbol"] for s in raw}
        if missing:
            raise InstrumentError(f"{VENUE}: unknown symbols {', '.join(sorted(missing))}")
    return parse_specs(raw, source=f"{VENUE} instruments-info")
