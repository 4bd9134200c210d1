"""Typed shapes of Bybit v5 public linear messages (strict ``msgspec`` decoders, slow path).

The book hot path scans bytes in ``book.book_message``; these decoders classify the rest (trades,
tickers, pongs, subscribe acks) and re-check book frames the scanner could not read. Decimal
values stay strings; unknown fields are ignored.
"""

from __future__ import annotations

import msgspec

from bot.adapters.wire.schema import MS, Int64


class Frame(msgspec.Struct):
    """Any frame: a topic push, or an op reply (pong, subscribe ack)."""

    topic: str | None = None
    type: str | None = None
    ts: MS | None = None
    cts: MS | None = None
    data: msgspec.Raw = msgspec.Raw()
    """Empty when absent (``msgspec.Raw`` cannot sit in a union with ``None``)."""
    op: str | None = None
    success: bool | None = None
    ret_msg: str | None = None


class BookData(msgspec.Struct):
    s: str
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    u: Int64
    seq: Int64 = 0


class Trade(msgspec.Struct):
    T: MS
    s: str
    S: str
    v: str
    p: str
    i: str = ""
    BT: bool = False
    seq: Int64 = 0


class Ticker(msgspec.Struct):
    """tickers.* snapshot or delta (deltas carry only the fields that changed)."""

    symbol: str
    bid1Price: str | None = None
    bid1Size: str | None = None
    ask1Price: str | None = None
    ask1Size: str | None = None
    markPrice: str | None = None
    fundingRate: str | None = None
    nextFundingTime: str | None = None


class PriceFilter(msgspec.Struct):
    tickSize: str


class LotSizeFilter(msgspec.Struct):
    qtyStep: str
    minOrderQty: str = "0"
    minNotionalValue: str = "0"


class InstrumentInfo(msgspec.Struct):
    symbol: str
    priceFilter: PriceFilter
    lotSizeFilter: LotSizeFilter
    status: str = ""
    contractType: str = ""


class InstrumentList(msgspec.Struct, rename={"items": "list"}):
    items: list[InstrumentInfo]
    category: str = ""
    nextPageCursor: str = ""


class InstrumentsResponse(msgspec.Struct):
    retCode: int
    result: InstrumentList
    retMsg: str = ""


FRAME_DECODER = msgspec.json.Decoder(Frame)
BOOK_DATA_DECODER = msgspec.json.Decoder(BookData)
TRADES_DECODER = msgspec.json.Decoder(list[Trade])
TICKER_DECODER = msgspec.json.Decoder(Ticker)
INSTRUMENTS_DECODER = msgspec.json.Decoder(InstrumentsResponse)
