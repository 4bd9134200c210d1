"""Scalar conversions of venue values agree with the exact ``bot.core.ticks`` algorithm."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.wire.scalars import exact_units, iso_to_ns, ms_to_ns, nearest_units, trade_id
from bot.core.ticks import INT64_MAX, DecimalFormatError, Grid, OffGridError

GRIDS = st.sampled_from(["0.1", "0.5", "0.001", "0.00000001", "1", "100", "0.25", "1e-9"])
TEXTS = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=8).map(str),
    st.from_regex(r"\A[0-9]{0,12}(\.[0-9]{0,10})?\Z"),
    st.text(max_size=12),
)


@settings(max_examples=400, deadline=None)
@given(grid=GRIDS, text=TEXTS)
def test_exact_units_agrees_with_grid_to_units(grid, text):
    g = Grid.parse(grid)
    try:
        expected = g.to_units(text)
    except (DecimalFormatError, OffGridError):
        with pytest.raises(ValueError):
            exact_units(g, text)
        return
    if expected < 0 or expected > INT64_MAX:
        with pytest.raises(ValueError, match=r"negative|int64"):
            exact_units(g, text)
    else:
        assert exact_units(g, text) == expected
        assert exact_units(g, Decimal(text)) == expected


def test_nearest_units_rounds_half_away_from_zero():
    g = Grid.parse("0.5")
    assert nearest_units(g, "32181.37") == (64363, False)
    assert nearest_units(g, "0.25") == (1, False)
    assert nearest_units(g, "-0.25") == (-1, False)
    assert nearest_units(g, Decimal("95125.5")) == (190251, True)


def test_bounds_and_timestamps():
    with pytest.raises(ValueError, match="int64"):
        exact_units(Grid.parse("1e-9"), "9" * 30)
    with pytest.raises(ValueError, match="boolean"):
        exact_units(Grid.parse("1"), True)
    assert ms_to_ns("1652459225453") == 1652459225453_000_000
    with pytest.raises(ValueError, match="range"):
        ms_to_ns(-1)
    assert iso_to_ns("2021-07-22T22:36:09.757Z") == 1626993369757_000_000
    with pytest.raises(ValueError, match="time zone"):
        iso_to_ns("2021-07-22T22:36:09")
    assert trade_id("338476307") == 338476307
    assert trade_id("a36d1fb8") == 0
