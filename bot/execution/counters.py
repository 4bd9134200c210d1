"""Counters the router keeps for the metrics layer (which reads them; nothing here exports).

Labels are bounded: action (new, cancel, amend, cancel_all), result (sent, acked, rejected,
unknown, refused, dropped), discrepancy kind (``Discrepancy``). The run engineer's registry
turns them into ``tickbot_orders_total{venue,action,result}`` and friends.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Discrepancy(StrEnum):
    """What reconciliation (or a stray venue message) found that the router did not expect."""

    ORPHAN_CANCELLED = "orphan_cancelled"
    """An open order on the venue unknown to the bot, cancelled (policy ``cancel``)."""
    ORPHAN_ADOPTED = "orphan_adopted"
    """An open order on the venue unknown to the bot, adopted (policy ``adopt``)."""
    ORPHAN_UNTRACKED = "orphan_untracked"
    """An order on a symbol the bot does not trade: logged, left alone."""
    STATUS = "status"
    """The venue's status of a known order differs from the journal's."""
    VANISHED = "vanished"
    """An order the journal holds as live is unknown to the venue."""
    MISSED_FILL = "missed_fill"
    """A fill reconciliation found that the stream never delivered."""
    FOREIGN_FILL = "foreign_fill"
    """A fill of an order the bot does not know."""
    POSITION = "position"
    """The venue's position differs from the one the router knew; the venue's is adopted."""
    OVERFILL = "overfill"
    """Fills add up to more than the order's size."""


@dataclass
class RouterCounters:
    """Everything the router counts (monotonic; read by the metrics layer)."""

    orders: Counter[tuple[str, str]] = field(default_factory=Counter)
    """``(action, result)`` -> count."""
    discrepancies: Counter[str] = field(default_factory=Counter)
    unknown_outcomes: int = 0
    """Requests whose outcome was unknown (timeout, disconnect, 5xx, 429)."""
    unknown_settled: int = 0
    """Unknown outcomes later settled by a query."""
    fills: int = 0
    duplicate_fills: int = 0
    """Fills seen a second time (stream and REST), counted once."""
    stale_updates: int = 0
    """Order updates that would have moved an order backwards (ignored)."""
    reconciliations: int = 0
    dead_man_refreshes: int = 0
    dead_man_failures: int = 0
    task_errors: int = 0
    """Background tasks that ended with an unexpected exception (logged)."""
    journal_torn: int = 0
    """Journal lines skipped at replay (torn or failing their CRC)."""

    def count(self, action: str, result: str, n: int = 1) -> None:
        """Add ``n`` to ``orders[(action, result)]``."""
        self.orders[(action, result)] += n
