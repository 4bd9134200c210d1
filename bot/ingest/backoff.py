"""Reconnect backoff: exponential, full jitter, capped, reset after a stable session."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    """``delay(attempt)`` is uniform in ``[0, min(cap_s, base_s * factor**attempt)]``.

    Full jitter (AWS architecture blog, "Exponential Backoff And Jitter") spreads reconnects of
    many clients after a venue outage. A session that lasted ``stable_after_s`` resets the
    attempt counter. Tests inject tiny values (and a seeded ``random.Random``).
    """

    base_s: float = 0.5
    cap_s: float = 30.0
    factor: float = 2.0
    stable_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.base_s < 0 or self.cap_s < self.base_s or self.factor < 1:
            raise ValueError("backoff needs 0 <= base_s <= cap_s and factor >= 1")

    def ceiling(self, attempt: int) -> float:
        """Return the upper bound of the delay before retry number ``attempt`` (0-based)."""
        return min(self.cap_s, self.base_s * self.factor ** min(attempt, 64))

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Return a fully jittered delay for retry number ``attempt``."""
        return rng.uniform(0.0, self.ceiling(attempt))
