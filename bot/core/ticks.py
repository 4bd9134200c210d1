"""Exact conversion between venue decimal strings and integer ticks / lots.

A venue sends ``"43210.10"``; with a tick size of ``"0.1"`` that is 432101 ticks. The conversion
is done once, at the edge, with integer arithmetic only: a value is parsed as ``M * 10**E``
(integers), the grid as ``G * 10**F``, and ``units = M * 10**(E-F) / G`` must be an exact integer,
otherwise the value is off the grid and rejected. No float is ever involved, so ``"0.3"`` on a
``"0.1"`` grid is exactly 3 units, where ``0.3 / 0.1`` in floats is 2.9999999999999996.

Two implementations share that algorithm:

* ``to_units`` / ``from_units`` and the ``Grid`` class: Python ints (unbounded), for config,
  instrument specs, order strings, converters and tests; errors raise with value and grid named.
* ``parse_units``: an ``@njit`` kernel over a byte buffer, for the per-message hot path (no Python
  object per level); it returns a status code instead of raising, and bounds values to int64.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum

import numpy as np
from numba import njit

INT64_MAX = (1 << 63) - 1
MAX_ABS_EXPONENT = 60
"""Exponents beyond this are rejected: no tick or lot grid needs them, and 1e999999999 must not
make us build a billion-digit integer."""
MAX_VALUE_EXPONENT = 400
"""Values beyond 10**±400 are rejected as malformed (the numba path has the same bound)."""

_DECIMAL_RE = re.compile(r"^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d{1,6}))?$", re.ASCII)


class ParseStatus(IntEnum):
    """Result of ``parse_units``; anything but OK means the value must be dropped."""

    OK = 0
    EMPTY = 1
    BAD_CHAR = 2
    OVERFLOW = 3
    OFF_GRID = 4
    NEGATIVE = 5


class DecimalFormatError(ValueError):
    """A string is not a finite decimal number."""


class OffGridError(ValueError):
    """A value is not a whole multiple of its grid (tick or lot size)."""


def split_decimal(text: str) -> tuple[int, int]:
    """Return ``(mantissa, exponent)`` with ``text == mantissa * 10**exponent`` exactly.

    The mantissa carries the sign and has no trailing zeros (0 is ``(0, 0)``). Accepts the forms
    venues use: ``"43210.10"``, ``".5"``, ``"5."``, ``"1e-5"``, ``"5E+2"``, ``"-0.001"``.
    Raises ``DecimalFormatError`` for anything else (``nan``, ``inf``, ``"1,5"``, ``""``, ...).
    """
    if not isinstance(text, str):
        raise DecimalFormatError(f"expected a decimal string, got {type(text).__name__}")
    match = _DECIMAL_RE.match(text.strip())
    if match is None:
        raise DecimalFormatError(f"not a decimal number: {text!r}")
    sign, int_part, frac_part, exp_part = match.groups()
    frac_part = frac_part or ""
    if not int_part and not frac_part:
        raise DecimalFormatError(f"not a decimal number: {text!r}")
    exponent = int(exp_part or 0) - len(frac_part)
    digits = (int_part + frac_part).lstrip("0")
    if not digits:
        return 0, 0
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    if abs(exponent) > MAX_VALUE_EXPONENT:
        raise DecimalFormatError(f"exponent out of range in {text!r}")
    mantissa = int(stripped)
    return (-mantissa if sign == "-" else mantissa), exponent


@dataclass(frozen=True, slots=True)
class Grid:
    """A tick or lot size: ``mantissa * 10**exponent``, with ``mantissa > 0``.

    ``decimals`` is how many fraction digits an exact value on this grid needs when written out.
    """

    text: str
    mantissa: int
    exponent: int

    @classmethod
    def parse(cls, text: str) -> Grid:
        """Parse a grid such as ``"0.1"`` or ``"1e-8"``; it must be a positive number."""
        mantissa, exponent = split_decimal(text)
        if mantissa <= 0:
            raise DecimalFormatError(f"a grid step must be positive, got {text!r}")
        if not (-MAX_ABS_EXPONENT <= exponent <= MAX_ABS_EXPONENT) or mantissa > INT64_MAX:
            raise DecimalFormatError(f"grid step out of range: {text!r}")
        return cls(text=text, mantissa=mantissa, exponent=exponent)

    @property
    def decimals(self) -> int:
        """Fraction digits needed to write any multiple of this grid exactly."""
        return max(0, -self.exponent)

    def to_units(self, value: str) -> int:
        """Return ``value`` as a whole number of grid steps; raise if it is off the grid."""
        mantissa, exponent = split_decimal(value)
        if mantissa == 0:
            return 0
        shift = exponent - self.exponent
        if shift >= 0:
            numerator, denominator = mantissa * 10**shift, self.mantissa
        else:
            numerator, denominator = mantissa, self.mantissa * 10 ** (-shift)
        units, remainder = divmod(numerator, denominator)
        if remainder:
            raise OffGridError(f"{value!r} is not a multiple of the grid step {self.text!r}")
        return units

    def to_str(self, units: int) -> str:
        """Return the exact decimal string for ``units`` grid steps (as an order needs it)."""
        scaled = int(units) * self.mantissa  # value = scaled * 10**exponent
        if self.exponent >= 0:
            return str(scaled * 10**self.exponent)
        sign = "-" if scaled < 0 else ""
        digits = str(abs(scaled)).rjust(self.decimals + 1, "0")
        return f"{sign}{digits[: -self.decimals]}.{digits[-self.decimals :]}"

    def to_decimal(self, units: int) -> Decimal:
        """Return ``units`` grid steps as an exact ``Decimal``."""
        return Decimal(self.to_str(units))


def to_units(value: str, grid: str) -> int:
    """Convert a decimal string to whole grid steps, exactly (see ``Grid.to_units``)."""
    return Grid.parse(grid).to_units(value)


def from_units(units: int, grid: str) -> str:
    """Convert whole grid steps back to the exact decimal string (see ``Grid.to_str``)."""
    return Grid.parse(grid).to_str(units)


# ------------------------------------------------------------------------------------------------
# Hot path: bytes -> units inside numba, no Python objects.

_POW10 = np.array([10**i for i in range(19)], dtype=np.int64)


@njit(cache=True, nogil=True)
def _mul_pow10(value: int, power: int, pow10: np.ndarray) -> tuple[int, bool]:
    """Return ``value * 10**power`` and whether it fits in int64 (value >= 0, power >= 0)."""
    if value == 0:
        return 0, True
    if power > 18:
        return 0, False
    factor = pow10[power]
    if value > (9223372036854775807 // factor):
        return 0, False
    return value * factor, True


@njit(cache=True, nogil=True)
def parse_units(
    buf: np.ndarray, start: int, end: int, grid_mantissa: int, grid_exponent: int, pow10: np.ndarray
) -> tuple[int, int]:
    """Parse ``buf[start:end]`` (ASCII decimal) into grid units; return ``(units, ParseStatus)``.

    Same algorithm as ``Grid.to_units`` but bounded to int64 and free of allocation. Negative
    values are rejected with ``NEGATIVE`` (prices and sizes on a book are never negative).
    Pass ``POW10`` as ``pow10`` (numba freezes globals, so tables are arguments).
    """
    if end <= start:
        return 0, 1  # EMPTY
    i = start
    negative = False
    c = int(buf[i])
    if c == 45 or c == 43:  # '-' '+'
        negative = c == 45
        i += 1
    mantissa = 0
    exponent = 0
    pending_zeros = 0
    seen_digit = False
    in_fraction = False
    while i < end:
        c = int(buf[i])
        if 48 <= c <= 57:
            seen_digit = True
            if in_fraction:
                exponent -= 1
            if c == 48:
                pending_zeros += 1
            else:
                scaled, ok = _mul_pow10(mantissa, pending_zeros + 1, pow10)
                if not ok or scaled > 9223372036854775807 - (c - 48):
                    return 0, 3  # OVERFLOW
                mantissa = scaled + (c - 48)
                pending_zeros = 0
        elif c == 46 and not in_fraction:  # '.'
            in_fraction = True
        elif c == 101 or c == 69:  # 'e' 'E'
            break
        else:
            return 0, 2  # BAD_CHAR
        i += 1
    if not seen_digit:
        return 0, 2
    exponent += pending_zeros
    if i < end:  # exponent part
        i += 1
        exp_negative = False
        if i < end and (buf[i] == 45 or buf[i] == 43):
            exp_negative = buf[i] == 45
            i += 1
        if i >= end:
            return 0, 2
        exp_value = 0
        while i < end:
            c = int(buf[i])
            if not (48 <= c <= 57):
                return 0, 2
            exp_value = exp_value * 10 + (c - 48)
            if exp_value > 400:
                return 0, 3
            i += 1
        exponent += -exp_value if exp_negative else exp_value
    if mantissa == 0:
        return 0, 0
    if negative:
        return 0, 5  # NEGATIVE
    shift = exponent - grid_exponent
    if shift >= 0:
        numerator, ok = _mul_pow10(mantissa, shift, pow10)
        if not ok:
            return 0, 3
        if numerator % grid_mantissa != 0:
            return 0, 4  # OFF_GRID
        return numerator // grid_mantissa, 0
    denominator, ok = _mul_pow10(grid_mantissa, -shift, pow10)
    if not ok or mantissa % denominator != 0:
        return 0, 4
    return mantissa // denominator, 0


POW10 = _POW10
