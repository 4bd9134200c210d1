"""Pure parsers for BingX swap public data: ``data`` objects and contracts.

BingX gzips every server frame; ``bot.adapters.base.gunzip_frame`` undoes that (bounded, so a
gzip bomb is a malformed frame). Each ``parse_bingx_*`` takes the raw JSON of a push's ``data``,
appends event rows for one instrument and returns how many; on bad input it raises and appends
nothing. Depth levels are scanned by ``book_sync``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bingx import schemas
from bot.adapters.bingx.constants import VENUE_LABEL
from bot.adapters.wire.rows import Row, append_rows, bbo_rows, mark_row, trade_row
from bot.core.dtypes import EventKind, VenueId
from bot.core.instruments import InstrumentSpec, parse_specs

_VENUE = int(VenueId.BINGX)
_NS_PER_MS = 1_000_000
Json = bytes | str | msgspec.Raw


GZIP_MAGIC = b"\x1f\x8b"


def is_gzip(data: str | bytes) -> bool:
    """Return whether ``data`` is a still-compressed frame (starts with the gzip magic)."""
    return isinstance(data, bytes) and data[:2] == GZIP_MAGIC


def _ms(value: int) -> int:
    if not 0 <= value <= (2**63 - 1) // _NS_PER_MS:
        raise ValueError(f"timestamp out of range: {value}")
    return value * _NS_PER_MS


def parse_bingx_trades(data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer) -> int:
    """Append one trade row per trade (``m`` true: the buyer was maker, so the taker sold)."""
    rows: list[Row] = []
    for t in schemas.TRADES.decode(data):
        kind = EventKind.TRADE_SELL if t.m else EventKind.TRADE_BUY
        rows.append(trade_row(ref, kind, _ms(t.T), t.p, t.q))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_bingx_book_ticker(
    data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append BBO_BID/BBO_ASK rows from ``@bookTicker``."""
    t = schemas.BOOK_TICKER.decode(data)
    rows = bbo_rows(ref, _ms(t.T or t.E), (t.b, t.B), (t.a, t.A))
    return append_rows(rows, ref, _VENUE, ts_local_ns, out)


def parse_bingx_mark_price(
    data: Json, ref: InstrumentRef, ts_local_ns: int, out: EventBuffer
) -> int:
    """Append a MARK_PRICE row from ``@markPrice`` (nearest tick)."""
    m = schemas.MARK_PRICE.decode(data)
    return append_rows([mark_row(ref, _ms(m.E), m.p)], ref, _VENUE, ts_local_ns, out)


def _text(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def parse_bingx_contracts(body: bytes | str) -> list[InstrumentSpec]:
    """Return the specs in a ``GET /openApi/swap/v2/quote/contracts`` response.

    Tick and lot are ``10**-pricePrecision`` and ``10**-quantityPrecision``; quantities are in
    the base coin. Numbers in this response are JSON numbers, decoded exactly.
    """
    response = schemas.CONTRACTS.decode(body)
    if response.code != 0:
        raise ValueError(f"bingx contracts request failed: code {response.code} {response.msg}")
    raw = [
        {
            "venue": VENUE_LABEL,
            "symbol": c.symbol,
            "tick_size": _text(Decimal(1).scaleb(-c.pricePrecision)),
            "lot_size": _text(Decimal(1).scaleb(-c.quantityPrecision)),
            "min_qty": _text(c.tradeMinQuantity),
            "min_notional": _text(c.tradeMinUSDT),
            "maker_fee_rate": _text(c.makerFeeRate),
            "taker_fee_rate": _text(c.takerFeeRate),
        }
        for c in response.data
    ]
    return parse_specs(raw, source="bingx contracts")
