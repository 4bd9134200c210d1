"""Every Prometheus metric the bot exports, declared in one place (prefix ``tickbot_``).

Labels are bounded: venue, symbol, reason, connection index. Never an order id, a price or an
error text. Layers write to these; nothing reads them back.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)
"""The bot's own registry (served by ``bot.metrics.server``); keeps tests free of globals."""

WS_RECONNECTS = Counter(
    "tickbot_ws_reconnects_total",
    "WebSocket sessions that ended and were reconnected, by reason.",
    ["venue", "reason"],
    registry=REGISTRY,
)
WS_CONNECTED = Gauge(
    "tickbot_ws_connected",
    "1 while the venue's WebSocket connection is open.",
    ["venue", "connection"],
    registry=REGISTRY,
)
WS_MESSAGES = Counter(
    "tickbot_ws_messages_total",
    "Frames received from the venue.",
    ["venue"],
    registry=REGISTRY,
)
MALFORMED_FRAMES = Counter(
    "tickbot_malformed_frames_total",
    "Frames that could not be parsed and were skipped.",
    ["venue"],
    registry=REGISTRY,
)
BOOK_GAPS = Counter(
    "tickbot_book_gaps_total",
    "Sequence gaps detected in book streams.",
    ["venue"],
    registry=REGISTRY,
)
BOOK_CHECKSUM_FAILURES = Counter(
    "tickbot_book_checksum_failures_total",
    "Book checksums (OKX, Bitget) that did not match.",
    ["venue"],
    registry=REGISTRY,
)
BOOK_CROSSED = Counter(
    "tickbot_book_crossed_total",
    "Books found crossed or locked after a message.",
    ["venue"],
    registry=REGISTRY,
)
BOOK_RESYNCS = Counter(
    "tickbot_book_resyncs_total",
    "Instrument books invalidated and resynced, by reason (connect, gap, crossed, stale...).",
    ["venue", "reason"],
    registry=REGISTRY,
)
BOOK_INVALID = Gauge(
    "tickbot_book_invalid",
    "1 while the instrument's book is out of sync (strategies do not quote it).",
    ["venue", "symbol"],
    registry=REGISTRY,
)
SNAPSHOT_FAILURES = Counter(
    "tickbot_snapshot_failures_total",
    "REST book snapshot requests that failed or timed out (retried with backoff).",
    ["venue"],
    registry=REGISTRY,
)
SNAPSHOT_SECONDS = Histogram(
    "tickbot_snapshot_seconds",
    "Duration of REST book snapshot requests.",
    ["venue"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
INGEST_DROPPED = Counter(
    "tickbot_ingest_dropped_batches_total",
    "Event batches dropped because a bounded consumer queue was full (books resync).",
    ["venue"],
    registry=REGISTRY,
)
