"""The one place where single venue values become event fields (prices, sizes, timestamps).

Book levels go through the numba scanner in ``bot.adapters.wire.levels``; the handful of scalar
values per message (a trade, a ticker) go through these helpers, which reuse the exact algorithm
of ``bot.core.ticks`` and add the bounds every event field needs (int64, non-negative sizes).

Error policy, the same everywhere: a value that cannot be represented raises ``ValueError``
(parsers count the message as malformed); the ``*_or_none`` forms return None instead for
parsers that report a boolean. In kernels ``kernel_ms_to_ns`` returns -1 for the same cases.

Rounding rule: book, trade and order prices and sizes must be exactly on the grid
(``exact_units``). Reference values that venues publish finer than the grid (mark and index
prices, funding rates) are rounded to the nearest step, ties away from zero (``nearest_units``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from numba import njit

from bot.core.ticks import INT64_MAX, MAX_VALUE_EXPONENT, Grid, OffGridError, split_decimal

FUNDING_GRID = Grid.parse("1e-9")
"""Funding rates travel in event ``aux`` as integer units of 1e-9."""

_NS_PER_MS = 1_000_000
_MAX_MS = INT64_MAX // _NS_PER_MS
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _bounded(value: int, what: str) -> int:
    if not -INT64_MAX <= value <= INT64_MAX:
        raise ValueError(f"{what} out of int64 range")
    return value


def _split(value: str | int | Decimal) -> tuple[int, int]:
    """Return ``(mantissa, exponent)`` of a venue number exactly, with fast paths for the usual
    ``"123.45"`` strings, ints and Decimals (the general parser handles everything else)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int):
        return value, 0
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value}")
        value = str(value)  # exact; "1.814E-5" style goes through split_decimal below
    whole, _, frac = value.partition(".")
    digits = whole + frac
    if len(digits) <= 40 and digits.isascii() and digits.isdigit() and whole:
        return int(digits), -len(frac)
    return split_decimal(value)


def _ratio(grid: Grid, value: str | int | Decimal) -> tuple[int, int]:
    """Return ``value / grid`` as an integer fraction ``(numerator, denominator > 0)``."""
    mantissa, exponent = _split(value)
    shift = exponent - grid.exponent
    if shift > MAX_VALUE_EXPONENT or shift < -MAX_VALUE_EXPONENT:
        raise ValueError(f"value out of range: {value!r}")
    if shift >= 0:
        return mantissa * 10**shift, grid.mantissa
    return mantissa, grid.mantissa * 10 ** (-shift)


def exact_units(grid: Grid, value: str | int | Decimal, what: str = "value") -> int:
    """Return ``value`` in whole steps of ``grid``; raise ``ValueError`` if off-grid or negative."""
    numerator, denominator = _ratio(grid, value)
    units, remainder = divmod(numerator, denominator)
    if remainder:
        raise OffGridError(f"{what} {value!r} is not a multiple of the grid step {grid.text!r}")
    if units < 0:
        raise ValueError(f"{what} must not be negative")
    return _bounded(units, what)


def nearest_units(grid: Grid, value: str | int | Decimal, what: str = "value") -> tuple[int, bool]:
    """Return ``value`` rounded to the nearest step of ``grid`` (ties away from zero), and whether
    it was exact. For reference values that venues publish finer than the tick (mark prices,
    funding rates); order and book prices always use ``exact_units``.
    """
    numerator, denominator = _ratio(grid, value)
    quotient, remainder = divmod(abs(numerator), denominator)
    if 2 * remainder >= denominator:
        quotient += 1
    units = quotient if numerator >= 0 else -quotient
    return _bounded(units, what), remainder == 0


MAX_MS = _MAX_MS
"""Largest millisecond timestamp whose nanosecond value fits int64."""


@njit(cache=True, nogil=True)
def kernel_ms_to_ns(ms: int) -> int:
    """Return ``ms`` in ns, or -1 when it is negative or would overflow int64 (kernels' form)."""
    if ms < 0 or ms > MAX_MS:
        return -1
    return ms * _NS_PER_MS


def ms_to_ns(value: str | int) -> int:
    """Return a millisecond timestamp (string or int) in nanoseconds; ``ValueError`` if unusable."""
    if isinstance(value, bool):
        raise ValueError("expected a timestamp, got a boolean")
    ms = int(value)
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"timestamp out of range: {value!r}")
    return ms * _NS_PER_MS


def exact_or_none(grid: Grid, value: object) -> int | None:
    """Return ``exact_units(grid, value)``, or None where it would raise (or for a non-number)."""
    if not isinstance(value, str | int | Decimal):
        return None
    try:
        return exact_units(grid, value)
    except ValueError:
        return None


def nearest_or_none(grid: Grid, value: object) -> int | None:
    """Return ``nearest_units(grid, value)[0]``, or None where it would raise."""
    if not isinstance(value, str | int | Decimal):
        return None
    try:
        return nearest_units(grid, value)[0]
    except ValueError:
        return None


def iso_to_ns(text: str) -> int:
    """Return an ISO-8601 UTC timestamp such as ``2021-07-22T22:36:10.087Z`` in nanoseconds."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {text!r}")
    return (moment - _EPOCH) // _MICROSECOND * 1000


def trade_id(text: str | int) -> int:
    """Return a numeric trade id as int64 for ``aux`` (0 when the venue's id is not a number)."""
    value = text if isinstance(text, int) and not isinstance(text, bool) else None
    if value is None and isinstance(text, str) and text.isdigit():
        value = int(text)
    if value is None or not 0 <= value <= INT64_MAX:
        return 0
    return value
