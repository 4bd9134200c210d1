"""``BookFeed``: the one base of every venue feed (the ``MarketDataFeed`` bookkeeping, once).

A venue feed is mostly declarations: its URLs, its subscribe frames and how it reads a frame.
Everything else lives here, the same for all six venues:

* the per-instrument sync table (``bot.adapters.wire.layout``) that venue kernels read and
  write, built from the instruments' grids and symbols; every book starts invalid;
* outgoing frames (``queue`` / ``take_outgoing``), counting (``count``, ``malformed``, the
  ``Reason`` vocabulary of ``bot.adapters.base``) and logging;
* invalidation: ``invalidate`` marks one book invalid in the shared state array, emits a
  ``BOOK_INVALID`` row, counts the reason and starts the feed's **recovery**, one of
  ``RestSnapshot`` (Binance: fetch a REST depth snapshot, buffer diffs meanwhile) or
  ``Resubscribe`` (every other venue: unsubscribe + subscribe, the venue answers with a
  snapshot over the WebSocket, asked again if no snapshot comes within ``RESYNC_RETRY_NS``).
  ``stats.resyncs`` counts recovery requests; other instruments are never touched;
* ``on_connect``, ``resync``, ``invalid_instruments``, ``pending_snapshots``, ``on_snapshot``;
* for venues whose level arrays go through the shared scanner (OKX, Bitget, BingX): one kernel
  call per book message for levels, the venue checksum and the crossed-book check
  (``apply_book_message``).

Every accepted book message stamps ``state[inst, ST_LAST_TS]`` with its receive time, which the
supervisor's per-instrument staleness monitor watches; ``resync`` is its way into recovery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import msgspec
import numpy as np
import orjson

from bot.adapters.base import (
    ConnectionPolicy,
    EventBuffer,
    FeedStats,
    InstrumentRef,
    Reason,
    SnapshotRequest,
)
from bot.adapters.wire import checksum as wire_checksum
from bot.adapters.wire import levels
from bot.adapters.wire.layout import (
    N_COMMON,
    PHASE_SYNCED,
    PHASE_WAIT,
    SY_HAS_SEQ,
    SY_LAST_SEQ,
    SY_PHASE,
    SY_PX_FMT,
    SY_SZ_FMT,
)
from bot.adapters.wire.tables import new_sync_table
from bot.core.book import ST_LAST_TS, ST_VALID, BookCheck, check_book
from bot.core.dtypes import EventFlag, EventKind, VenueId

logger = logging.getLogger(__name__)

MALFORMED_ERRORS = (
    msgspec.DecodeError,
    msgspec.ValidationError,
    ValueError,
    KeyError,
    OverflowError,
    UnicodeDecodeError,
)
"""What decoding a bad frame can raise; on_message counts these as malformed, nothing else."""

RESYNC_RETRY_NS = 10_000_000_000
"""Resubscribe again if updates keep arriving this long after a resync request without a
snapshot (the request or its answer was lost)."""

_BATCH_END = int(EventFlag.BATCH_END)
_CROSSED = int(BookCheck.CROSSED)
_LOCKED = int(BookCheck.LOCKED)
_OUT_APPLIED = int(levels.Outcome.APPLIED)
_OUT_LEVELS = int(levels.Outcome.LEVELS)
_OUT_CHECKSUM_FORMAT = int(levels.Outcome.CHECKSUM_FORMAT)
_OUT_CROSSED = int(levels.Outcome.CROSSED)


class RestSnapshot:
    """Recovery by REST snapshot: at most one request per book in flight."""

    uses_rest = True

    def __init__(self, path_of: Callable[[InstrumentRef], str]) -> None:
        self._path_of = path_of
        self._wanted: set[int] = set()
        self._pending: list[SnapshotRequest] = []

    def request(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """Ask for a snapshot of book ``local`` unless one is already wanted."""
        if local in self._wanted:
            return
        self._wanted.add(local)
        ref = feed.refs[local]
        self._pending.append(SnapshotRequest(ref.instrument, self._path_of(ref)))
        feed.stats.resyncs += 1

    def again(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """Ask again (the answer was unusable)."""
        self._wanted.discard(local)
        self.request(feed, local, ts_local_ns)

    def on_connect(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """A new connection: the book needs a snapshot taken after it."""
        self.request(feed, local, ts_local_ns)

    def answered(self, local: int) -> bool:
        """Return whether a snapshot of ``local`` was awaited (and stop awaiting it)."""
        if local not in self._wanted:
            return False
        self._wanted.discard(local)
        return True

    def overdue(self, local: int, ts_local_ns: int) -> bool:
        """REST requests have their own deadline in the supervisor: never overdue here."""
        return False

    def take(self) -> Sequence[SnapshotRequest]:
        """Return and clear the requests to send."""
        if not self._pending:
            return ()
        pending, self._pending = self._pending, []
        return pending

    def reset(self) -> None:
        """Forget every request (the connection carrying the books starts over)."""
        self._wanted.clear()
        self._pending.clear()


class Resubscribe:
    """Recovery by resubscribing: the venue answers a fresh subscription with a snapshot."""

    uses_rest = False

    def __init__(
        self,
        frames_of: Callable[[InstrumentRef], Sequence[str]],
        retry_ns: int = RESYNC_RETRY_NS,
    ) -> None:
        self._frames_of = frames_of
        self._retry_ns = retry_ns
        self._requested: dict[int, int] = {}

    def request(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """Queue book ``local``'s unsubscribe + subscribe frames unless already asked."""
        if local in self._requested:
            return
        self.again(feed, local, ts_local_ns)

    def again(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """Queue the frames again (the earlier request went unanswered)."""
        self._requested[local] = ts_local_ns
        feed.stats.resyncs += 1
        for frame in self._frames_of(feed.refs[local]):
            feed.queue(frame)

    def on_connect(self, feed: BookFeed, local: int, ts_local_ns: int) -> None:
        """A new connection's subscription brings the snapshot: nothing to ask."""
        self._requested.pop(local, None)

    def answered(self, local: int) -> bool:
        """A snapshot arrived over the WebSocket: stop waiting. REST answers are never awaited."""
        self._requested.pop(local, None)
        return False

    def overdue(self, local: int, ts_local_ns: int) -> bool:
        """Return whether ``local``'s request has gone unanswered for the retry interval."""
        asked = self._requested.get(local)
        return asked is not None and ts_local_ns - asked >= self._retry_ns

    def take(self) -> Sequence[SnapshotRequest]:
        """Return no REST requests."""
        return ()

    def reset(self) -> None:
        """Forget every request."""
        self._requested.clear()


Recovery = RestSnapshot | Resubscribe


def op_frames(op: str, args: Sequence[Any], per_frame: int) -> list[str]:
    """Return ``{"op": op, "args": [...]}`` frames of at most ``per_frame`` args each.

    OKX, Bitget, Bybit and BitMEX (un)subscribe with this request shape.
    """
    return [
        orjson.dumps({"op": op, "args": args[k : k + per_frame]}).decode()
        for k in range(0, len(args), per_frame)
    ]


class BookFeed:
    """Base of every venue feed; see the module docstring."""

    venue: VenueId
    sync_columns: ClassVar[int] = N_COMMON
    """Columns of the sync table (a venue kernel adds its own from ``N_COMMON``)."""
    checksums: ClassVar[bool] = False
    """Whether the venue's book messages carry a CRC32 checksum to verify (OKX, Bitget)."""

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        policy: ConnectionPolicy,
        recovery: Recovery,
        ws_url: str,
    ) -> None:
        if not instruments:
            raise ValueError("a feed needs at least one instrument")
        for ref in instruments:
            if not 0 <= ref.instrument < state.shape[0]:
                raise ValueError(
                    f"instrument id {ref.instrument} ({ref.spec.symbol}) is outside the books "
                    f"array of {state.shape[0]} instruments"
                )
        self.qty = qty
        self.state = state
        self.policy = policy
        self.recovery = recovery
        self.ws_url = ws_url
        self.stats = FeedStats()
        self.refs = tuple(instruments)
        self.by_symbol = {ref.spec.symbol: ref for ref in self.refs}
        self.local = {ref.spec.symbol: k for k, ref in enumerate(self.refs)}
        """Symbol -> row of the sync table."""
        self._local_of = {ref.instrument: k for k, ref in enumerate(self.refs)}
        self.table = new_sync_table(self.refs, self.sync_columns)
        self.table[:, SY_PX_FMT] = wire_checksum.FMT_UNKNOWN
        self.table[:, SY_SZ_FMT] = wire_checksum.FMT_UNKNOWN
        self._venue_id = int(self.venue)
        self._outgoing: list[str] = []
        self._obs = wire_checksum.new_observations()
        self._scratch = wire_checksum.new_scratch()
        for ref in self.refs:
            state[ref.instrument, ST_VALID] = 0

    # -- MarketDataFeed contract -------------------------------------------------------------

    def ws_urls(self) -> Sequence[str]:
        """Return the feed's WebSocket URL (one connection carries every stream)."""
        return (self.ws_url,)

    def subscribe_messages(self) -> Sequence[str]:
        """Return the frames to send after connecting (none when the URL names the streams)."""
        return ()

    def books_on(self, url: str) -> Sequence[int]:
        """Return the sync rows whose books travel on connection ``url`` (default: all)."""
        return range(len(self.refs))

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """Every book on that connection is invalid until recovered (``connect`` counted)."""
        books = self.books_on(url)
        if not books:
            return
        self._outgoing.clear()
        self.recovery.reset()
        for local in books:
            self._mark_invalid(local, Reason.CONNECT, ts_local_ns, out, None)
            self.recovery.on_connect(self, local, ts_local_ns)

    def pending_snapshots(self) -> Sequence[SnapshotRequest]:
        """Return and clear the REST snapshots the recovery is waiting for."""
        return self.recovery.take()

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Apply a REST snapshot the feed asked for; count and ignore any other."""
        local = self._local_of.get(request.instrument)
        if local is None or not self.recovery.answered(local):
            self.count(Reason.UNEXPECTED_SNAPSHOT)
            return
        self.apply_snapshot(local, body, ts_local_ns, out)

    def invalid_instruments(self) -> Sequence[int]:
        """Return the instruments whose book is not in sync right now."""
        return [r.instrument for r in self.refs if self.state[r.instrument, ST_VALID] == 0]

    def take_outgoing(self) -> Sequence[str]:
        """Return and clear the frames to send now (resubscribes, heartbeat replies)."""
        if not self._outgoing:
            return ()
        frames, self._outgoing = self._outgoing, []
        return frames

    def resync(self, instrument: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate ``instrument``'s book and recover it (supervisor: stale, overflow)."""
        local = self._local_of.get(instrument)
        if local is None:
            self.count(Reason.RESYNC_UNKNOWN_INSTRUMENT)
            return
        logger.warning("%s %s: resync requested (%s)", self.venue.label, self.symbol(local), reason)
        self.invalidate(local, reason, ts_local_ns, out)

    # -- for venue feeds ---------------------------------------------------------------------

    def apply_snapshot(self, local: int, body: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Apply an awaited REST snapshot of sync row ``local`` (REST-recovering venues)."""
        raise NotImplementedError(f"{self.venue.label} books do not recover from REST")

    def forget(self, local: int) -> None:
        """Drop venue-specific per-book state on invalidation (buffered diffs, id maps)."""

    def symbol(self, local: int) -> str:
        """Return the venue symbol of sync row ``local``."""
        return self.refs[local].spec.symbol

    def synced(self, local: int) -> bool:
        """Return whether sync row ``local``'s book is in sync."""
        return bool(self.table[local, SY_PHASE] == PHASE_SYNCED)

    def last_seq(self, local: int) -> int | None:
        """Return the venue sequence of the last applied book message, if the venue sent one."""
        return int(self.table[local, SY_LAST_SEQ]) if self.table[local, SY_HAS_SEQ] else None

    def set_last_seq(self, local: int, seq: int | None) -> None:
        """Record the venue sequence of the message just applied (None: it carried none)."""
        self.table[local, SY_HAS_SEQ] = 0 if seq is None else 1
        self.table[local, SY_LAST_SEQ] = 0 if seq is None else seq

    def queue(self, frame: str) -> None:
        """Queue one outgoing frame."""
        self._outgoing.append(frame)

    def count(self, reason: str) -> None:
        """Count one occurrence of ``reason`` (metrics label)."""
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1

    def malformed(self, reason: str, data: str | bytes | None = None) -> None:
        """Count a frame that could not be parsed and log its start (never the whole frame)."""
        self.stats.malformed += 1
        self.count(reason)
        if data is not None:
            logger.warning("%s: dropped malformed frame (%s): %r", self.venue.label, reason,
                           data[:120])  # fmt: skip

    def run_parser(
        self,
        parser: Callable[[Any, Any, int, EventBuffer], int],
        data: msgspec.Raw,
        target: Any,
        ts_local_ns: int,
        out: EventBuffer,
        reason: str,
        frame: str | bytes,
    ) -> None:
        """Run a scalar-stream parser; on bad input roll its rows back and count the frame."""
        start = out.n
        try:
            parser(data, target, ts_local_ns, out)
        except MALFORMED_ERRORS as e:
            out.n = start
            self.malformed(f"{reason}_{type(e).__name__}", frame)

    def invalidate(
        self, local: int, reason: str, ts_local_ns: int, out: EventBuffer, seq: int | None = None
    ) -> None:
        """Mark book ``local`` invalid (BOOK_INVALID row, ``reason`` counted) and recover it."""
        self._mark_invalid(local, reason, ts_local_ns, out, seq)
        self.recovery.request(self, local, ts_local_ns)

    def _mark_invalid(
        self, local: int, reason: str, ts_local_ns: int, out: EventBuffer, seq: int | None
    ) -> None:
        inst = self.refs[local].instrument
        row_seq = int(self.table[local, SY_LAST_SEQ]) if seq is None else seq
        self.table[local, SY_PHASE] = PHASE_WAIT
        self.table[local, SY_HAS_SEQ] = 0
        self.forget(local)
        self.state[inst, ST_VALID] = 0
        out.append(EventKind.BOOK_INVALID, inst, 0, ts_local_ns, flags=_BATCH_END,
                   venue=self.venue, seq=row_seq)  # fmt: skip
        self.count(reason)

    def recovered(self, local: int) -> None:
        """A snapshot made book ``local`` valid: it is synced and no longer awaited."""
        self.table[local, SY_PHASE] = PHASE_SYNCED
        self.recovery.answered(local)

    def drop_unsynced(self, local: int, ts_local_ns: int) -> None:
        """Drop and count an update that arrived while the book waits for its snapshot; ask
        again if the recovery request has gone unanswered for too long."""
        self.stats.dropped_stale += 1
        if self.recovery.overdue(local, ts_local_ns):
            logger.warning("%s %s: no snapshot %.0f s after the resync request; asking again",
                           self.venue.label, self.symbol(local), RESYNC_RETRY_NS / 1e9)  # fmt: skip
            self.recovery.again(self, local, ts_local_ns)

    def gap(
        self, local: int, ts_local_ns: int, out: EventBuffer, *, expected: int, got: int
    ) -> None:
        """Handle a sequence gap: count, log both numbers, invalidate."""
        self.stats.gaps += 1
        logger.warning("%s %s: sequence gap: expected %d, got %d; resyncing",
                       self.venue.label, self.symbol(local), expected, got)  # fmt: skip
        self.invalidate(local, Reason.GAP, ts_local_ns, out, got)

    def crossed(self, local: int, ts_local_ns: int, out: EventBuffer, seq: int) -> None:
        """Handle a crossed or locked book after a message: count, log, invalidate."""
        self.stats.crossed += 1
        logger.warning("%s %s: book crossed or locked at seq %d; resyncing",
                       self.venue.label, self.symbol(local), seq)  # fmt: skip
        self.invalidate(local, Reason.CROSSED, ts_local_ns, out, seq)

    def check_crossed(self, local: int, ts_local_ns: int, out: EventBuffer, seq: int) -> bool:
        """Invalidate and return False if book ``local`` is crossed or locked."""
        check = check_book(self.state, self.refs[local].instrument)
        if check in (_CROSSED, _LOCKED):
            self.crossed(local, ts_local_ns, out, seq)
            return False
        return True

    # -- book messages ------------------------------------------------------------------------

    def apply_book_message(
        self,
        local: int,
        *,
        snapshot: bool,
        bids: bytes | memoryview | msgspec.Raw,
        asks: bytes | memoryview | msgspec.Raw,
        ts_exch_ns: int,
        ts_local_ns: int,
        seq: int,
        checksum: int | None,
        out: EventBuffer,
    ) -> bool:
        """Apply one message's level arrays (OKX, Bitget, BingX) in one kernel call.

        Levels to rows and book, the venue checksum (``checksums`` venues, when the message
        carries one) and the crossed-book check; a snapshot that passes makes the book synced.
        Return False when the book was invalidated (malformed levels, checksum, crossed).
        """
        b = np.frombuffer(bids, dtype=np.uint8)
        a = np.frombuffer(asks, dtype=np.uint8)
        out.reserve(levels.rows_needed(b.shape[0] + a.shape[0]))
        n, outcome, status, refused = levels.book_message(
            b, a, snapshot, self._venue_id, self.table, local, ts_exch_ns, ts_local_ns, seq,
            out.rows, out.n, self.qty, self.state, self._obs, self._scratch, self.checksums,
            checksum or 0, checksum is not None,
        )  # fmt: skip
        if outcome == _OUT_APPLIED:
            out.n = n
            if refused:
                self.count(Reason.LEVEL_REFUSED)
            if snapshot:
                self.recovery.answered(local)
            return True
        if outcome == _OUT_LEVELS:
            self.count(f"levels_{levels.status_name(status)}")
            self.stats.malformed += 1
            self.invalidate(local, Reason.MALFORMED, ts_local_ns, out, seq)
            return False
        out.n = n
        if outcome == _OUT_CROSSED:
            self.crossed(local, ts_local_ns, out, seq)
            return False
        self.stats.checksum_failures += 1
        if outcome == _OUT_CHECKSUM_FORMAT:
            logger.warning("%s %s: number format changed, checksum unverifiable (seq %d); "
                           "resyncing", self.venue.label, self.symbol(local), seq)  # fmt: skip
            self.invalidate(local, Reason.CHECKSUM_FORMAT, ts_local_ns, out, seq)
            return False
        actual = wire_checksum.book_checksum(self.qty, self.state, self.table, local,
                                             self._scratch)  # fmt: skip
        logger.warning("%s %s: checksum mismatch at seq %d: venue %d, book %d; resyncing",
                       self.venue.label, self.symbol(local), seq, checksum, actual)  # fmt: skip
        self.invalidate(local, Reason.CHECKSUM, ts_local_ns, out, seq)
        return False

    def finish_book_message(
        self, local: int, *, snapshot: bool, ts_local_ns: int, out: EventBuffer, seq: int = 0
    ) -> bool:
        """After rows a venue applied itself (BitMEX): stamp, check crossing, sync a snapshot.

        Stamps ``ST_LAST_TS`` first: the message arrived, whatever its checks say.
        """
        self.state[self.refs[local].instrument, ST_LAST_TS] = ts_local_ns
        if not self.check_crossed(local, ts_local_ns, out, seq):
            return False
        if snapshot:
            self.recovered(local)
        return True
