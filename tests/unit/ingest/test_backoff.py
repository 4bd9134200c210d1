"""Reconnect backoff: exponential ceiling, full jitter, cap."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.backoff import Backoff


def test_ceiling_grows_exponentially_up_to_the_cap() -> None:
    b = Backoff(base_s=0.5, cap_s=30.0, factor=2.0)
    assert [b.ceiling(k) for k in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert b.ceiling(10_000) == 30.0


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_full_jitter_stays_within_the_ceiling(attempt: int, seed: int) -> None:
    b = Backoff()
    delay = b.delay(attempt, random.Random(seed))
    assert 0.0 <= delay <= b.ceiling(attempt)


def test_jitter_spreads_delays_and_is_reproducible_with_a_seed() -> None:
    b = Backoff(base_s=1.0, cap_s=1.0)
    delays = [b.delay(3, random.Random(seed)) for seed in range(200)]
    assert min(delays) < 0.1
    assert max(delays) > 0.9
    # the delay draws on the generator it is given only, never on the global one
    random.seed(1)
    first = b.delay(3, random.Random(5))
    random.seed(2)
    assert b.delay(3, random.Random(5)) == first


@pytest.mark.parametrize(
    "kwargs", [{"base_s": -1.0}, {"base_s": 2.0, "cap_s": 1.0}, {"factor": 0.5}]
)
def test_invalid_settings_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)
