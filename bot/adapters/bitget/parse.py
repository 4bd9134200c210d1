"""Pure parsers for Bitget v2 public data: ``data`` arrays of pushes and the contracts response.

Each ``parse_bitget_*`` takes the raw JSON of a push's ``data`` array, appends event rows for
one instrument and returns how many; on bad input it raises and appends nothing. Book levels are
scanned by ``bot.adapters.bitget.book_sync``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bitget import schemas
from bot.adapters.bitget.constants import VENUE_LABEL
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

_VENUE = int(VenueId.BITGET)
Json = bytes | str | msgspec.Raw


def parse_bitget_trades(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append one TRADE_BUY/TRADE_SELL row per trade (``side`` is the taker's side)."""
    rows: list[Row] = []
    for t in schemas.TRADES.decode(data):
        kind = TAKER_SIDES.get(t.side, EventKind.TRADE_UNKNOWN)
        rows.append(trade_row(ref, kind, ms_to_ns(t.ts), t.price, t.size, trade_id(t.tradeId)))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_bitget_ticker(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append BBO_BID/BBO_ASK, MARK_PRICE and FUNDING_RATE rows from ``ticker``."""
    rows: list[Row] = []
    for t in schemas.TICKERS.decode(data):
        ts_exch_ns = ms_to_ns(t.ts)
        rows += bbo_rows(ref, ts_exch_ns, (t.bidPr, t.bidSz), (t.askPr, t.askSz))
        if t.markPrice:
            rows.append(mark_row(ref, ts_exch_ns, t.markPrice))
        if t.fundingRate:
            rows.append(funding_row(ts_exch_ns, t.fundingRate))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_bitget_contracts(body: bytes | str) -> list[InstrumentSpec]:
    """Return the specs in a ``GET /api/v2/mix/market/contracts`` response.

    The tick is ``priceEndStep`` x 10^-``pricePlace`` (a price must be a multiple of the end
    step in its last decimal); the lot is ``sizeMultiplier``, in base coin.
    """
    response = schemas.CONTRACTS.decode(body)
    if response.code != "00000":
        raise ValueError(f"bitget contracts request failed: code {response.code} {response.msg}")
    raw = []
    for c in response.data:
        tick = Decimal(c.priceEndStep).scaleb(-int(c.pricePlace))
        raw.append(
            {
                "venue": VENUE_LABEL,
                "symbol": c.symbol,
                "tick_size": format(tick.normalize(), "f"),
                "lot_size": c.sizeMultiplier,
                "min_qty": c.minTradeNum or "0",
                "min_notional": c.minTradeUSDT or "0",
                "maker_fee_rate": c.makerFeeRate or "0",
                "taker_fee_rate": c.takerFeeRate or "0",
            }
        )
    return parse_specs(raw, source="bitget contracts")
