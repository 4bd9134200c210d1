"""Typed shapes of Binance USD-M public messages (strict ``msgspec`` decoders, slow path).

The depth hot path does not use these: ``sync.depth_update`` scans frame bytes directly. These
decoders classify every frame the fast scanner hands back (other event types, unusual layouts)
and reject malformed ones. Prices and sizes stay strings; unknown fields are ignored so that new
venue fields do not break parsing.
"""

from __future__ import annotations

import msgspec

from bot.adapters.wire.schema import MS, Int64


class DepthUpdate(msgspec.Struct, tag_field="e", tag="depthUpdate"):
    E: MS
    s: str
    U: Int64
    u: Int64
    pu: Int64
    b: list[tuple[str, str]]
    a: list[tuple[str, str]]
    T: MS = 0


class BookTicker(msgspec.Struct, tag_field="e", tag="bookTicker"):
    u: Int64
    s: str
    b: str
    B: str
    a: str
    A: str
    E: MS = 0
    T: MS = 0


class AggTrade(msgspec.Struct, tag_field="e", tag="aggTrade"):
    E: MS
    s: str
    a: Int64
    p: str
    q: str
    T: MS
    m: bool
    f: Int64 = 0
    l: Int64 = 0  # noqa: E741 (the venue's field name)


class MarkPriceUpdate(msgspec.Struct, tag_field="e", tag="markPriceUpdate"):
    E: MS
    s: str
    p: str
    r: str = ""
    T: MS = 0
    i: str = ""


class Kline(msgspec.Struct, tag_field="e", tag="kline"):
    E: MS
    s: str


Event = DepthUpdate | BookTicker | AggTrade | MarkPriceUpdate | Kline


class Frame(msgspec.Struct):
    """Any frame: a combined-stream envelope, a raw event, a subscribe reply or an error."""

    stream: str | None = None
    data: msgspec.Raw = msgspec.Raw()
    """Empty when absent (``msgspec.Raw`` cannot sit in a union with ``None``)."""
    e: str | None = None
    result: msgspec.Raw = msgspec.Raw()
    id: int | str | None = None
    code: int | None = None
    msg: str | None = None


class DepthSnapshot(msgspec.Struct):
    lastUpdateId: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]
    E: MS = 0
    T: MS = 0


class SymbolFilter(msgspec.Struct):
    filterType: str
    tickSize: str | None = None
    stepSize: str | None = None
    minQty: str | None = None
    notional: str | None = None


class SymbolInfo(msgspec.Struct):
    symbol: str
    status: str = ""
    contractType: str = ""
    filters: list[SymbolFilter] = []


class ExchangeInfo(msgspec.Struct):
    symbols: list[SymbolInfo]


FRAME_DECODER = msgspec.json.Decoder(Frame)
EVENT_DECODER = msgspec.json.Decoder(Event)
SNAPSHOT_DECODER = msgspec.json.Decoder(DepthSnapshot)
EXCHANGE_INFO_DECODER = msgspec.json.Decoder(ExchangeInfo)
