"""Pure parsers for OKX v5 public data: ``data`` arrays of pushes and the instruments response.

Each ``parse_okx_*`` takes the raw JSON of a push's ``data`` array, appends event rows for one
instrument and returns how many; on bad input it raises (``ValueError`` or a msgspec error) and
appends nothing. Book levels are not parsed here: ``bot.adapters.okx.book_sync`` scans them
straight into the book (see ``bot.adapters.levels``).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.fixed import FUNDING_GRID, exact_units, ms_to_ns, nearest_units, trade_id
from bot.adapters.okx import schemas
from bot.adapters.okx.constants import VENUE_LABEL
from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentSpec, parse_specs

_VENUE = int(VenueId.OKX)
_SIDES = {"buy": EventKind.TRADE_BUY, "sell": EventKind.TRADE_SELL}
Row = tuple[int, int, int, int, int]
"""(kind, ts_exch_ns, price_tick, qty_lot, aux) of one row to append."""


def append_rows(rows: list[Row], ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append fully converted rows (all or nothing) and flag the last one BATCH_END."""
    for k, (kind, ts_exch_ns, price_tick, qty_lot, aux) in enumerate(rows):
        flags = EventFlag.BATCH_END if k == len(rows) - 1 else 0
        out.append(
            kind, ref.instrument, ts_exch_ns, ts_local_ns, price_tick, qty_lot,
            flags=flags, venue=_VENUE, aux=aux,
        )  # fmt: skip
    return len(rows)


def parse_okx_trades(
    data: bytes | str | msgspec.Raw, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append one TRADE_BUY/TRADE_SELL row per trade (``side`` is the taker's side)."""
    rows: list[Row] = []
    for t in schemas.TRADES.decode(data):
        kind = _SIDES.get(t.side, EventKind.TRADE_UNKNOWN)
        price_tick = exact_units(ref.tick, t.px, "trade price")
        qty_lot = exact_units(ref.lot, t.sz, "trade size")
        rows.append((kind, ms_to_ns(t.ts), price_tick, qty_lot, trade_id(t.tradeId)))
    return append_rows(rows, ref, ts_local_ns, out)


def _bbo_rows(ts_exch_ns: int, ref: InstrumentRef, bid: tuple[str, str], ask: tuple[str, str]):
    rows: list[Row] = []
    for kind, (px, sz) in ((EventKind.BBO_BID, bid), (EventKind.BBO_ASK, ask)):
        if px and sz:
            price_tick = exact_units(ref.tick, px, "bbo price")
            rows.append((kind, ts_exch_ns, price_tick, exact_units(ref.lot, sz, "bbo size"), 0))
    return rows


def parse_okx_tickers(
    data: bytes | str | msgspec.Raw, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append BBO_BID/BBO_ASK rows from ``tickers`` (empty sides are skipped)."""
    rows: list[Row] = []
    for t in schemas.TICKERS.decode(data):
        rows += _bbo_rows(ms_to_ns(t.ts), ref, (t.bidPx, t.bidSz), (t.askPx, t.askSz))
    return append_rows(rows, ref, ts_local_ns, out)


_LEVELS = msgspec.json.Decoder(list[list[str]])


def parse_okx_bbo(
    data: bytes | str | msgspec.Raw, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append BBO_BID/BBO_ASK rows from ``bbo-tbt`` (one level a side)."""
    rows: list[Row] = []
    for d in schemas.BOOK_DATA.decode(data):
        bids, asks = _LEVELS.decode(d.bids), _LEVELS.decode(d.asks)
        bid = (bids[0][0], bids[0][1]) if bids and len(bids[0]) > 1 else ("", "")
        ask = (asks[0][0], asks[0][1]) if asks and len(asks[0]) > 1 else ("", "")
        rows += _bbo_rows(ms_to_ns(d.ts), ref, bid, ask)
    return append_rows(rows, ref, ts_local_ns, out)


def parse_okx_mark_price(
    data: bytes | str | msgspec.Raw, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append MARK_PRICE rows (rounded to the nearest tick: a reference value, not an order)."""
    rows: list[Row] = []
    for m in schemas.MARK_PRICES.decode(data):
        price_tick, _ = nearest_units(ref.tick, m.markPx, "mark price")
        if price_tick < 0:
            raise ValueError("mark price must not be negative")
        rows.append((EventKind.MARK_PRICE, ms_to_ns(m.ts), price_tick, 0, 0))
    return append_rows(rows, ref, ts_local_ns, out)


def parse_okx_funding_rate(
    data: bytes | str | msgspec.Raw, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append FUNDING_RATE rows (rate in 1e-9 units in ``aux``); rows without a rate are skipped."""
    rows: list[Row] = []
    for f in schemas.FUNDING_RATES.decode(data):
        if not f.fundingRate:
            continue
        rate, _ = nearest_units(FUNDING_GRID, f.fundingRate, "funding rate")
        ts_exch_ns = ms_to_ns(f.ts or f.fundingTime)
        rows.append((EventKind.FUNDING_RATE, ts_exch_ns, 0, 0, rate))
    return append_rows(rows, ref, ts_local_ns, out)


def parse_okx_instruments(body: bytes | str) -> list[InstrumentSpec]:
    """Return the specs in a ``GET /api/v5/public/instruments`` response.

    Quantities on OKX swaps are contracts: ``contract_multiplier`` is ``ctVal`` (base coin per
    contract for linear swaps, USD per contract for inverse ones, which are flagged ``inverse``).
    """
    response = schemas.INSTRUMENTS.decode(body)
    if response.code != "0":
        raise ValueError(f"okx instruments request failed: code {response.code} {response.msg}")
    raw = []
    for i in response.data:
        multiplier = i.ctVal or "1"
        raw.append(
            {
                "venue": VENUE_LABEL,
                "symbol": i.instId,
                "tick_size": i.tickSz,
                "lot_size": i.lotSz,
                "contract_multiplier": format(Decimal(multiplier).normalize(), "f"),
                "min_qty": i.minSz or "0",
                "inverse": i.ctType == "inverse",
            }
        )
    return parse_specs(raw, source="okx instruments")
