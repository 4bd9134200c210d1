"""msgspec structs for BingX swap WebSocket frames (after gunzip) and the contracts response.

Level arrays stay ``msgspec.Raw`` (scanned in numba); decimals are strings on the WebSocket and
JSON numbers in the contracts response, which decode to exact ``Decimal`` (never float).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from bot.adapters.wire.schema import EMPTY_LEVELS, NULL, Int64


class Frame(msgspec.Struct, frozen=True):
    """Envelope: a push (``dataType`` + ``data``) or a reply to a request (``id`` + ``code``)."""

    code: Int64 = 0
    dataType: str = ""
    data: msgspec.Raw = NULL
    ts: Int64 = 0
    id: str = ""
    msg: str = ""
    ping: msgspec.Raw = NULL


class IncrDepth(msgspec.Struct, frozen=True):
    """``<symbol>@incrDepth`` data."""

    action: str
    lastUpdateId: Int64
    bids: msgspec.Raw = EMPTY_LEVELS
    asks: msgspec.Raw = EMPTY_LEVELS
    time: Int64 = 0


class Depth(msgspec.Struct, frozen=True):
    """``<symbol>@depthN`` data: a full top-N book."""

    bids: msgspec.Raw = EMPTY_LEVELS
    asks: msgspec.Raw = EMPTY_LEVELS
    T: Int64 = 0


class Trade(msgspec.Struct, frozen=True):
    """One ``@trade`` row; ``m`` true means the buyer was the maker (the taker sold)."""

    p: str
    q: str
    T: Int64
    m: bool


class BookTicker(msgspec.Struct, frozen=True):
    """``@bookTicker`` data."""

    b: str
    B: str
    a: str
    A: str
    T: Int64 = 0
    E: Int64 = 0
    u: Int64 = 0


class MarkPrice(msgspec.Struct, frozen=True):
    """``@markPrice`` data."""

    p: str
    E: Int64


class Contract(msgspec.Struct, frozen=True):
    """One row of ``GET /openApi/swap/v2/quote/contracts``."""

    symbol: str
    pricePrecision: Annotated[int, msgspec.Meta(ge=0, le=18)]
    quantityPrecision: Annotated[int, msgspec.Meta(ge=0, le=18)]
    tradeMinQuantity: Decimal = Decimal(0)
    tradeMinUSDT: Decimal = Decimal(0)
    makerFeeRate: Decimal = Decimal(0)
    takerFeeRate: Decimal = Decimal(0)
    status: int = 1


class ContractsResponse(msgspec.Struct, frozen=True):
    """``GET /openApi/swap/v2/quote/contracts``."""

    code: int
    data: list[Contract] = []
    msg: str = ""


FRAME = msgspec.json.Decoder(Frame)
INCR_DEPTH = msgspec.json.Decoder(IncrDepth)
DEPTH = msgspec.json.Decoder(Depth)
TRADES = msgspec.json.Decoder(list[Trade])
BOOK_TICKER = msgspec.json.Decoder(BookTicker)
MARK_PRICE = msgspec.json.Decoder(MarkPrice)
CONTRACTS = msgspec.json.Decoder(ContractsResponse)
