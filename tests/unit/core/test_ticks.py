"""Exact decimal <-> ticks conversion: Python path, numba byte path, and Decimal agreement."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.ticks import (
    POW10,
    DecimalFormatError,
    Grid,
    OffGridError,
    ParseStatus,
    from_units,
    parse_units,
    split_decimal,
    to_units,
)


def njit_units(text: str, grid: str) -> tuple[int, ParseStatus]:
    g = Grid.parse(grid)
    buf = np.frombuffer(text.encode(), dtype=np.uint8)
    units, status = parse_units(buf, 0, buf.shape[0], g.mantissa, g.exponent, POW10)
    return units, ParseStatus(status)


@pytest.mark.parametrize(
    ("value", "grid", "units"),
    [
        ("43210.10", "0.1", 432101),
        ("43210.10", "0.01", 4321010),
        ("0.00100000", "0.001", 1),
        ("0.00100000", "0.00000001", 100000),
        ("1e-5", "0.00001", 1),
        ("5E+2", "1", 500),
        ("5E+2", "0.5", 1000),
        ("0.3", "0.1", 3),  # 0.3 / 0.1 in floats is 2.9999999999999996
        ("0", "0.1", 0),
        ("0.000", "0.1", 0),
        ("1000000000", "0.00000001", 100000000000000000),
        ("60000.5", "0.5", 120001),
        ("7.5", "2.5", 3),
        (".5", "0.1", 5),
        ("5.", "1", 5),
    ],
)
def test_exact_conversion_both_paths(value: str, grid: str, units: int) -> None:
    assert to_units(value, grid) == units
    assert njit_units(value, grid) == (units, ParseStatus.OK)


@pytest.mark.parametrize(
    ("value", "grid"), [("43210.15", "0.1"), ("0.0015", "0.001"), ("1", "0.3")]
)
def test_off_grid_is_rejected_naming_value_and_grid(value: str, grid: str) -> None:
    with pytest.raises(OffGridError) as info:
        to_units(value, grid)
    assert value in str(info.value)
    assert grid in str(info.value)
    assert njit_units(value, grid)[1] is ParseStatus.OFF_GRID


@pytest.mark.parametrize(
    "text", ["", "abc", "1,5", "nan", "inf", "-inf", "1e", "1e+", "--1", "1.2.3", "0x10", " ", "."]
)
def test_garbage_strings_raise_and_njit_flags_them(text: str) -> None:
    with pytest.raises(DecimalFormatError):
        to_units(text, "0.1")
    assert njit_units(text, "0.1")[1] is not ParseStatus.OK


def test_negative_values_parse_in_python_but_the_book_path_refuses_them() -> None:
    assert to_units("-0.3", "0.1") == -3
    assert njit_units("-0.3", "0.1")[1] is ParseStatus.NEGATIVE


def test_njit_overflow_is_reported_not_wrapped() -> None:
    assert njit_units("99999999999999999999", "1")[1] is ParseStatus.OVERFLOW
    assert njit_units("1e30", "0.1")[1] is ParseStatus.OVERFLOW
    assert njit_units("1e99999", "1")[1] is ParseStatus.OVERFLOW


def test_huge_exponents_are_rejected_without_building_huge_integers() -> None:
    with pytest.raises(DecimalFormatError):
        split_decimal("1e999999")


@pytest.mark.parametrize(
    ("units", "grid", "text"),
    [
        (432101, "0.1", "43210.1"),
        (1, "0.00000001", "0.00000001"),
        (-5, "0.5", "-2.5"),
        (3, "10", "30"),
        (0, "0.01", "0.00"),
        (120001, "0.50", "60000.5"),
    ],
)
def test_units_back_to_order_strings(units: int, grid: str, text: str) -> None:
    assert from_units(units, grid) == text


grids = st.sampled_from(
    ["1", "0.1", "0.01", "0.5", "0.25", "0.001", "0.00000001", "1e-8", "5", "10", "0.0005", "2.5"]
)


@settings(max_examples=300, deadline=None)
@given(grid=grids, units=st.integers(min_value=-(10**17), max_value=10**17))
def test_round_trip_units_string_units(grid: str, units: int) -> None:
    text = from_units(units, grid)
    assert to_units(text, grid) == units
    assert Decimal(text) == Decimal(grid) * units


@settings(max_examples=300, deadline=None)
@given(
    grid=grids,
    value=st.decimals(
        min_value=0, max_value=10**9, allow_nan=False, allow_infinity=False, places=9
    ),
    style=st.sampled_from(["plain", "sci", "trailing"]),
)
def test_agrees_with_decimal_on_random_inputs(grid: str, value: Decimal, style: str) -> None:
    text = {"plain": f"{value:f}", "sci": f"{value:e}", "trailing": f"{value:f}000"}[style]
    exact = Decimal(text) / Decimal(grid)
    if exact == exact.to_integral_value():
        assert to_units(text, grid) == int(exact)
        units, status = njit_units(text, grid)
        assert (units, status) == (int(exact), ParseStatus.OK)
    else:
        with pytest.raises(OffGridError):
            to_units(text, grid)
        assert njit_units(text, grid)[1] is ParseStatus.OFF_GRID


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=24))
def test_random_text_never_crashes_and_both_paths_agree(text: str) -> None:
    try:
        expected: int | None = to_units(text, "0.01")
    except (DecimalFormatError, OffGridError):
        expected = None
    data = text.encode("utf-8")
    buf = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, dtype=np.uint8)
    units, status = parse_units(buf, 0, buf.shape[0], 1, -2, POW10)
    if status == ParseStatus.OK:
        # the byte path never accepts what the exact path rejects
        assert expected == units
    elif expected is not None and expected >= 0 and text.strip() == text:
        assert status == ParseStatus.OVERFLOW


def test_one_e_minus_eight_ticks_at_one_e_nine_prices() -> None:
    assert to_units("999999999.99999999", "0.00000001") == 99999999999999999
    assert njit_units("999999999.99999999", "0.00000001") == (99999999999999999, ParseStatus.OK)
