"""Pure parsers for OKX v5 public data: ``data`` arrays of pushes and the instruments response.

Each ``parse_okx_*`` takes the raw JSON of a push's ``data`` array, appends event rows for one
instrument and returns how many; on bad input it raises (``ValueError`` or a msgspec error) and
appends nothing. Book levels are not parsed here: ``bot.adapters.okx.book_sync`` scans them
straight into the book (see ``bot.adapters.wire.levels``).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.okx import schemas
from bot.adapters.okx.constants import VENUE_LABEL
from bot.adapters.wire.rows import (
    TAKER_SIDES,
    Row,
    append_rows,
    bbo_rows,
    funding_row,
    mark_row,
    trade_row,
)
from bot.adapters.wire.scalars import ms_to_ns, trade_id
from bot.core.dtypes import EventKind, VenueId
from bot.core.instruments import InstrumentSpec, parse_specs

_VENUE = int(VenueId.OKX)
Json = bytes | str | msgspec.Raw
_LEVELS = msgspec.json.Decoder(list[list[str]])


def parse_okx_trades(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append one TRADE_BUY/TRADE_SELL row per trade (``side`` is the taker's side)."""
    rows: list[Row] = []
    for t in schemas.TRADES.decode(data):
        kind = TAKER_SIDES.get(t.side, EventKind.TRADE_UNKNOWN)
        rows.append(trade_row(ref, kind, ms_to_ns(t.ts), t.px, t.sz, trade_id(t.tradeId)))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_okx_tickers(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append BBO_BID/BBO_ASK rows from ``tickers`` (empty sides are skipped)."""
    rows: list[Row] = []
    for t in schemas.TICKERS.decode(data):
        rows += bbo_rows(ref, ms_to_ns(t.ts), (t.bidPx, t.bidSz), (t.askPx, t.askSz))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def _first_level(raw: msgspec.Raw) -> tuple[str, str]:
    levels = _LEVELS.decode(raw)
    return (levels[0][0], levels[0][1]) if levels and len(levels[0]) > 1 else ("", "")


def parse_okx_bbo(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append BBO_BID/BBO_ASK rows from ``bbo-tbt`` (one level a side)."""
    rows: list[Row] = []
    for d in schemas.BOOK_DATA.decode(data):
        rows += bbo_rows(ref, ms_to_ns(d.ts), _first_level(d.bids), _first_level(d.asks))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_okx_mark_price(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append MARK_PRICE rows (nearest tick, see ``bot.adapters.wire.rows.mark_row``)."""
    rows = [mark_row(ref, ms_to_ns(m.ts), m.markPx) for m in schemas.MARK_PRICES.decode(data)]
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_okx_funding_rate(
    data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append FUNDING_RATE rows (rate in 1e-9 units in ``aux``); rows without a rate are skipped."""
    rows = [
        funding_row(ms_to_ns(f.ts or f.fundingTime), f.fundingRate)
        for f in schemas.FUNDING_RATES.decode(data)
        if f.fundingRate
    ]
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_okx_instruments(body: bytes | str) -> list[InstrumentSpec]:
    """Return the specs in a ``GET /api/v5/public/instruments`` response.

    Quantities on OKX swaps are contracts: ``contract_multiplier`` is ``ctVal`` x ``ctMult``
    (base coin per contract for linear swaps; USD per contract for inverse ones, flagged
    ``inverse``).
    """
    response = schemas.INSTRUMENTS.decode(body)
    if response.code != "0":
        raise ValueError(f"okx instruments request failed: code {response.code} {response.msg}")
    raw = []
    for i in response.data:
        multiplier = Decimal(i.ctVal or "1") * Decimal(i.ctMult or "1")
        raw.append(
            {
                "venue": VENUE_LABEL,
                "symbol": i.instId,
                "tick_size": i.tickSz,
                "lot_size": i.lotSz,
                "contract_multiplier": format(multiplier.normalize(), "f"),
                "min_qty": i.minSz or "0",
                "inverse": i.ctType == "inverse",
            }
        )
    return parse_specs(raw, source="okx instruments")
