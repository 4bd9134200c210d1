"""The ``execution`` section of the run config: how the order router treats venue accounts.

```yaml
venues:                      # bot.config.schema: venue, environment (testnet default), credentials
  - {name: binance-usdm, environment: testnet, credentials: {directory: /var/run/secrets/bn}}
journal: {path: /var/lib/tickbot/journal}
execution:
  orphans: cancel            # or adopt: open orders on the venue that the bot does not know
  dead_man_timeout_s: 60     # cancel-on-disconnect window, where the venue has one
  journal_rotate_mib: 64
  journal_fsync_interval_ms: 20
  shutdown_deadline_s: 20
```

Venue accounts, their environment and where their credentials come from are the ``venues``
section (``bot.config.schema.VenueSection``; keys are read by
``bot.runtime.setup.load_credentials`` from environment variables or a mounted Secret, never
from the config); the journal directory is ``journal.path``. This section holds what only the
router uses. Every field needs a restart to change.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0)]


class _Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class ExecutionSection(_Struct, frozen=True):
    """Order-router behaviour for every venue account (``bot.execution.AccountSettings``)."""

    orphans: Literal["cancel", "adopt"] = "cancel"
    """Open orders found on the venue that the bot does not know: cancel them, or adopt them."""
    dead_man_timeout_s: Annotated[float, msgspec.Meta(ge=3, le=300)] = 60.0
    """Cancel-on-disconnect window armed where the venue has one (OKX/BingX take 10-120 s)."""
    dead_man_refresh_s: Positive | None = None
    """Re-arm interval; default a third of the timeout."""
    request_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0
    """Deadline of each order-entry call; past it the outcome is unknown and settled by query."""
    not_found_after_s: Annotated[float, msgspec.Meta(gt=0)] = 6.0
    """An unknown-outcome order the venue still does not know this long after it was sent (past
    every venue's receive window) is closed as never placed."""
    fill_lookback_s: Annotated[float, msgspec.Meta(gt=0)] = 3600.0
    """How far back reconciliation fetches fills when the journal knows no last fill."""
    journal_rotate_mib: Annotated[float, msgspec.Meta(ge=0.01, le=4096)] = 64.0
    journal_fsync_interval_ms: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 20.0
    """Bounded delay before a journal record is on disk (it never blocks the event loop)."""
    journal_keep_files: Annotated[int, msgspec.Meta(ge=2)] = 8
    shutdown_deadline_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 20.0
    """Cancel all, confirm and flush within this on SIGTERM."""

    def __post_init__(self) -> None:
        if (
            self.dead_man_refresh_s is not None
            and self.dead_man_refresh_s >= self.dead_man_timeout_s
        ):
            raise ValueError("dead_man_refresh_s must be < dead_man_timeout_s")

    @property
    def journal_rotate_bytes(self) -> int:
        """Return the rotation size in bytes."""
        return int(self.journal_rotate_mib * (1 << 20))
