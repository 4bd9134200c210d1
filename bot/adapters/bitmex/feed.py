"""``BitmexFeed``: BitMEX public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import msgspec
import numpy as np

from bot.adapters.base import ConnectionPolicy, EventBuffer, InstrumentRef, Keepalive, Reason
from bot.adapters.bitmex import book_sync, constants, parse, schemas
from bot.adapters.bitmex.errors import RetryableError, classify_ws_error
from bot.adapters.wire.feed import MALFORMED_ERRORS, BookFeed, Resubscribe, op_frames
from bot.core.dtypes import VenueId

logger = logging.getLogger(__name__)

Parser = Callable[[msgspec.Raw, Mapping[str, InstrumentRef], int, EventBuffer], int]
_PARSERS: dict[str, Parser] = {
    "quote": parse.parse_bitmex_quotes,
    "trade": parse.parse_bitmex_trades,
    "instrument": parse.parse_bitmex_instrument,
}


class BitmexFeed(BookFeed):
    """BitMEX public feed; ``tables`` are ``constants.TABLES`` names (at most one book table).

    BitMEX has neither sequence numbers nor checksums, so a frame that cannot be decoded at all
    may have been a lost book message: every synced book is then resynced (see ``on_message``).
    """

    venue = VenueId.BITMEX

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        tables: Sequence[str] = constants.DEFAULT_TABLES,
        ws_url: str = constants.WS_URL,
        rest_url: str = constants.REST_URL,
        keepalive: Keepalive = constants.KEEPALIVE,
        stale_after_s: float = constants.STALE_AFTER_S,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url, keepalive=keepalive, stale_after_s=stale_after_s
        )
        recovery = Resubscribe(self.resubscribe_frames)
        super().__init__(instruments, qty, state, policy, recovery, ws_url)
        books = [t for t in tables if t in constants.BOOK_TABLES]
        unknown = [t for t in tables if t not in constants.TABLES]
        if unknown or len(books) > 1:
            raise ValueError(
                f"bitmex tables must be known with at most one book table: {list(tables)}; "
                f"known: {sorted(constants.TABLES)}"
            )
        self.tables = tuple(tables)
        self.book_table = books[0] if books else None
        self.ids: list[dict[int, int]] = [{} for _ in self.refs]
        """Per sync row: ``id * 2 + side`` -> price tick of every row in the book."""

    def subscribe_messages(self) -> Sequence[str]:
        """Return subscribe frames for every table and instrument."""
        args = [f"{t}:{r.spec.symbol}" for t in self.tables for r in self.refs]
        return op_frames("subscribe", args, constants.SUBSCRIBE_ARGS_PER_FRAME)

    def resubscribe_frames(self, ref: InstrumentRef) -> Sequence[str]:
        """Unsubscribe and subscribe the book table of ``ref``: BitMEX sends a new partial."""
        arg = [f"{self.book_table or 'orderBookL2'}:{ref.spec.symbol}"]
        return op_frames("unsubscribe", arg, 1) + op_frames("subscribe", arg, 1)

    def forget(self, local: int) -> None:
        """Forget the ids of book ``local`` (the next partial brings them all again)."""
        self.ids[local].clear()

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame into event rows; count and skip malformed input, never raise."""
        self.stats.messages += 1
        if data == constants.PONG or data == b"pong":
            return
        try:
            frame = schemas.FRAME.decode(data)
        except MALFORMED_ERRORS as e:
            self.malformed(type(e).__name__, data)
            self._resync_all(ts_local_ns, out)
            return
        if not frame.table:
            self._on_reply(frame)
            return
        if frame.table in constants.BOOK_TABLES:
            self._on_book(frame, data, ts_local_ns, out)
            return
        parser = _PARSERS.get(frame.table)
        if parser is None:
            self.count(Reason.UNKNOWN_CHANNEL)
            return
        reason = f"bitmex_{frame.table}"
        self.run_parser(parser, frame.data, self.by_symbol, ts_local_ns, out, reason, data)

    def _on_book(
        self, frame: schemas.Frame, data: str | bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        filter_symbol = (frame.filter or {}).get("symbol")
        try:
            rows = schemas.L2_ROWS.decode(frame.data)
        except MALFORMED_ERRORS as e:
            self.malformed(f"bitmex_l2_{type(e).__name__}", data)
            self._resync_all(ts_local_ns, out)
            return
        symbol = filter_symbol if isinstance(filter_symbol, str) else None
        book_sync.on_l2(self, self.ids, frame.action, rows, symbol, ts_local_ns, out)

    def _resync_all(self, ts_local_ns: int, out: EventBuffer) -> None:
        """A lost frame may have been a book update for any instrument: resync synced books."""
        for local in range(len(self.refs)):
            if self.synced(local):
                self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)

    def _on_reply(self, frame: schemas.Frame) -> None:
        if frame.success or frame.info:
            return
        if frame.error:
            error = classify_ws_error(frame.status, frame.error)
            self.count(Reason.VENUE_ERROR)
            level = logging.WARNING if isinstance(error, RetryableError) else logging.ERROR
            logger.log(level, "bitmex: %s", error)
            return
        self.count(Reason.UNKNOWN_EVENT)
