"""Market-data accounting at the socket: receive time, messages and bytes per stream.

The supervisor hands every raw frame to a ``FrameTap`` just before parsing it; this tap takes
the receive time on ``time.monotonic_ns`` there (the start of tick-to-trade), counts the frame
and its bytes per stream (the connection's URL path), tells the core a frame arrived (``on_rx``:
what was due before it runs before the feed applies it to the books) and passes the frame on to
a recorder when one is chained (``capture.path``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.ingest.supervisor import FrameTap
from bot.metrics import registry as m


class MarketDataTap:
    """Count frames per stream and remember the last receive time."""

    def __init__(
        self,
        venue: str,
        inner: FrameTap | None = None,
        on_rx: Callable[[int], None] | None = None,
    ) -> None:
        self.venue = venue
        self.inner = inner
        self.on_rx = on_rx
        """Called with the frame's local receive time (ns) before it is parsed."""
        self.rx_ns = 0
        """``time.monotonic_ns`` when the frame being parsed arrived."""
        self.counts: dict[str, list[int]] = {}
        self._exported: dict[str, tuple[int, int]] = {}

    def ws(self, src: str, data: str | bytes, ts_local_ns: int) -> None:
        """Record one WebSocket frame."""
        self.rx_ns = time.monotonic_ns()
        c = self.counts.get(src)
        if c is None:
            c = self.counts[src] = [0, 0]
        c[0] += 1
        c[1] += len(data)
        if self.inner is not None:
            self.inner.ws(src, data, ts_local_ns)
        if self.on_rx is not None:
            self.on_rx(ts_local_ns)

    def rest(self, src: str, body: bytes, ts_local_ns: int) -> None:
        """Pass a REST body on (snapshots are not market-data frames, but move the books)."""
        if self.inner is not None:
            self.inner.rest(src, body, ts_local_ns)
        if self.on_rx is not None:
            self.on_rx(ts_local_ns)

    def messages(self) -> int:
        """Return the frames received so far over all streams."""
        return sum(c[0] for c in self.counts.values())

    def staleness_s(self) -> float:
        """Return the seconds since the last frame (inf before the first)."""
        if self.rx_ns == 0:
            return float("inf")
        return (time.monotonic_ns() - self.rx_ns) * 1e-9

    def export(self) -> None:
        """Add the deltas since the last export to the per-stream counters."""
        for src, (msgs, nbytes) in self.counts.items():
            seen_msgs, seen_bytes = self._exported.get(src, (0, 0))
            if msgs > seen_msgs:
                m.MD_MESSAGES.labels(self.venue, src).inc(msgs - seen_msgs)
            if nbytes > seen_bytes:
                m.MD_BYTES.labels(self.venue, src).inc(nbytes - seen_bytes)
            self._exported[src] = (msgs, nbytes)
        staleness = self.staleness_s()
        if staleness != float("inf"):
            m.FEED_STALENESS.labels(self.venue).set(staleness)
