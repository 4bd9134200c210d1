"""``ChannelPushFeed``: dispatch of ``{"arg":{"channel","instId"},"action","data"}`` frames.

OKX v5 and Bitget v2 share this envelope (and ``{"event": ...}`` acks and errors, and the text
``pong``), so their feeds differ only in tables: the frame and book-data decoders, the
per-channel parsers, the book channels and the venue's book-sync function.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import msgspec
import numpy as np

from bot.adapters.base import ConnectionPolicy, EventBuffer, InstrumentRef, Reason
from bot.adapters.errors import AdapterError, RetryableError
from bot.adapters.wire.feed import MALFORMED_ERRORS, BookFeed, Resubscribe, op_frames
from bot.adapters.wire.scalars import ms_to_ns

logger = logging.getLogger(__name__)

Parser = Callable[[msgspec.Raw, InstrumentRef, int, EventBuffer], int]
BookHandler = Callable[[Any, int, str, Any, int, EventBuffer], None]


class ChannelPushFeed(BookFeed):
    """A ``BookFeed`` for channel/instId push envelopes; subclasses fill the class tables.

    Books recover by resubscribing their book channel (the venue answers with a snapshot).
    """

    frame_decoder: ClassVar[msgspec.json.Decoder[Any]]
    book_data_decoder: ClassVar[msgspec.json.Decoder[Any]]
    parsers: ClassVar[Mapping[str, Parser]]
    book_channels: ClassVar[frozenset[str]]
    known_channels: ClassVar[Mapping[str, str]]
    on_book_entry: ClassVar[BookHandler]
    pong = "pong"
    args_per_frame = 50

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        policy: ConnectionPolicy,
        ws_url: str,
        channels: Sequence[str],
    ) -> None:
        super().__init__(instruments, qty, state, policy, Resubscribe(self.resubscribe_frames),
                         ws_url)  # fmt: skip
        self.configure(channels)

    @staticmethod
    def classify_error(code: str, message: str) -> AdapterError:
        """Return the error a venue ``error``/``notice`` event stands for."""
        raise NotImplementedError

    def configure(self, channels: Sequence[str]) -> None:
        """Validate and store the channel selection (at most one book channel)."""
        unknown = [c for c in channels if c not in self.known_channels]
        if unknown:
            raise ValueError(
                f"unknown {self.venue.label} channels {unknown}; "
                f"known: {sorted(self.known_channels)}"
            )
        books = [c for c in channels if c in self.book_channels]
        if len(books) > 1:
            raise ValueError(f"subscribe at most one {self.venue.label} book channel: {books}")
        self.channels = tuple(channels)
        self.book_channel = books[0] if books else None

    def arg(self, channel: str, ref: InstrumentRef) -> dict[str, str]:
        """Return the subscription argument of one channel and instrument."""
        return {"channel": channel, "instId": ref.spec.symbol}

    def subscribe_messages(self) -> Sequence[str]:
        """Return subscribe frames for every channel and instrument."""
        args = [self.arg(c, r) for c in self.channels for r in self.refs]
        return op_frames("subscribe", args, self.args_per_frame)

    def resubscribe_frames(self, ref: InstrumentRef) -> Sequence[str]:
        """Unsubscribe and subscribe ``ref``'s book channel: the venue answers with a snapshot."""
        arg = [self.arg(self.book_channel or "books", ref)]
        return op_frames("unsubscribe", arg, 1) + op_frames("subscribe", arg, 1)

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame into event rows; count and skip malformed input, never raise."""
        self.stats.messages += 1
        if data == self.pong or data == self.pong.encode():
            return
        try:
            frame = self.frame_decoder.decode(data)
        except MALFORMED_ERRORS as e:
            self.malformed(type(e).__name__, data)
            return
        if frame.event is not None:
            self.on_event(frame.event, str(frame.code), frame.msg)
            return
        if frame.arg is None or bytes(frame.data) == b"null":
            self.malformed("no_arg_or_data", data)
            return
        ref = self.by_symbol.get(frame.arg.instId)
        if ref is None:
            self.count(Reason.UNKNOWN_SYMBOL)
            return
        channel = frame.arg.channel
        if channel in self.book_channels:
            self._on_books(ref, frame, data, ts_local_ns, out)
            return
        parser = self.parsers.get(channel)
        if parser is None:
            self.count(Reason.UNKNOWN_CHANNEL)
            return
        self.run_parser(parser, frame.data, ref, ts_local_ns, out, channel, data)

    def _on_books(
        self, ref: InstrumentRef, frame: Any, data: str | bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        local = self.local[ref.spec.symbol]
        try:
            for entry in self.book_data_decoder.decode(frame.data):
                type(self).on_book_entry(self, local, frame.action, entry, ts_local_ns, out)
        except MALFORMED_ERRORS as e:
            self.malformed(f"books_{type(e).__name__}", data)
            self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)

    def on_event(self, event: str, code: str, message: str) -> None:
        """Handle an ``{"event": ...}`` frame: acks pass, errors and notices are logged+counted."""
        if event in ("subscribe", "unsubscribe", "login"):
            return
        if event in ("error", "notice"):
            error = self.classify_error(code, message)
            self.count(Reason.VENUE_ERROR)
            level = logging.WARNING if isinstance(error, RetryableError) else logging.ERROR
            logger.log(level, "%s %s: %s", self.venue.label, event, error)
            return
        self.count(Reason.UNKNOWN_EVENT)


def apply_book_push(
    feed: BookFeed,
    local: int,
    action: str,
    data: Any,
    *,
    seq: int | None,
    sequence_ok: Callable[[], bool],
    ts_local_ns: int,
    out: EventBuffer,
) -> None:
    """Apply one ``snapshot``/``update`` book entry (``asks``, ``bids``, ``ts``, ``checksum``).

    ``sequence_ok`` is the venue's sequence rule for an update of a synced book; it reports the
    gap itself. On success the entry's ``seq`` becomes the book's last sequence.
    """
    snapshot = action == "snapshot"
    if not snapshot and action != "update":
        feed.malformed("book_action", action)
        feed.invalidate(local, Reason.MALFORMED, ts_local_ns, out)
        return
    row_seq = seq if seq is not None else 0
    if not snapshot:
        if not feed.synced(local):
            feed.drop_unsynced(local, ts_local_ns)
            return
        if not sequence_ok():
            return
    if feed.apply_book_message(
        local, snapshot=snapshot, bids=data.bids, asks=data.asks, ts_exch_ns=ms_to_ns(data.ts),
        ts_local_ns=ts_local_ns, seq=row_seq, checksum=data.checksum, out=out,
    ):  # fmt: skip
        feed.set_last_seq(local, seq)
