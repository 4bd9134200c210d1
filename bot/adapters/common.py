"""Helpers every venue feed shares: grid tables for kernels, symbol tables, exact conversions.

Nothing here does I/O. The tables are plain numpy arrays so that numba kernels can take them as
arguments (numba freezes globals, so per-instrument data is never a global).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

import numpy as np

from bot.adapters.base import EventBuffer, FeedStats, InstrumentRef
from bot.core.book import ST_VALID
from bot.core.dtypes import EventFlag, EventKind
from bot.core.ticks import INT64_MAX, DecimalFormatError, Grid, OffGridError


def symbol_table(symbols: Sequence[str], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(bytes[n, width], lengths[n])`` for matching symbols inside kernels."""
    table = np.zeros((max(1, len(symbols)), width), dtype=np.uint8)
    lengths = np.zeros(max(1, len(symbols)), dtype=np.int64)
    for k, symbol in enumerate(symbols):
        raw = symbol.encode("ascii")
        if len(raw) > width:
            raise ValueError(f"symbol {symbol!r} is longer than {width} bytes")
        table[k, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        lengths[k] = len(raw)
    return table, lengths


def pack_symbols(table: np.ndarray, first_col: int, len_col: int, symbols: Sequence[str]) -> None:
    """Store each symbol's bytes little-endian in 4 int64 columns from ``first_col`` (32 bytes).

    Kernels then match a symbol against one table they already take, with no extra argument.
    """
    for k, symbol in enumerate(symbols):
        raw = symbol.encode("ascii")
        if len(raw) > 32:
            raise ValueError(f"symbol {symbol!r} is longer than 32 bytes")
        table[k, len_col] = len(raw)
        padded = raw.ljust(32, b"\0")
        for j in range(4):
            table[k, first_col + j] = int.from_bytes(
                padded[8 * j : 8 * j + 8], "little", signed=True
            )


def grid_columns(ref: InstrumentRef) -> tuple[int, int, int, int]:
    """Return ``(tick_mantissa, tick_exponent, lot_mantissa, lot_exponent)`` for kernels."""
    return ref.tick.mantissa, ref.tick.exponent, ref.lot.mantissa, ref.lot.exponent


def units_or_none(grid: Grid, text: object) -> int | None:
    """Return ``text`` in exact grid units, or None if it is not a decimal string on the grid."""
    if not isinstance(text, str):
        return None
    try:
        return _int64(grid.to_units(text))
    except (DecimalFormatError, OffGridError):
        return None


def _int64(units: int) -> int | None:
    """Return ``units`` if it fits an int64 event field, else None (malformed, not a crash)."""
    return units if -INT64_MAX <= units <= INT64_MAX else None


def rounded_units(grid: Grid, text: object) -> int | None:
    """Return ``text`` rounded half-even to the grid (mark/index prices are not on the tick grid).

    Returns None for anything that is not a finite decimal string.
    """
    if not isinstance(text, str):
        return None
    try:
        return _int64(grid.to_units(text))
    except OffGridError:
        pass
    except DecimalFormatError:
        return None
    try:
        value = Decimal(text) / grid.to_decimal(1)
        return _int64(int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)))
    except (InvalidOperation, ValueError):
        return None


def ms_to_ns(value: object) -> int:
    """Return a venue millisecond timestamp (int or digit string) in ns; 0 if unusable."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, str) and value.isdigit() and len(value) <= 18:
        value = int(value)
    if isinstance(value, int) and 0 <= value <= INT64_MAX // 1_000_000:
        return value * 1_000_000
    return 0


def invalidate(
    out: EventBuffer,
    state: np.ndarray,
    stats: FeedStats,
    *,
    venue: int,
    instrument: int,
    ts_local_ns: int,
    reason: str,
    seq: int = 0,
) -> None:
    """Mark a book out of sync: ``ST_VALID = 0``, a BOOK_INVALID row, and count the resync."""
    state[instrument, ST_VALID] = 0
    out.append(
        EventKind.BOOK_INVALID,
        instrument,
        0,
        ts_local_ns,
        flags=EventFlag.BATCH_END,
        venue=venue,
        seq=seq,
    )
    stats.resyncs += 1
    stats.by_reason[reason] = stats.by_reason.get(reason, 0) + 1
