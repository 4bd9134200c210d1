"""``OkxFeed``: OKX v5 public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec
import numpy as np
import orjson

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.bookfeed import MALFORMED_ERRORS, WsBookFeed
from bot.adapters.okx import book_sync, constants, parse, schemas
from bot.adapters.okx.errors import RetryableError, classify_ws_error
from bot.core.dtypes import VenueId

logger = logging.getLogger(__name__)

Parser = Callable[[msgspec.Raw, InstrumentRef, int, EventBuffer], int]
_PARSERS: dict[str, Parser] = {
    "trades": parse.parse_okx_trades,
    "tickers": parse.parse_okx_tickers,
    "bbo-tbt": parse.parse_okx_bbo,
    "mark-price": parse.parse_okx_mark_price,
    "funding-rate": parse.parse_okx_funding_rate,
}


class OkxFeed(WsBookFeed):
    """OKX v5 public feed for a set of instruments sharing one connection.

    ``channels`` picks the streams (``constants.CHANNELS``); at most one book channel.
    """

    venue = VenueId.OKX
    checksums = True
    keepalive = constants.KEEPALIVE

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        channels: Sequence[str] = constants.DEFAULT_CHANNELS,
        url: str = constants.WS_PUBLIC_URL,
    ) -> None:
        super().__init__(instruments, qty, state)
        unknown = [c for c in channels if c not in constants.CHANNELS and c not in _BOOKS]
        if unknown:
            raise ValueError(f"unknown okx channels {unknown}; known: {sorted(constants.CHANNELS)}")
        books = [c for c in channels if c in _BOOKS]
        if len(books) > 1:
            raise ValueError(f"subscribe at most one okx book channel, got {books}")
        self.channels = tuple(channels)
        self.book_channel = books[0] if books else None
        self.url = url
        self.reconnect_requested = False
        """Set when OKX announces a service upgrade (notice 64008): reconnect proactively."""

    def ws_urls(self) -> Sequence[str]:
        """Return the public WebSocket URL."""
        return (self.url,)

    def subscribe_messages(self) -> Sequence[str]:
        """Return subscribe frames for every channel and instrument."""
        args = [{"channel": c, "instId": r.spec.symbol} for c in self.channels for r in self.refs]
        step = constants.SUBSCRIBE_ARGS_PER_FRAME
        return [
            orjson.dumps({"op": "subscribe", "args": args[k : k + step]}).decode()
            for k in range(0, len(args), step)
        ]

    def resubscribe_frames(self, ref: InstrumentRef) -> Sequence[str]:
        """Unsubscribe and subscribe the book channel of ``ref``: OKX answers with a snapshot."""
        arg = [{"channel": self.book_channel or "books", "instId": ref.spec.symbol}]
        return [
            orjson.dumps({"op": op, "args": arg}).decode() for op in ("unsubscribe", "subscribe")
        ]

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame into event rows; count and skip malformed input, never raise."""
        self.stats.messages += 1
        if data == constants.PONG or data == b"pong":
            return
        start = out.n
        try:
            frame = schemas.FRAME.decode(data)
        except MALFORMED_ERRORS as e:
            self.malformed(type(e).__name__, data)
            return
        if frame.event is not None:
            self._on_event(frame)
            return
        if frame.arg is None or bytes(frame.data) == b"null":
            self.malformed("okx_no_arg_or_data", data)
            return
        ref = self.by_symbol.get(frame.arg.instId)
        if ref is None:
            self.count("unknown_instrument")
            return
        channel = frame.arg.channel
        if channel in _BOOKS:
            self._on_books(ref, frame, data, ts_local_ns, out)
            return
        parser = _PARSERS.get(channel)
        if parser is None:
            self.count("unknown_channel")
            return
        try:
            parser(frame.data, ref, ts_local_ns, out)
        except MALFORMED_ERRORS as e:
            out.n = start
            self.malformed(f"okx_{channel}_{type(e).__name__}", data)

    def _on_books(
        self, ref: InstrumentRef, frame: schemas.Frame, data: str | bytes,
        ts_local_ns: int, out: EventBuffer,
    ) -> None:  # fmt: skip
        sync = self.sync[ref.instrument]
        try:
            entries = schemas.BOOK_DATA.decode(frame.data)
            for entry in entries:
                book_sync.on_books(self, sync, frame.action, entry, ts_local_ns, out)
        except MALFORMED_ERRORS as e:
            self.malformed(f"okx_books_{type(e).__name__}", data)
            self.invalidate(sync, "malformed", ts_local_ns, out)

    def _on_event(self, frame: schemas.Frame) -> None:
        if frame.event in ("subscribe", "unsubscribe"):
            return
        if frame.event in ("error", "notice"):
            error = classify_ws_error(frame.code, frame.msg)
            self.count(f"venue_{frame.event}")
            if frame.code == constants.RECONNECT_NOTICE_CODE:
                self.reconnect_requested = True
            level = logging.WARNING if isinstance(error, RetryableError) else logging.ERROR
            logger.log(level, "okx %s: %s", frame.event, error)
            return
        self.count("unknown_event")


_BOOKS = constants.BOOK_CHANNELS
