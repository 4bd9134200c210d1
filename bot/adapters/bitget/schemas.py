"""msgspec structs for Bitget v2 public WebSocket frames and the contracts REST response.

Level arrays stay ``msgspec.Raw`` (scanned in numba); decimals stay strings. Unknown fields are
ignored, so the v1 ``mix`` frames of the 2022 capture decode too (same books payload).
"""

from __future__ import annotations

import msgspec

from bot.adapters.wire.schema import EMPTY_LEVELS, NULL, Int64


class Arg(msgspec.Struct, frozen=True):
    """The ``arg`` of a push or event."""

    channel: str
    instId: str = ""
    instType: str = ""


class Frame(msgspec.Struct, frozen=True):
    """Envelope of every JSON frame: a push (``action`` + ``arg`` + ``data``) or an event."""

    arg: Arg | None = None
    event: str | None = None
    action: str = ""
    data: msgspec.Raw = NULL
    code: Int64 | str = ""
    msg: str = ""


class BookData(msgspec.Struct, frozen=True):
    """One ``books*`` push."""

    asks: msgspec.Raw = EMPTY_LEVELS
    bids: msgspec.Raw = EMPTY_LEVELS
    ts: str = "0"
    checksum: Int64 = 0
    seq: Int64 | None = None
    pseq: Int64 | None = None


class Trade(msgspec.Struct, frozen=True):
    """One ``trade`` row (``side`` is the taker's)."""

    ts: str
    price: str
    size: str
    side: str
    tradeId: str = ""


class Ticker(msgspec.Struct, frozen=True):
    """One ``ticker`` row (best bid/offer, mark price, funding rate are used)."""

    instId: str
    ts: str
    bidPr: str = ""
    bidSz: str = ""
    askPr: str = ""
    askSz: str = ""
    markPrice: str = ""
    fundingRate: str = ""


class Contract(msgspec.Struct, frozen=True):
    """One row of ``GET /api/v2/mix/market/contracts``."""

    symbol: str
    pricePlace: str
    priceEndStep: str
    sizeMultiplier: str
    minTradeNum: str = "0"
    minTradeUSDT: str = "0"
    makerFeeRate: str = "0"
    takerFeeRate: str = "0"
    symbolStatus: str = "normal"


class ContractsResponse(msgspec.Struct, frozen=True):
    """``GET /api/v2/mix/market/contracts``."""

    code: str
    data: list[Contract] = []
    msg: str = ""


FRAME = msgspec.json.Decoder(Frame)
BOOK_DATA = msgspec.json.Decoder(list[BookData])
TRADES = msgspec.json.Decoder(list[Trade])
TICKERS = msgspec.json.Decoder(list[Ticker])
CONTRACTS = msgspec.json.Decoder(ContractsResponse)
