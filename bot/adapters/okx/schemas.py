"""msgspec structs for OKX v5 public WebSocket frames and the instruments REST response.

Level arrays stay ``msgspec.Raw`` (scanned in numba by ``bot.adapters.wire.levels``); decimal values
stay strings until ``bot.adapters.wire.scalars`` converts them exactly. Unknown fields are ignored.
"""

from __future__ import annotations

import msgspec

from bot.adapters.wire.schema import EMPTY_LEVELS, Int64


class Arg(msgspec.Struct, frozen=True):
    """The ``arg`` of a push or an event: which channel and instrument."""

    channel: str
    instId: str = ""


class Frame(msgspec.Struct, frozen=True):
    """Envelope of every JSON frame: a push (``arg`` + ``data``) or an event."""

    arg: Arg | None = None
    event: str | None = None
    action: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    code: str = ""
    msg: str = ""


class BookData(msgspec.Struct, frozen=True):
    """One ``books*`` push (``action`` snapshot or update) or ``bbo-tbt`` push."""

    asks: msgspec.Raw = EMPTY_LEVELS
    bids: msgspec.Raw = EMPTY_LEVELS
    ts: str = "0"
    checksum: Int64 = 0
    seqId: Int64 | None = None
    prevSeqId: Int64 | None = None


class Trade(msgspec.Struct, frozen=True):
    """One ``trades`` row."""

    instId: str
    tradeId: str
    px: str
    sz: str
    side: str
    ts: str


class Ticker(msgspec.Struct, frozen=True):
    """One ``tickers`` row (only the best bid/offer is used)."""

    instId: str
    ts: str
    bidPx: str = ""
    bidSz: str = ""
    askPx: str = ""
    askSz: str = ""


class MarkPrice(msgspec.Struct, frozen=True):
    """One ``mark-price`` row."""

    instId: str
    markPx: str
    ts: str


class FundingRate(msgspec.Struct, frozen=True):
    """One ``funding-rate`` row (``fundingRate`` is absent in some historical frames)."""

    instId: str
    fundingRate: str = ""
    fundingTime: str = "0"
    ts: str = ""


class Instrument(msgspec.Struct, frozen=True):
    """One row of ``GET /api/v5/public/instruments``."""

    instId: str
    instType: str
    tickSz: str
    lotSz: str
    minSz: str = "0"
    ctVal: str = ""
    ctMult: str = ""
    ctType: str = ""
    state: str = "live"


class InstrumentsResponse(msgspec.Struct, frozen=True):
    """``GET /api/v5/public/instruments``."""

    code: str
    data: list[Instrument] = []
    msg: str = ""


FRAME = msgspec.json.Decoder(Frame)
BOOK_DATA = msgspec.json.Decoder(list[BookData])
TRADES = msgspec.json.Decoder(list[Trade])
TICKERS = msgspec.json.Decoder(list[Ticker])
MARK_PRICES = msgspec.json.Decoder(list[MarkPrice])
FUNDING_RATES = msgspec.json.Decoder(list[FundingRate])
INSTRUMENTS = msgspec.json.Decoder(InstrumentsResponse)
