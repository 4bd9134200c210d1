"""The contract between venue adapters and the ingest supervisor.

An adapter turns a venue's bytes into event rows (``bot.core.dtypes.EVENT_DTYPE``) and keeps
each instrument's book in sync by the venue's own rules; it does no I/O itself. The ingest layer
(``bot.ingest``) owns sockets, keepalive timers, reconnects and REST calls, and drives any
adapter through ``MarketDataFeed``. That split lets parsers and book sync be tested on captured
messages without a socket, and lets ``tickbot convert`` replay raw captures through the very
same code as live trading.

Books: a feed is given the shared book arrays (``bot.core.book.new_books``) of its instruments and
applies every book row it emits with the book kernels as it goes, because verifying a checksum
(OKX, Bitget) or spotting a crossed book needs the book as it stands after each message. On a gap,
checksum mismatch, crossed book or stale stream it sets ``state[inst, ST_VALID] = 0``, emits a
``BOOK_INVALID`` row and asks for a snapshot (``pending_snapshots``); the snapshot arrives as a
``BOOK_CLEAR`` row plus ``SNAPSHOT``-flagged levels and makes the book valid again. Downstream
(signals, strategy) reads the books and never applies book rows a second time. Offline
(``tickbot convert``) the feed is run the same way with books of its own and the emitted rows are
written to an event file.

Connection rules are data, not code: a feed declares a ``ConnectionPolicy`` (keepalive, staleness,
session length, frame compression, REST base URL) and the supervisor enforces it. Frames the feed
must send in answer to what it read (BingX's ``Pong``, a Bybit resubscribe after a gap) are queued
by the feed and drained with ``take_outgoing`` after every call; the supervisor writes them on the
connection that delivered the message.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, VenueId
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import Grid


class EventBuffer:
    """A preallocated run of event rows that parsers fill and the core drains.

    Numba kernels write straight into ``rows`` from index ``n`` and return the new count, so a
    message costs no Python object per level. ``grow`` is the only allocation, and it is rare.
    """

    __slots__ = ("n", "rows")

    def __init__(self, capacity: int = 4096) -> None:
        self.rows = np.zeros(capacity, dtype=EVENT_DTYPE)
        self.n = 0

    def reserve(self, extra: int) -> None:
        """Make room for ``extra`` more rows (doubling the array if needed)."""
        need = self.n + extra
        if need > self.rows.shape[0]:
            bigger = np.zeros(max(need, 2 * self.rows.shape[0]), dtype=EVENT_DTYPE)
            bigger[: self.n] = self.rows[: self.n]
            self.rows = bigger

    def append(
        self,
        kind: int,
        instrument: int,
        ts_exch_ns: int,
        ts_local_ns: int,
        price_tick: int = 0,
        qty_lot: int = 0,
        *,
        flags: int = 0,
        venue: int = 0,
        seq: int = 0,
        aux: int = 0,
    ) -> None:
        """Append one row (slow path: snapshots, trades, tests)."""
        self.reserve(1)
        row = self.rows[self.n]
        row["kind"] = kind
        row["flags"] = flags
        row["venue"] = venue
        row["instrument"] = instrument
        row["ts_exch_ns"] = ts_exch_ns
        row["ts_local_ns"] = ts_local_ns
        row["price_tick"] = price_tick
        row["qty_lot"] = qty_lot
        row["seq"] = seq
        row["aux"] = aux
        self.n += 1

    def view(self) -> np.ndarray:
        """Return the filled rows (a view, valid until the next ``clear``)."""
        return self.rows[: self.n]

    def clear(self) -> None:
        """Forget the filled rows (the array is reused)."""
        self.n = 0


@dataclass(frozen=True, slots=True)
class InstrumentRef:
    """What a parser needs to know about one subscribed instrument."""

    instrument: int
    """Instrument id (index into the instrument table) written into event rows."""
    spec: InstrumentSpec
    tick: Grid
    lot: Grid

    @classmethod
    def of(cls, instrument: int, spec: InstrumentSpec) -> InstrumentRef:
        """Build a ref from an id and a spec."""
        return cls(instrument=instrument, spec=spec, tick=spec.tick, lot=spec.lot)


@dataclass(slots=True)
class FeedStats:
    """Counters a feed keeps; the metrics layer reads them (labels: venue, symbol, reason)."""

    messages: int = 0
    malformed: int = 0
    """Frames that could not be parsed (counted and skipped)."""
    gaps: int = 0
    """Sequence gaps detected."""
    checksum_failures: int = 0
    crossed: int = 0
    """Crossed or locked books after a message."""
    resyncs: int = 0
    """Snapshots requested to recover an instrument."""
    dropped_stale: int = 0
    """Diffs older than the snapshot, dropped as the venue's rules say."""
    by_reason: dict[str, int] = field(default_factory=dict)


class Reason:
    """The one vocabulary of ``FeedStats.by_reason`` labels shared by every venue.

    ``RESYNC_REASONS`` are the causes of a book invalidation, exported as the bounded ``reason``
    label of ``tickbot_book_resyncs_total``; the others count frames a feed took no action on.
    """

    CONNECT = "connect"
    GAP = "gap"
    CROSSED = "crossed"
    MALFORMED = "malformed"
    STALE = "stale"
    BBO_MISMATCH = "bbo_mismatch"
    CHECKSUM = "checksum"
    CHECKSUM_FORMAT = "checksum_format"
    UNKNOWN_ID = "unknown_id"
    QUEUE_OVERFLOW = "queue_overflow"
    UNEXPECTED_SNAPSHOT = "unexpected_snapshot"
    """A REST snapshot the feed did not ask for (or no longer waits for): ignored."""
    UNKNOWN_SYMBOL = "unknown_symbol"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_EVENT = "unknown_event"
    VENUE_ERROR = "venue_error"
    LEVEL_REFUSED = "level_refused"
    """A book row the book kernels could not apply (outside the price window and overflow)."""
    BUFFER_OVERFLOW = "buffer_overflow"
    RESYNC_UNKNOWN_INSTRUMENT = "resync_unknown_instrument"


RESYNC_REASONS = (
    Reason.CONNECT, Reason.GAP, Reason.CROSSED, Reason.MALFORMED, Reason.STALE,
    Reason.BBO_MISMATCH, Reason.CHECKSUM, Reason.CHECKSUM_FORMAT, Reason.UNKNOWN_ID,
    Reason.QUEUE_OVERFLOW,
)  # fmt: skip
"""The bounded ``reason`` labels of ``tickbot_book_resyncs_total`` (every venue's resync causes)."""


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A REST snapshot the feed needs before an instrument's book is valid again."""

    instrument: int
    path: str
    """Path and query on the venue's REST base URL, e.g. ``/fapi/v1/depth?symbol=BTCUSDT``."""


@dataclass(frozen=True, slots=True)
class Keepalive:
    """What the venue needs to keep a connection open.

    * ``interval_s is None``: nothing to send. The server pings with protocol ping frames and the
      transport answers them with pong frames automatically (Binance); BingX's application-level
      ``Ping`` is answered by the feed itself through ``take_outgoing``.
    * ``interval_s`` set and ``text is None``: send a protocol ping frame every ``interval_s``.
    * ``interval_s`` set and ``text`` set: send that text frame (``ping``, ``{"op":"ping"}``) every
      ``interval_s``; with ``only_when_idle`` only when nothing was received for ``interval_s``
      (OKX, BitMEX).

    After a ping, if no frame at all arrives within ``pong_timeout_s`` the connection is
    considered dead and is reconnected (any frame proves liveness, pongs included).
    """

    interval_s: float | None = None
    text: str | None = None
    only_when_idle: bool = False
    pong_timeout_s: float = 10.0


MAX_FRAME_BYTES = 16 * 1024 * 1024
"""A decompressed frame larger than this is malformed (guards against gzip bombs)."""


class FrameError(ValueError):
    """A binary frame that is not valid gzip, or inflates beyond ``MAX_FRAME_BYTES``."""


def gunzip_frame(data: bytes, limit: int = MAX_FRAME_BYTES) -> bytes:
    """Return the payload of a gzip-compressed frame, inflating at most ``limit`` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        text = inflater.decompress(data, limit)
    except zlib.error as e:
        raise FrameError(f"not a gzip frame: {e}") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise FrameError("truncated or oversized gzip frame")
    return text


@dataclass(frozen=True, slots=True)
class ConnectionPolicy:
    """How the supervisor must treat a feed's connections (declared by the feed)."""

    rest_base_url: str
    """Base URL for ``SnapshotRequest.path`` (e.g. ``https://fapi.binance.com``)."""
    keepalive: Keepalive = Keepalive()
    stale_after_s: float = 30.0
    """No frame at all on a connection for this long: reconnect (every book on it resyncs)."""
    max_session_s: float | None = None
    """Reconnect proactively after this long (Binance closes connections at 24 h)."""
    gzip_frames: bool = False
    """Binary frames are gzip-compressed (BingX): the transport gunzips them before on_message."""
    snapshot_timeout_s: float = 10.0
    """Deadline for one REST snapshot request."""


class MarketDataFeed(Protocol):
    """One venue's market-data logic, free of I/O; ``bot.ingest`` drives it.

    Call order per connection: ``on_connect(url=...)``, send ``subscribe_messages()``, then
    ``on_message`` per frame; after every call the supervisor drains ``take_outgoing`` (frames to
    send on that connection) and ``pending_snapshots`` (REST fetches, answered by
    ``on_snapshot``). ``resync`` is the supervisor's hook for problems it detects itself
    (an instrument's book went stale).
    """

    venue: VenueId
    stats: FeedStats
    policy: ConnectionPolicy

    def ws_urls(self) -> Sequence[str]:
        """Return the WebSocket URL(s) to connect to (Binance splits streams across several)."""
        ...

    def subscribe_messages(self) -> Sequence[str]:
        """Return the frames to send after connecting (empty when the URL subscribes)."""
        ...

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """Reset sync state after a (re)connect of ``url`` (one of ``ws_urls()``).

        Emit BOOK_INVALID rows for every book carried on that connection. Single-URL feeds may
        ignore ``url``; the supervisor always passes it by keyword.
        """
        ...

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame into event rows; count and skip malformed input, never raise."""
        ...

    def pending_snapshots(self) -> Sequence[SnapshotRequest]:
        """Return and clear the REST snapshots the feed is waiting for."""
        ...

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Apply a REST snapshot (and any buffered diffs) for one instrument."""
        ...

    def invalid_instruments(self) -> Sequence[int]:
        """Return the instruments whose book is not in sync right now."""
        ...

    def take_outgoing(self) -> Sequence[str]:
        """Return and clear the frames to send now (keepalive answers, resubscriptions)."""
        ...

    def resync(self, instrument: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Mark ``instrument``'s book invalid (BOOK_INVALID row) and start recovering it.

        ``reason`` is a short bounded label (``stale``, ``gap``, ``crossed``...) for metrics.
        """
        ...
