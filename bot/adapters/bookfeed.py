"""Shared machinery of feeds whose book snapshot comes over the WebSocket (OKX, Bitget, BingX,
BitMEX): per-instrument sync state, applying level arrays to the shared books, checksum and
crossed-book checks, invalidation with a resubscribe request, and counters.

A venue feed decodes its own envelopes and sequence fields, then calls ``apply_levels`` (level
arrays as raw JSON bytes) or appends rows itself (BitMEX) and calls ``finish_book_message``.
Everything that goes wrong ends in ``invalidate``: the instrument's book is marked invalid in the
shared state array, a ``BOOK_INVALID`` row is emitted, the reason is counted and logged, and the
venue's unsubscribe + subscribe frames for that instrument are queued for ``take_outgoing``
(the fresh subscription starts with a snapshot). Other instruments are not touched.

Every accepted book message stamps ``state[inst, ST_LAST_TS]`` with its receive time (also when it
carries no level, like OKX's heartbeat update), which the supervisor's per-instrument staleness
monitor watches; ``resync`` is the supervisor's way in to the same recovery path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import numpy as np
import orjson

from bot.adapters import levels
from bot.adapters.base import (
    ConnectionPolicy,
    EventBuffer,
    FeedStats,
    InstrumentRef,
    SnapshotRequest,
)
from bot.adapters.jsonscan import apply_rows
from bot.core.book import ST_LAST_TS, ST_VALID, BookCheck, check_book
from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.ticks import POW10

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
_SNAPSHOT = int(EventFlag.SNAPSHOT)
_CROSSED = int(BookCheck.CROSSED)
_LOCKED = int(BookCheck.LOCKED)


@dataclass(slots=True)
class BookSync:
    """Sync state of one instrument's book."""

    ref: InstrumentRef
    synced: bool = False
    """A snapshot has been applied since the last connect or invalidation."""
    last_seq: int | None = None
    """Venue sequence of the last applied message (None when the venue sends none)."""
    px_fmt: int = levels.FMT_UNKNOWN
    sz_fmt: int = levels.FMT_UNKNOWN
    resync_requested: bool = False
    requested_at_ns: int = 0
    """Local time of the last resubscribe request (for the retry)."""


class WsBookFeed:
    """Base of the feeds whose books resync by resubscribing; see the module docstring."""

    venue: VenueId
    reconnect_requested = False
    """Set when the venue announces a connection close (see ``MarketDataFeed``)."""
    checksums = False
    """Whether the venue's book messages carry a CRC32 checksum to verify (OKX, Bitget)."""

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        policy: ConnectionPolicy,
        url: str,
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
        self.url = url
        self.stats = FeedStats()
        self.refs = tuple(instruments)
        self.by_symbol = {ref.spec.symbol: ref for ref in instruments}
        self.sync = {ref.instrument: BookSync(ref) for ref in instruments}
        self._outgoing: list[str] = []
        self._obs = levels.new_observations()
        self._scratch_px = np.zeros((2, levels.CHECKSUM_LEVELS), dtype=np.int64)
        self._scratch_sz = np.zeros((2, levels.CHECKSUM_LEVELS), dtype=np.int64)
        self._scratch_text = np.zeros(levels.CHECKSUM_BUFFER, dtype=np.uint8)

    # -- MarketDataFeed contract -------------------------------------------------------------

    def ws_urls(self) -> Sequence[str]:
        """Return the feed's WebSocket URL (every book and stream is on that one connection)."""
        return (self.url,)

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """Forget sync state: every book waits for the snapshot its new subscription sends.

        These venues carry every book on their one connection, so ``url`` is not needed.
        """
        self._outgoing.clear()
        for inst, sync in self.sync.items():
            sync.synced = False
            sync.last_seq = None
            sync.resync_requested = False
            self.forget(sync)
            self.state[inst, ST_VALID] = 0
            self.count("connect")  # one per book, as every venue counts it
            out.append(
                EventKind.BOOK_INVALID, inst, 0, ts_local_ns, flags=_BATCH_END, venue=self.venue
            )

    def on_disconnect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """Invalidate every book: the one connection that carried them dropped."""
        self._outgoing.clear()
        for inst, sync in self.sync.items():
            sync.synced = False
            sync.last_seq = None
            sync.resync_requested = False
            self.forget(sync)
            self.state[inst, ST_VALID] = 0
            self.count("disconnect")
            out.append(
                EventKind.BOOK_INVALID, inst, 0, ts_local_ns, flags=_BATCH_END, venue=self.venue
            )

    def pending_snapshots(self) -> Sequence[SnapshotRequest]:
        """Return no REST snapshots: this venue's snapshots come over the WebSocket."""
        return ()

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Count and ignore: the feed never asks for a REST snapshot."""
        self.count("unexpected_rest_snapshot")

    def invalid_instruments(self) -> Sequence[int]:
        """Return the instruments whose book is not in sync right now."""
        return [i for i, s in self.sync.items() if not s.synced or self.state[i, ST_VALID] == 0]

    def take_outgoing(self) -> Sequence[str]:
        """Return and clear the frames to send now (resubscribes, heartbeat replies)."""
        if not self._outgoing:
            return ()
        frames, self._outgoing = self._outgoing, []
        return frames

    def resync(self, instrument: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate ``instrument``'s book and resubscribe it (supervisor: stale, overflow)."""
        sync = self.sync.get(instrument)
        if sync is None:
            self.count("resync_unknown_instrument")
            return
        logger.warning(
            "%s %s: resync requested (%s)", self.venue.label, sync.ref.spec.symbol, reason
        )
        self.invalidate(sync, reason, ts_local_ns, out)

    # -- for venue feeds ---------------------------------------------------------------------

    def resubscribe_frames(self, ref: InstrumentRef) -> Sequence[str]:
        """Return the frames that make the venue send a fresh book snapshot for ``ref``."""
        raise NotImplementedError

    @staticmethod
    def op_frames(op: str, args: Sequence[Any], per_frame: int) -> list[str]:
        """Return ``{"op": op, "args": [...]}`` frames of at most ``per_frame`` args each.

        OKX, Bitget and BitMEX (un)subscribe with this request shape.
        """
        return [
            orjson.dumps({"op": op, "args": args[k : k + per_frame]}).decode()
            for k in range(0, len(args), per_frame)
        ]

    def forget(self, sync: BookSync) -> None:
        """Drop venue-specific per-book state before a resync (BitMEX: the id -> price map)."""

    def queue(self, frame: str) -> None:
        """Queue one outgoing frame."""
        self._outgoing.append(frame)

    def count(self, reason: str) -> None:
        """Count one occurrence of ``reason`` (metrics label)."""
        self.stats.by_reason[reason] = self.stats.by_reason.get(reason, 0) + 1

    def malformed(self, reason: str, data: str | bytes) -> None:
        """Count a frame that could not be parsed and log its start (never the whole frame)."""
        self.stats.malformed += 1
        self.count(reason)
        logger.warning("%s: dropped malformed frame (%s): %r", self.venue.label, reason, data[:120])

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
        self,
        sync: BookSync,
        reason: str,
        ts_local_ns: int,
        out: EventBuffer,
        seq: int = 0,
    ) -> None:
        """Mark the book invalid, emit BOOK_INVALID, count ``reason`` and ask for a resync."""
        inst = sync.ref.instrument
        sync.synced = False
        sync.last_seq = None
        self.forget(sync)
        self.state[inst, ST_VALID] = 0
        out.append(
            EventKind.BOOK_INVALID,
            inst,
            0,
            ts_local_ns,
            flags=_BATCH_END,
            venue=self.venue,
            seq=seq,
        )
        self.count(reason)
        if not sync.resync_requested:
            self._request_resync(sync, ts_local_ns)

    def _request_resync(self, sync: BookSync, ts_local_ns: int) -> None:
        sync.resync_requested = True
        sync.requested_at_ns = ts_local_ns
        self.stats.resyncs += 1
        self._outgoing.extend(self.resubscribe_frames(sync.ref))

    def drop_unsynced(self, sync: BookSync, ts_local_ns: int) -> None:
        """Drop and count an update that arrived while the book waits for its snapshot; ask
        again if an earlier resync request has gone unanswered for ``RESYNC_RETRY_NS``."""
        self.stats.dropped_stale += 1
        if sync.resync_requested and ts_local_ns - sync.requested_at_ns >= RESYNC_RETRY_NS:
            logger.warning(
                "%s %s: no snapshot %.0f s after the resync request; asking again",
                self.venue.label, sync.ref.spec.symbol, RESYNC_RETRY_NS / 1e9,
            )  # fmt: skip
            self._request_resync(sync, ts_local_ns)

    def apply_levels(
        self,
        sync: BookSync,
        *,
        snapshot: bool,
        bids: bytes | memoryview | msgspec.Raw,
        asks: bytes | memoryview | msgspec.Raw,
        ts_exch_ns: int,
        ts_local_ns: int,
        seq: int,
        out: EventBuffer,
    ) -> bool:
        """Emit and apply one message's levels; return False (rows rolled back) if malformed.

        A snapshot starts with ``BOOK_CLEAR``; its rows carry ``SNAPSHOT``. The last row carries
        ``BATCH_END``. The caller then runs ``finish_book_message``.
        """
        ref = sync.ref
        start = out.n
        flags = _SNAPSHOT if snapshot else 0
        if snapshot:
            out.append(
                EventKind.BOOK_CLEAR, ref.instrument, ts_exch_ns, ts_local_ns,
                flags=flags, venue=self.venue, seq=seq,
            )  # fmt: skip
        levels.reset_observations(self._obs)
        for kind, raw in ((EventKind.BOOK_BID, bids), (EventKind.BOOK_ASK, asks)):
            buf = np.frombuffer(raw, dtype=np.uint8)
            out.reserve(buf.shape[0] // 5 + 1)
            n, status = levels.scan_levels(
                buf, 0, buf.shape[0], out.rows, out.n, int(kind), flags, int(self.venue),
                ref.instrument, ts_exch_ns, ts_local_ns, seq,
                ref.tick.mantissa, ref.tick.exponent, ref.lot.mantissa, ref.lot.exponent,
                POW10, self._obs,
            )  # fmt: skip
            if status != 0:
                out.n = start
                self.count(f"levels_{levels.scan_status_name(status)}")
                return False
            out.n = n
        if out.n > start:
            out.rows["flags"][out.n - 1] |= _BATCH_END
        refused = apply_rows(self.qty, self.state, out.rows, start, out.n)
        if refused:
            self.count("level_refused")
        if snapshot and self.checksums:
            sync.px_fmt = levels.learn_format(self._obs, px=True)
            sync.sz_fmt = levels.learn_format(self._obs, px=False)
        return True

    def verify_checksum(
        self, sync: BookSync, expected: int, ts_local_ns: int, out: EventBuffer, seq: int = 0
    ) -> bool:
        """Check the venue checksum of ``sync``'s book; invalidate and return False on mismatch.

        A checksum of 0 means the venue sent none (OKX deprecated it in 2026; Bitget snapshots).
        """
        if expected == 0:
            return True
        formats_hold = levels.format_holds(self._obs, True, sync.px_fmt) and levels.format_holds(
            self._obs, False, sync.sz_fmt
        )
        if not formats_hold or sync.px_fmt == levels.FMT_UNKNOWN:
            self.stats.checksum_failures += 1
            logger.warning(
                "%s %s: number format changed, checksum unverifiable (seq %d); resyncing",
                self.venue.label, sync.ref.spec.symbol, seq,
            )  # fmt: skip
            self.invalidate(sync, "checksum_format", ts_local_ns, out, seq)
            return False
        ref = sync.ref
        actual = levels.book_checksum(
            self.qty, self.state, ref.instrument,
            ref.tick.mantissa, ref.tick.exponent, ref.lot.mantissa, ref.lot.exponent,
            sync.px_fmt, sync.sz_fmt, POW10, levels.CRC_TABLE,
            self._scratch_px, self._scratch_sz, self._scratch_text,
        )  # fmt: skip
        if actual != expected:
            self.stats.checksum_failures += 1
            logger.warning(
                "%s %s: checksum mismatch at seq %d: venue %d, book %d; resyncing",
                self.venue.label, ref.spec.symbol, seq, expected, actual,
            )  # fmt: skip
            self.invalidate(sync, "checksum", ts_local_ns, out, seq)
            return False
        return True

    def check_crossed(self, sync: BookSync, ts_local_ns: int, out: EventBuffer, seq: int) -> bool:
        """Invalidate and return False if ``sync``'s book is crossed or locked."""
        check = check_book(self.state, sync.ref.instrument)
        if check in (_CROSSED, _LOCKED):
            self.stats.crossed += 1
            logger.warning(
                "%s %s: book %s at seq %d; resyncing",
                self.venue.label, sync.ref.spec.symbol, BookCheck(check).name.lower(), seq,
            )  # fmt: skip
            self.invalidate(sync, "crossed", ts_local_ns, out, seq)
            return False
        return True

    def finish_book_message(
        self,
        sync: BookSync,
        *,
        snapshot: bool,
        checksum: int | None,
        ts_local_ns: int,
        out: EventBuffer,
        seq: int = 0,
    ) -> bool:
        """Run the post-update checks; on success a snapshot makes the book synced again.

        Stamps ``ST_LAST_TS`` first: the message arrived, whatever its checks say.
        """
        self.state[sync.ref.instrument, ST_LAST_TS] = ts_local_ns
        if checksum is not None and not self.verify_checksum(sync, checksum, ts_local_ns, out, seq):
            return False
        if not self.check_crossed(sync, ts_local_ns, out, seq):
            return False
        if snapshot:
            sync.synced = True
            sync.resync_requested = False
        return True

    def gap(
        self, sync: BookSync, ts_local_ns: int, out: EventBuffer, *, expected: int, got: int
    ) -> None:
        """Handle a sequence gap: count, log both numbers, invalidate."""
        self.stats.gaps += 1
        logger.warning(
            "%s %s: sequence gap: expected %d, got %d; resyncing",
            self.venue.label, sync.ref.spec.symbol, expected, got,
        )  # fmt: skip
        self.invalidate(sync, "gap", ts_local_ns, out, got)
