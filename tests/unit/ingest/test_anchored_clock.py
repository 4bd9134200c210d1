"""The recorder's receive clock never goes back, even when the system clock is stepped."""

from __future__ import annotations

import itertools
import time

import pytest

from bot.ingest import recorder
from bot.ingest.recorder import AnchoredClock


def test_a_stepped_wall_clock_does_not_move_capture_time_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = AnchoredClock()
    before = clock()
    assert abs(before - time.time_ns()) < 5_000_000_000  # anchored to wall time
    # the system clock steps back an hour (NTP): the capture clock does not follow
    real = time.time_ns
    monkeypatch.setattr(recorder.time, "time_ns", lambda: real() - 3_600_000_000_000)
    after = [clock() for _ in range(1000)]
    assert after[0] >= before
    assert all(b >= a for a, b in itertools.pairwise(after))
