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
MD_GAPS = Counter(
    "tickbot_market_data_gaps_total",
    "Sequence gaps in book streams, by venue and stream (the connection path carrying the books).",
    ["venue", "stream"],
    registry=REGISTRY,
)
MD_RESYNCS = Counter(
    "tickbot_market_data_resyncs_total",
    "Books invalidated and resynced, by venue, stream (connection path) and reason.",
    ["venue", "stream", "reason"],
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
    "REST book snapshot requests that failed, by class: rate_limit (429/418, after Retry-After), "
    "server (5xx), client (other 4xx, retried a few times only), timeout, network.",
    ["venue", "class"],
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

# -- tickbot run: the live service ----------------------------------------------------------
BUILD_INFO = Gauge(
    "tickbot_build_info",
    "Always 1; the labels say which build runs.",
    ["version", "python", "numba"],
    registry=REGISTRY,
)
CONFIG_INFO = Gauge(
    "tickbot_config_info",
    "1 for the active config (its content hash), 0 for none.",
    ["hash", "strategy", "mode"],
    registry=REGISTRY,
)
CONFIG_RELOADS = Counter(
    "tickbot_config_reloads_total",
    "Config file changes seen by the watcher, by result (applied, invalid, restart_needed).",
    ["result"],
    registry=REGISTRY,
)
CONFIG_RELOAD_FAILURES = Counter(
    "tickbot_config_reload_failures_total",
    "Config changes refused (invalid, or a field that needs a restart); the old config runs on.",
    ["reason"],
    registry=REGISTRY,
)
TICK_TO_TRADE = Histogram(
    "tickbot_tick_to_trade_seconds",
    "From the receive time of the market-data frame that caused an order to its socket write.",
    ["venue"],
    buckets=(1e-6, 2e-6, 5e-6, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2),
    registry=REGISTRY,
)
MD_MESSAGES = Counter(
    "tickbot_market_data_messages_total",
    "Market-data frames received, by venue and stream (connection path).",
    ["venue", "stream"],
    registry=REGISTRY,
)
MD_BYTES = Counter(
    "tickbot_market_data_received_bytes_total",
    "Market-data payload bytes received, by venue and stream.",
    ["venue", "stream"],
    registry=REGISTRY,
)
FEED_STALENESS = Gauge(
    "tickbot_feed_staleness_seconds",
    "Time since the venue's last market-data frame.",
    ["venue"],
    registry=REGISTRY,
)
SPREAD_TICKS = Gauge(
    "tickbot_spread_ticks",
    "Best ask minus best bid of the local book, in ticks (NaN while the book is invalid).",
    ["venue", "symbol"],
    registry=REGISTRY,
)
ORDERS = Counter(
    "tickbot_orders_total",
    "Order requests by action (new, cancel, amend, cancel_all) and result.",
    ["venue", "action", "result"],
    registry=REGISTRY,
)
ORDERS_UNKNOWN = Counter(
    "tickbot_orders_unknown_outcome_total",
    "Order requests whose outcome is unknown (timeout, disconnect, 5xx): left to reconciliation.",
    ["venue"],
    registry=REGISTRY,
)
FILLS = Counter(
    "tickbot_fills_total",
    "Fills of our orders, by side and liquidity (maker, taker).",
    ["venue", "symbol", "side", "liquidity"],
    registry=REGISTRY,
)
RISK_REJECTIONS = Counter(
    "tickbot_risk_rejections_total",
    "Order intents refused by pre-trade risk, by reason.",
    ["symbol", "reason"],
    registry=REGISTRY,
)
POSITION_LOTS = Gauge(
    "tickbot_position_lots",
    "Net position in lots (negative: short).",
    ["venue", "symbol"],
    registry=REGISTRY,
)
NOTIONAL_QUOTE = Gauge(
    "tickbot_position_notional_quote",
    "Absolute position value at the mid, in quote currency.",
    ["venue", "symbol"],
    registry=REGISTRY,
)
REALIZED_PNL = Gauge(
    "tickbot_realized_pnl_quote",
    "Realised PnL after fees since start, in quote currency.",
    ["venue", "symbol"],
    registry=REGISTRY,
)
UNREALIZED_PNL = Gauge(
    "tickbot_unrealized_pnl_quote",
    "Unrealised PnL of the open position at the mid, in quote currency.",
    ["venue", "symbol"],
    registry=REGISTRY,
)
LOOP_LAG = Histogram(
    "tickbot_event_loop_lag_seconds",
    "How late the trading loop ran a timer (a blocked loop shows here first).",
    buckets=(1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 5e-2, 0.1, 0.5, 1.0, 5.0),
    registry=REGISTRY,
)
ASYNCIO_TASKS = Gauge(
    "tickbot_asyncio_tasks",
    "Tasks alive on the trading loop (set every loop-lag beat): a count that keeps growing is a "
    "task leak.",
    registry=REGISTRY,
)
VENUE_CONNECTED = Gauge(
    "tickbot_venue_connected",
    "1 while every market-data connection of the venue is open.",
    ["venue"],
    registry=REGISTRY,
)
READY = Gauge(
    "tickbot_ready",
    "1 while /readyz passes (books in sync, venues connected, lease held, kill switch off).",
    registry=REGISTRY,
)
LEASE_HELD = Gauge(
    "tickbot_lease_held",
    "1 while this instance holds the single-active Lease (or the lease is disabled).",
    registry=REGISTRY,
)
KILL_SWITCH = Gauge(
    "tickbot_kill_switch",
    "1 while the kill switch is on (no new orders).",
    registry=REGISTRY,
)
