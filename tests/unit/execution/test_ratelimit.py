"""Rate limits: buckets, venue usage corrections, 429 back-off and what still goes out."""

from __future__ import annotations

import asyncio

from bot.adapters.trading import RateLimitUsage
from bot.core.dtypes import VenueId
from bot.execution.ratelimit import BucketSpec, Op, VenueLimiter

S = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.t = 10 * S

    def __call__(self) -> int:
        return self.t


def limiter(clock: Clock, capacity: float = 5, window_s: float = 1) -> VenueLimiter:
    spec = BucketSpec("orders-1s", capacity, window_s, ((Op.NEW, 1.0), (Op.CANCEL, 1.0)))
    return VenueLimiter(VenueId.SIM, [spec], clock_ns=clock)


def test_bucket_refuses_past_capacity_and_refills_with_time() -> None:
    clock = Clock()
    lim = limiter(clock)
    assert all(lim.try_acquire(Op.NEW) for _ in range(5))
    refused = lim.refused
    assert not lim.try_acquire(Op.NEW)
    assert lim.refused == refused + 1
    clock.t += S // 5  # one token back at 5/s
    assert lim.try_acquire(Op.NEW)
    assert not lim.try_acquire(Op.NEW)


def test_venue_usage_header_corrects_our_count() -> None:
    clock = Clock()
    lim = limiter(clock, capacity=100)
    lim.observe((RateLimitUsage("orders-1s", used=98),))  # others spent most of it
    assert lim.try_acquire(Op.NEW)
    assert lim.try_acquire(Op.NEW)
    assert not lim.try_acquire(Op.NEW)
    lim.observe((RateLimitUsage("orders-1s", used=0, limit=200),))
    assert lim.tokens("orders-1s") == 200
    lim.observe((RateLimitUsage("orders-1s", remaining=1),))  # Bybit/BitMEX say what is left
    assert lim.try_acquire(Op.NEW)
    assert not lim.try_acquire(Op.NEW)
    lim.observe((RateLimitUsage("weight-1m", used=5),))  # a window this venue has not: ignored
    assert lim.tokens("orders-1s") < 1


def test_after_429_only_cancels_go_out_until_retry_after() -> None:
    clock = Clock()
    lim = limiter(clock)
    block = lim.on_rate_limited(retry_after_s=2.0)
    assert block == 2.0
    assert lim.blocked()
    assert not lim.try_acquire(Op.NEW)
    assert lim.try_acquire(Op.CANCEL) is False  # no tokens either: but a cancel waits instead
    clock.t += 3 * S
    assert not lim.blocked()
    assert lim.try_acquire(Op.NEW)


def test_429_without_retry_after_backs_off_exponentially() -> None:
    clock = Clock()
    lim = limiter(clock)
    blocks = [lim.on_rate_limited(None) for _ in range(4)]
    assert blocks == [1.0, 2.0, 4.0, 8.0]


async def test_cancel_waits_for_a_token_while_blocked_and_is_counted() -> None:
    lim = VenueLimiter(
        VenueId.SIM, [BucketSpec("orders-1s", 20, 1, ((Op.CANCEL, 1.0), (Op.QUERY, 1.0)))]
    )
    for _ in range(20):
        assert lim.try_acquire(Op.CANCEL)
    lim.on_rate_limited(retry_after_s=30.0)  # blocks reads for 30 s, not cancels
    waits = lim.waits
    async with asyncio.timeout(2.0):
        await lim.acquire(Op.CANCEL)  # waits ~50 ms for a token, not 30 s for the block
    assert lim.waits == waits + 1
    assert lim.blocked()
