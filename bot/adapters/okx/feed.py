"""``OkxFeed``: OKX v5 public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from bot.adapters.base import ConnectionPolicy, InstrumentRef, Keepalive
from bot.adapters.okx import book_sync, constants, parse, schemas
from bot.adapters.okx.errors import classify_ws_error
from bot.adapters.wire.push import ChannelPushFeed
from bot.core.dtypes import VenueId


class OkxFeed(ChannelPushFeed):
    """OKX v5 public feed for a set of instruments sharing one connection.

    ``channels`` picks the streams (``constants.CHANNELS``); at most one book channel. Book
    resyncs unsubscribe and subscribe that instrument's book channel (OKX sends a snapshot).
    """

    venue = VenueId.OKX
    checksums = True
    pong = constants.PONG
    args_per_frame = constants.SUBSCRIBE_ARGS_PER_FRAME
    frame_decoder = schemas.FRAME
    book_data_decoder = schemas.BOOK_DATA
    book_channels = constants.BOOK_CHANNELS
    known_channels = MappingProxyType(
        {**constants.CHANNELS, **{c: "book" for c in constants.BOOK_CHANNELS}}
    )
    parsers = MappingProxyType(
        {
            "trades": parse.parse_okx_trades,
            "tickers": parse.parse_okx_tickers,
            "bbo-tbt": parse.parse_okx_bbo,
            "mark-price": parse.parse_okx_mark_price,
            "funding-rate": parse.parse_okx_funding_rate,
        }
    )
    on_book_entry = book_sync.on_books
    classify_error = staticmethod(classify_ws_error)

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        channels: Sequence[str] = constants.DEFAULT_CHANNELS,
        ws_url: str = constants.WS_PUBLIC_URL,
        rest_url: str = constants.REST_URL,
        keepalive: Keepalive = constants.KEEPALIVE,
        stale_after_s: float = constants.STALE_AFTER_S,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url, keepalive=keepalive, stale_after_s=stale_after_s
        )
        super().__init__(instruments, qty, state, policy, ws_url, channels)
        self.reconnect_requested = False
        """Set when OKX announces a service upgrade (notice 64008): reconnect proactively."""

    def on_event(self, event: str, code: str, message: str) -> None:
        """Handle acks/errors; a 64008 notice asks the supervisor to reconnect early."""
        if code == constants.RECONNECT_NOTICE_CODE:
            self.reconnect_requested = True
        super().on_event(event, code, message)
