"""``--latency`` as a seeded distribution: its shape, its seed, and the errors a user can make."""

from __future__ import annotations

import numpy as np
import pytest

from bot.backtest.session import LATENCY_SAMPLES, SetupError, latency_distribution


def test_lognormal_has_the_median_and_p99_asked_for() -> None:
    entry, response = latency_distribution("lognormal:median=2ms,p99=8ms", seed=3)
    for draws in (entry, response):
        assert draws.dtype == np.int64
        assert draws.shape == (LATENCY_SAMPLES,)
        assert (draws > 0).all()
        assert np.median(draws) == pytest.approx(2_000_000, rel=0.03)
        assert np.quantile(draws, 0.99) == pytest.approx(8_000_000, rel=0.08)
    assert not np.array_equal(entry, response)  # each direction is its own draw


def test_the_seed_fixes_the_draw() -> None:
    spec = "lognormal: median=500us, p99=3ms"
    a = latency_distribution(spec, seed=1)
    b = latency_distribution(spec, seed=1)
    c = latency_distribution(spec, seed=2)
    assert np.array_equal(a[0], b[0])
    assert np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(
    "spec",
    [
        "gamma:median=2ms,p99=8ms",
        "lognormal:median=2ms",
        "lognormal:median=2ms,p99=8ms,p99=9ms",
        "lognormal:median=8ms,p99=2ms",
        "lognormal:median=0ms,p99=2ms",
        "lognormal:median=fast,p99=2ms",
    ],
)
def test_bad_distributions_are_one_clear_setup_error(spec: str) -> None:
    with pytest.raises(SetupError, match=r"latency|duration"):
        latency_distribution(spec, seed=0)
