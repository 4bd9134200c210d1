"""``BitmexFeed``: BitMEX public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

import msgspec
import numpy as np
import orjson

from bot.adapters.base import ConnectionPolicy, EventBuffer, InstrumentRef, Keepalive, Reason
from bot.adapters.bitmex import book_sync as book
from bot.adapters.bitmex import constants, parse, schemas
from bot.adapters.bitmex.errors import RetryableError, classify_ws_error
from bot.adapters.wire import idmap
from bot.adapters.wire.feed import MALFORMED_ERRORS, BookFeed, Resubscribe, op_frames
from bot.adapters.wire.scalars import iso_to_ns
from bot.core.dtypes import VenueId

logger = logging.getLogger(__name__)
_O = book.Outcome
_DONE = int(book.FrameStatus.DONE)
_PONG = constants.PONG.encode()
_MIN_ROW_BYTES = 16
"""Fewer bytes than the shortest ``orderBookL2`` row: ``len // 16`` rows always fit a frame."""
_ISO_NS = "%Y-%m-%dT%H:%M:%S"

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
    sync_columns = book.N_SY

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
        self.ids = idmap.new_idmap(len(self.refs))
        """Per sync row and side: id -> price tick of every row in the book."""
        self._res = np.zeros(book.N_RES, dtype=np.int64)

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
        idmap.clear(self.ids, local)
        self.table[local, book.SY_BID_IDS] = 0
        self.table[local, book.SY_ASK_IDS] = 0

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame into event rows; count and skip malformed input, never raise.

        ``orderBookL2`` frames go from bytes to the books in one kernel call; the rest (other
        tables, replies, frames the scanner cannot read) through the strict decoders.
        """
        self.stats.messages += 1
        raw = data.encode() if isinstance(data, str) else data
        if raw != _PONG and self._book(raw, ts_local_ns, out) != _DONE:
            self._slow(raw, ts_local_ns, out)

    def _book(self, raw: bytes, ts_local_ns: int, out: EventBuffer) -> int:
        """Run the book kernel on ``raw``; return its ``FrameStatus``."""
        if out.n + len(raw) // _MIN_ROW_BYTES + 4 > out.rows.shape[0]:
            out.reserve(len(raw) // _MIN_ROW_BYTES + 4)
        # the kernels read bytes as a read-only uint8 buffer (numba's stubs say ndarray)
        n, status, note = book.l2_message(
            raw,  # type: ignore[arg-type]
            out.rows, out.n, self.table, self.ids, self.qty, self.state, ts_local_ns, self._res,
        )  # fmt: skip
        if status == _DONE:
            out.n = n
            if note:
                self._noted(note, ts_local_ns, out)
        return status

    def _noted(self, note: int, ts_local_ns: int, out: EventBuffer) -> None:
        if note & book.NOTE_REFUSED:
            self.count(Reason.LEVEL_REFUSED)
        if note & book.NOTE_ATTENTION:
            for local in range(len(self.refs)):
                self._outcome(local, int(self.table[local, book.SY_OUTCOME]), ts_local_ns, out)

    def _outcome(self, local: int, outcome: int, ts_local_ns: int, out: EventBuffer) -> None:
        """Act on what a frame did to book ``local`` (counters, logs, recovery)."""
        if outcome == _O.UNTOUCHED:
            return
        symbol = self.symbol(local)
        bad_id = int(self.table[local, book.SY_BAD_ID])
        if outcome == _O.APPLIED:  # a partial: the book is synced
            self.recovered(local)
        elif outcome == _O.UNSYNCED:
            self.drop_unsynced(local, ts_local_ns)
        elif outcome == _O.CROSSED:
            self.crossed(local, ts_local_ns, out, 0)
        elif outcome == _O.UNKNOWN_ID:
            self.stats.gaps += 1
            logger.warning("bitmex %s: row id %d unknown (or inserted twice); resyncing",
                           symbol, bad_id)  # fmt: skip
            self.invalidate(local, Reason.UNKNOWN_ID, ts_local_ns, out)
        elif outcome == _O.FULL:
            logger.warning("bitmex %s: more than %d ids on a side; id map grown, resyncing "
                           "every book", symbol, idmap.max_live(self.ids))  # fmt: skip
            self.ids = idmap.grown(self.ids)
            self.table[:, book.SY_BID_IDS] = 0
            self.table[:, book.SY_ASK_IDS] = 0
            for k in range(len(self.refs)):
                if k == local or self.synced(k):
                    self.invalidate(k, Reason.MALFORMED, ts_local_ns, out)
        else:
            self.malformed("bitmex_l2_row", f"{symbol} row id {bad_id}")
            self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)

    def _slow(self, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Decode strictly what the book kernel did not take; a readable book frame is
        written out canonically and given to the kernel once more."""
        try:
            frame = schemas.FRAME.decode(raw)
        except MALFORMED_ERRORS as e:
            self.malformed(type(e).__name__, raw)
            self._resync_all(ts_local_ns, out)
            return
        if not frame.table:
            self._on_reply(frame)
            return
        if frame.table in constants.BOOK_TABLES:
            self._canonical_book(frame, raw, ts_local_ns, out)
            return
        parser = _PARSERS.get(frame.table)
        if parser is None:
            self.count(Reason.UNKNOWN_CHANNEL)
            return
        reason = f"bitmex_{frame.table}"
        self.run_parser(parser, frame.data, self.by_symbol, ts_local_ns, out, reason, raw)

    def _canonical_book(
        self, frame: schemas.Frame, raw: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        try:
            rows = schemas.L2_ROWS.decode(frame.data)
        except MALFORMED_ERRORS as e:
            self.malformed(f"bitmex_l2_{type(e).__name__}", raw)
            self._resync_all(ts_local_ns, out)
            return
        canon: dict[str, object] = {"table": frame.table, "action": frame.action,
                                    "data": [_canonical_row(r) for r in rows]}  # fmt: skip
        if frame.filter:
            canon["filter"] = frame.filter
        if self._book(orjson.dumps(canon), ts_local_ns, out) != _DONE:
            self.malformed("bitmex_l2_rejected", raw)
            self._resync_all(ts_local_ns, out)

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


def _canonical_row(row: schemas.L2Row) -> dict[str, object]:
    """One decoded row in the form the kernel reads (prices as exact decimal strings, times as
    ``...Z`` with microseconds; a time that does not parse is kept for the kernel to refuse)."""
    out: dict[str, object] = {"symbol": row.symbol, "id": row.id, "side": row.side}
    if row.size is not None:
        out["size"] = row.size
    if row.price is not None:
        out["price"] = format(row.price, "f")
    if row.timestamp:
        try:
            ns = iso_to_ns(row.timestamp)
            seconds, rest = divmod(ns, 1_000_000_000)
            stamp = datetime.fromtimestamp(seconds, UTC).strftime(_ISO_NS)
            out["timestamp"] = f"{stamp}.{rest // 1000:06d}Z"
        except (ValueError, OverflowError, OSError):
            out["timestamp"] = row.timestamp
    return out
