"""Export a feed's counters (``FeedStats``) to the Prometheus metrics of ``bot.metrics.registry``.

Feeds keep plain integer counters (cheap on the hot path, readable in tests); the supervisor calls
``export`` once a second and this adds the deltas to the registry's counters.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.adapters.base import RESYNC_REASONS, FeedStats
from bot.metrics import registry as m


class FeedMetrics:
    """The metrics of one feed (labels: venue, symbol, reason, connection)."""

    def __init__(self, venue: str, symbols: dict[int, str], book_stream: str = "") -> None:
        self.venue = venue
        self.symbols = dict(symbols)
        self.book_stream = book_stream
        """The URL path of the connection carrying the books: the ``stream`` label of gaps and
        resyncs, as of ``tickbot_market_data_messages_total``."""
        self._last: dict[str, int] = {}
        self._last_reasons: dict[str, int] = {}

    def instruments(self) -> Iterable[int]:
        """Return the feed's instrument ids."""
        return self.symbols.keys()

    def reconnect(self, reason: str) -> None:
        """Count a session that ended."""
        m.WS_RECONNECTS.labels(self.venue, reason).inc()

    def connected(self, index: int, up: bool) -> None:
        """Record connection ``index`` as open or closed."""
        m.WS_CONNECTED.labels(self.venue, str(index)).set(1 if up else 0)

    def snapshot_failed(self, error_class: str) -> None:
        """Count a failed REST snapshot request by class (``rate_limit``, ``server``, ...)."""
        m.SNAPSHOT_FAILURES.labels(self.venue, error_class).inc()

    def snapshot_seconds(self, seconds: float) -> None:
        """Observe one REST snapshot's duration."""
        m.SNAPSHOT_SECONDS.labels(self.venue).observe(seconds)

    def dropped_batch(self) -> None:
        """Count a batch dropped by a full consumer queue."""
        m.INGEST_DROPPED.labels(self.venue).inc()

    def export(self, stats: FeedStats, invalid: Sequence[int]) -> None:
        """Add counter deltas since the last export and set the per-instrument invalid gauges."""
        for name, counter in (
            ("messages", m.WS_MESSAGES),
            ("malformed", m.MALFORMED_FRAMES),
            ("gaps", m.BOOK_GAPS),
            ("checksum_failures", m.BOOK_CHECKSUM_FAILURES),
            ("crossed", m.BOOK_CROSSED),
        ):
            value = getattr(stats, name)
            delta = value - self._last.get(name, 0)
            if delta > 0:
                counter.labels(self.venue).inc(delta)
                if name == "gaps":
                    m.MD_GAPS.labels(self.venue, self.book_stream).inc(delta)
            self._last[name] = value
        for reason in RESYNC_REASONS:
            value = stats.by_reason.get(reason, 0)
            delta = value - self._last_reasons.get(reason, 0)
            if delta > 0:
                m.BOOK_RESYNCS.labels(self.venue, reason).inc(delta)
                m.MD_RESYNCS.labels(self.venue, self.book_stream, reason).inc(delta)
            self._last_reasons[reason] = value
        bad = set(invalid)
        for inst, symbol in self.symbols.items():
            m.BOOK_INVALID.labels(self.venue, symbol).set(1 if inst in bad else 0)
