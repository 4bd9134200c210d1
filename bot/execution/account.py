"""One venue account as the router drives it: order entry, user stream, limiter, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from bot.adapters.trading import OrderEntry, UserStream
from bot.config.trading import ExecutionSection
from bot.core.dtypes import VenueId
from bot.execution.ratelimit import VenueLimiter

OrphanPolicy = Literal["cancel", "adopt"]


@dataclass(frozen=True, slots=True)
class AccountSettings:
    """Per-account behaviour (from ``bot.config.trading.AccountSection``)."""

    orphans: OrphanPolicy = "cancel"
    """What to do with an open order on the venue that the bot does not know."""
    dead_man_timeout_s: float = 60.0
    """Cancel-on-disconnect window armed on the venue (where it has one)."""
    dead_man_refresh_s: float | None = None
    """How often to re-arm it (default: a third of the timeout)."""
    request_timeout_s: float = 10.0
    """Deadline of every venue call the router makes (adapters apply their own too)."""
    fill_lookback_s: float = 3600.0
    """How far back reconciliation asks for fills when the journal knows no last fill."""
    not_found_after_s: float = 6.0
    """An unknown-outcome order the venue keeps not knowing this long after it was sent (past
    every venue's receive window, so it can no longer arrive) is closed as never placed."""

    @classmethod
    def from_section(cls, section: ExecutionSection) -> AccountSettings:
        """Return the settings of the run config's ``execution`` section."""
        return cls(
            orphans=section.orphans,
            dead_man_timeout_s=section.dead_man_timeout_s,
            dead_man_refresh_s=section.dead_man_refresh_s,
            request_timeout_s=section.request_timeout_s,
            fill_lookback_s=section.fill_lookback_s,
            not_found_after_s=section.not_found_after_s,
        )

    def refresh_s(self) -> float:
        """Return the dead-man refresh interval."""
        if self.dead_man_refresh_s is not None:
            return self.dead_man_refresh_s
        return self.dead_man_timeout_s / 3.0


@dataclass
class Account:
    """A venue account: what the router needs to trade it."""

    entry: OrderEntry
    stream: UserStream | None = None
    settings: AccountSettings = field(default_factory=AccountSettings)
    limiter: VenueLimiter | None = None

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = VenueLimiter(self.entry.venue)

    @property
    def venue(self) -> VenueId:
        """Return the account's venue."""
        return self.entry.venue

    @property
    def lim(self) -> VenueLimiter:
        """Return the limiter (always set after construction)."""
        assert self.limiter is not None
        return self.limiter
