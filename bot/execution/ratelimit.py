"""Per-venue rate limits: token buckets for the documented windows, corrected by the venue.

Each venue has a few buckets (``VENUE_LIMITS``: request weight per IP, order counts, per-UID
request rates), named like the ``RateLimitUsage.window`` values the adapters parse from replies, so
``observe`` can set a bucket to what the venue says is left (its count wins over ours: other
processes on the same key or IP spend it too). A bucket refills continuously at
``capacity / window_s`` (a token bucket approximating the venue's fixed or rolling window).

Policy (``docs/execution.md``):

* NEW and AMEND take their tokens at once or are refused locally (``try_acquire``): a late quote
  is a wrong quote, and nothing is sent that the venue would answer with 429.
* After a 429/418 (``on_rate_limited``) the venue is blocked until ``Retry-After`` (or an
  exponential back-off when the venue does not say): only cancels and dead-man refreshes go
  out, reads wait.
* Cancels and dead-man refreshes never fail on a limit: they wait for a token (``acquire``),
  and are sent even while the venue is blocked.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from bot.adapters.trading import RateLimitUsage
from bot.core.dtypes import VenueId

_NS = 1_000_000_000
BACKOFF_START_S = 1.0
"""Block after a 429 that names no Retry-After; doubled on each repeat, up to ``BACKOFF_MAX_S``."""
BACKOFF_MAX_S = 120.0
BACKOFF_RESET_S = 300.0
MAX_WAIT_STEP_S = 0.5
"""``acquire`` re-checks at least this often while it waits."""
"""A venue quiet of 429s this long starts its back-off from ``BACKOFF_START_S`` again."""


class Op(IntEnum):
    """The kinds of request a bucket may charge."""

    NEW = 0
    CANCEL = 1
    AMEND = 2
    CANCEL_ALL = 3
    QUERY = 4
    """Reads: query order, open orders, fills, position, balance."""
    DEAD_MAN = 5


ORDER_OPS = frozenset({Op.NEW, Op.AMEND})
"""Refused (never queued) when tokens are short or the venue is blocked."""
PRIORITY_OPS = frozenset({Op.CANCEL, Op.CANCEL_ALL, Op.DEAD_MAN})
"""Sent even while the venue is blocked after a 429."""


@dataclass(frozen=True, slots=True)
class BucketSpec:
    """One documented limit: ``capacity`` units per ``window_s``, and what each op costs."""

    name: str
    capacity: float
    window_s: float
    costs: tuple[tuple[Op, float], ...]


def _all(cost: float) -> tuple[tuple[Op, float], ...]:
    return tuple((op, cost) for op in Op)


_ORDERS = ((Op.NEW, 1.0), (Op.AMEND, 1.0))
_TRADE = ((Op.NEW, 1.0), (Op.AMEND, 1.0), (Op.CANCEL, 1.0), (Op.CANCEL_ALL, 1.0))
_BINANCE_WEIGHT = (
    (Op.NEW, 1.0), (Op.CANCEL, 1.0), (Op.AMEND, 1.0), (Op.CANCEL_ALL, 1.0), (Op.QUERY, 1.0),
    (Op.DEAD_MAN, 10.0),
)  # fmt: skip

VENUE_LIMITS: dict[VenueId, tuple[BucketSpec, ...]] = {
    # Binance USD-M: REQUEST_WEIGHT 2400/min per IP, ORDERS 300/10 s and 1200/min per account
    # (exchangeInfo rateLimits; X-MBX-USED-WEIGHT-1M / X-MBX-ORDER-COUNT-10S/1M correct them).
    # countdownCancelAll weighs 10.
    VenueId.BINANCE_USDM: (
        BucketSpec("weight-1m", 2400, 60, _BINANCE_WEIGHT),
        BucketSpec("orders-10s", 300, 10, _ORDERS),
        BucketSpec("orders-1m", 1200, 60, _ORDERS),
    ),
    # Bybit v5: 600 requests / 5 s per IP; create/amend/cancel 10/s per UID and endpoint
    # (X-Bapi-Limit / -Limit-Status: "endpoint").
    VenueId.BYBIT: (
        BucketSpec("ip-5s", 600, 5, _all(1.0)),
        BucketSpec("endpoint", 10, 1, _TRADE),
    ),
    # OKX v5: place/amend 60 per 2 s per instrument (one bucket per account here: the tighter
    # reading); cancel-all-after 1/s. No usage headers.
    VenueId.OKX: (
        BucketSpec("orders-2s", 60, 2, _TRADE),
        BucketSpec("dead-man-1s", 1, 1, ((Op.DEAD_MAN, 1.0),)),
    ),
    # Bitget v2: place-order 10/s per UID; 6000 requests/min per IP. No usage headers.
    VenueId.BITGET: (
        BucketSpec("requests-1m", 6000, 60, _all(1.0)),
        BucketSpec("orders-1s", 10, 1, _TRADE),
    ),
    # BingX swap: private 10 req/s per UID (X-RateLimit-Requests-Remain: "requests");
    # cancelAllAfter 2/s.
    VenueId.BINGX: (
        BucketSpec("requests", 10, 1, _TRADE),
        BucketSpec("dead-man-1s", 2, 1, ((Op.DEAD_MAN, 1.0),)),
    ),
    # BitMEX: 120 req/min authenticated (x-ratelimit-*), and 10/s on order routes
    # (x-ratelimit-remaining-1s).
    VenueId.BITMEX: (
        BucketSpec("requests-1m", 120, 60, _all(1.0)),
        BucketSpec("orders-1s", 10, 1, _TRADE),
    ),
    VenueId.SIM: (BucketSpec("requests", 1000, 1, _all(1.0)),),
}
"""Documented limits (PROTOCOLS.md); bucket names are the adapters' ``RateLimitUsage.window``."""


class _Bucket:
    __slots__ = ("capacity", "costs", "last_ns", "name", "rate_per_ns", "tokens")

    def __init__(self, spec: BucketSpec, now_ns: int) -> None:
        self.name = spec.name
        self.capacity = float(spec.capacity)
        self.rate_per_ns = spec.capacity / (spec.window_s * _NS)
        self.costs = dict(spec.costs)
        self.tokens = self.capacity
        self.last_ns = now_ns

    def refill(self, now_ns: int) -> None:
        if now_ns > self.last_ns:
            self.tokens = min(
                self.capacity, self.tokens + (now_ns - self.last_ns) * self.rate_per_ns
            )
            self.last_ns = now_ns

    def wait_ns(self, cost: float) -> int:
        """Return ns until ``cost`` tokens are there (0: now)."""
        short = cost - self.tokens
        return 0 if short <= 0 else int(short / self.rate_per_ns) + 1


class VenueLimiter:
    """The buckets and 429 back-off of one venue account."""

    def __init__(
        self,
        venue: VenueId,
        specs: Sequence[BucketSpec] | None = None,
        *,
        clock_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        self.venue = venue
        self._clock_ns = clock_ns
        now = clock_ns()
        chosen = VENUE_LIMITS.get(venue, ()) if specs is None else specs
        self._buckets = [_Bucket(s, now) for s in chosen]
        self._by_name = {b.name: b for b in self._buckets}
        self.blocked_until_ns = 0
        self._backoff_s = BACKOFF_START_S
        self._last_429_ns = 0
        self.refused = 0
        """NEW/AMEND refused for want of tokens or during a block."""
        self.waits = 0
        """Requests that waited for a token or for a block to end."""
        self.rate_limited = 0
        """429/418 answers (or venue rate-limit codes) seen."""

    def blocked(self) -> bool:
        """Return whether a 429 block is in force."""
        return self._clock_ns() < self.blocked_until_ns

    def _charge(self, op: Op, now: int) -> int:
        """Return ns to wait before ``op`` fits every bucket (0: it fits, and was charged)."""
        wait = 0
        for b in self._buckets:
            cost = b.costs.get(op)
            if cost is not None:
                b.refill(now)
                wait = max(wait, b.wait_ns(cost))
        if wait == 0:
            for b in self._buckets:
                cost = b.costs.get(op)
                if cost is not None:
                    b.tokens -= cost
        return wait

    def try_acquire(self, op: Op) -> bool:
        """Take the tokens of ``op`` now, or return False (counted) without waiting."""
        now = self._clock_ns()
        if op not in PRIORITY_OPS and now < self.blocked_until_ns:
            self.refused += 1
            return False
        if self._charge(op, now) != 0:
            self.refused += 1
            return False
        return True

    async def acquire(self, op: Op) -> None:
        """Wait until ``op`` may go (tokens, and the block for non-priority ops), then take it."""
        waited = False
        while True:
            now = self._clock_ns()
            if op not in PRIORITY_OPS and now < self.blocked_until_ns:
                delay = self.blocked_until_ns - now
            else:
                delay = self._charge(op, now)
                if delay == 0:
                    break
            if not waited:
                self.waits += 1
                waited = True
            await asyncio.sleep(min(delay / _NS, MAX_WAIT_STEP_S))  # re-check: blocks change

    def on_rate_limited(self, retry_after_s: float | None) -> float:
        """Block the venue after a 429/418; return the block in seconds."""
        now = self._clock_ns()
        self.rate_limited += 1
        if now - self._last_429_ns > BACKOFF_RESET_S * _NS:
            self._backoff_s = BACKOFF_START_S
        self._last_429_ns = now
        if retry_after_s is not None and retry_after_s > 0:
            block = retry_after_s
        else:
            block = self._backoff_s
            self._backoff_s = min(BACKOFF_MAX_S, self._backoff_s * 2)
        self.blocked_until_ns = max(self.blocked_until_ns, now + int(block * _NS))
        for b in self._buckets:  # what we thought was left is wrong: start from empty
            b.tokens = min(b.tokens, 0.0)
            b.last_ns = now
        return block

    def observe(self, usages: Sequence[RateLimitUsage]) -> None:
        """Correct buckets from the venue's own counts (the adapters' ``UsageHook``)."""
        now = self._clock_ns()
        for u in usages:
            b = self._by_name.get(u.window)
            if b is None:
                continue
            if u.limit is not None and u.limit > 0 and u.limit != b.capacity:
                window_ns = b.capacity / b.rate_per_ns
                b.capacity = float(u.limit)
                b.rate_per_ns = b.capacity / window_ns
            if u.remaining is not None:
                left = float(u.remaining)
            elif u.used is not None:
                left = b.capacity - u.used
            else:
                continue
            b.refill(now)
            b.tokens = max(-b.capacity, min(b.capacity, left))
            b.last_ns = now

    def tokens(self, name: str) -> float:
        """Return the tokens left in bucket ``name`` now (for metrics and tests)."""
        b = self._by_name[name]
        b.refill(self._clock_ns())
        return b.tokens
