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
``BOOK_INVALID`` row and asks for a snapshot: over REST (``pending_snapshots``, Binance) or, on
venues whose snapshot comes over the WebSocket (Bybit, OKX, Bitget, BingX, BitMEX), by queueing that
instrument's unsubscribe + subscribe frames in ``outgoing_messages``. The snapshot arrives as a
``BOOK_CLEAR`` row plus ``SNAPSHOT``-flagged levels and makes the book valid again. Downstream
(signals, strategy) reads the books and never applies book rows a second time. Offline
(``tickbot convert``) the feed is run the same way with books of its own and the emitted rows are
written to an event file.
"""

from __future__ import annotations

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
        if self.n >= self.rows.shape[0]:
            self.reserve(1)
        # One tuple assignment: ten per-field writes to a numpy record cost ~10x more.
        self.rows[self.n] = (
            kind, flags, venue, 0, instrument,
            ts_exch_ns, ts_local_ns, price_tick, qty_lot, seq, aux,
        )  # fmt: skip
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


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    """A REST snapshot the feed needs before an instrument's book is valid again."""

    instrument: int
    path: str
    """Path and query on the venue's REST base URL, e.g. ``/fapi/v1/depth?symbol=BTCUSDT``."""


@dataclass(frozen=True, slots=True)
class Keepalive:
    """The application-level heartbeat a venue wants; the supervisor runs the timer."""

    interval_s: float
    """Send ``message`` after this long without any frame received."""
    message: str | None
    """Text frame to send (``ping``, ``{"op":"ping"}``); None when WS ping frames do the job or
    the server pings us (BingX ``Ping``, answered through ``outgoing_messages``)."""
    timeout_s: float
    """Reconnect when nothing at all arrives for ``interval_s + timeout_s``."""


class MarketDataFeed(Protocol):
    """One venue's market-data logic, free of I/O; ``bot.ingest`` drives it."""

    venue: VenueId
    stats: FeedStats
    keepalive: Keepalive

    def ws_urls(self) -> Sequence[str]:
        """Return the WebSocket URL(s) to connect to (Binance splits streams across several)."""
        ...

    def subscribe_messages(self) -> Sequence[str]:
        """Return the frames to send after connecting (empty when the URL subscribes)."""
        ...

    def on_connect(self, ts_local_ns: int, out: EventBuffer) -> None:
        """Reset sync state after a (re)connect; emit BOOK_INVALID rows for every book."""
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

    def outgoing_messages(self) -> Sequence[str]:
        """Return and clear the frames the feed needs sent now, in order.

        Resubscribes of instruments that lost sync on venues whose snapshot comes over the
        WebSocket, and replies to server heartbeats (BingX ``Pong``). The supervisor drains this
        after every ``on_message``; REST-snapshot venues return an empty sequence.
        """
        ...
