"""``BitgetFeed``: Bitget v2 USDT-futures public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from types import MappingProxyType

import numpy as np

from bot.adapters.base import ConnectionPolicy, InstrumentRef, Keepalive
from bot.adapters.bitget import book_sync, constants, parse, schemas
from bot.adapters.bitget.errors import classify_ws_error
from bot.adapters.wire.push import ChannelPushFeed
from bot.core.dtypes import VenueId


class BitgetFeed(ChannelPushFeed):
    """Bitget v2 public feed for a set of instruments of one product type.

    ``channels`` picks the streams (``constants.CHANNELS``); at most one book channel. Book
    resyncs unsubscribe and subscribe that instrument's book channel (Bitget sends a snapshot).
    """

    venue = VenueId.BITGET
    checksums = True
    pong = constants.PONG
    args_per_frame = constants.SUBSCRIBE_ARGS_PER_FRAME
    frame_decoder = schemas.FRAME
    book_data_decoder = schemas.BOOK_DATA
    book_channels = constants.BOOK_CHANNELS
    known_channels = constants.CHANNELS
    parsers = MappingProxyType(
        {"trade": parse.parse_bitget_trades, "ticker": parse.parse_bitget_ticker}
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
        product_type: str = constants.PRODUCT_TYPE,
        keepalive: Keepalive = constants.KEEPALIVE,
        stale_after_s: float = constants.STALE_AFTER_S,
        session_s: float | None = constants.PROACTIVE_RECONNECT_S,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url,
            keepalive=keepalive,
            stale_after_s=stale_after_s,
            max_session_s=session_s,
        )
        self.product_type = product_type
        super().__init__(instruments, qty, state, policy, ws_url, channels)

    def arg(self, channel: str, ref: InstrumentRef) -> dict[str, str]:
        """Return the subscription argument (Bitget needs the product type)."""
        return {"instType": self.product_type, "channel": channel, "instId": ref.spec.symbol}
