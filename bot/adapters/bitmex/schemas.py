"""msgspec structs for BitMEX WebSocket tables and the instrument REST response.

BitMEX sends prices as JSON numbers; they decode to exact ``Decimal`` values (msgspec reads the
digits, never a float), then convert to ticks in ``bot.adapters.wire.scalars``.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from bot.adapters.wire.schema import NULL, Int64


class Frame(msgspec.Struct, frozen=True):
    """Envelope: a table push, a subscribe reply, an error, or the welcome message."""

    table: str = ""
    action: str = ""
    data: msgspec.Raw = NULL
    filter: dict[str, str | int] | None = None
    success: bool | None = None
    subscribe: str = ""
    unsubscribe: str = ""
    status: Int64 = 0
    error: str = ""
    info: str = ""


class L2Row(msgspec.Struct, frozen=True):
    """One ``orderBookL2`` row; update/delete rows of the 2021 era carry no price."""

    symbol: str
    id: Int64
    side: str
    size: Int64 | None = None
    price: Decimal | None = None
    timestamp: str = ""


class Quote(msgspec.Struct, frozen=True):
    """One ``quote`` row."""

    symbol: str
    timestamp: str
    bidSize: Int64 | None = None
    bidPrice: Decimal | None = None
    askPrice: Decimal | None = None
    askSize: Int64 | None = None


class Trade(msgspec.Struct, frozen=True):
    """One ``trade`` row; ``side`` is the taker's."""

    symbol: str
    timestamp: str
    side: str
    size: Int64
    price: Decimal
    trdMatchID: str = ""


class InstrumentUpdate(msgspec.Struct, frozen=True):
    """One ``instrument`` row (partial rows carry everything, updates only what changed)."""

    symbol: str
    timestamp: str = ""
    markPrice: Decimal | None = None
    fundingRate: Decimal | None = None


class Instrument(msgspec.Struct, frozen=True):
    """One row of ``GET /api/v1/instrument``."""

    symbol: str
    tickSize: Decimal
    lotSize: Decimal
    multiplier: Decimal | None = None
    isInverse: bool = False
    underlyingToSettleMultiplier: Decimal | None = None
    underlyingToPositionMultiplier: Decimal | None = None
    quoteToSettleMultiplier: Decimal | None = None
    makerFee: Decimal | None = None
    takerFee: Decimal | None = None
    state: str = "Open"


FRAME = msgspec.json.Decoder(Frame)
L2_ROWS = msgspec.json.Decoder(list[L2Row])
QUOTES = msgspec.json.Decoder(list[Quote])
TRADES = msgspec.json.Decoder(list[Trade])
INSTRUMENT_UPDATES = msgspec.json.Decoder(list[InstrumentUpdate])
INSTRUMENTS = msgspec.json.Decoder(Instrument | list[Instrument])
