"""One numba kernel that turns CSV lines into an int64 table, for every converter.

A format names the columns it reads and how to read each one (``Col``); ``scan_table`` parses a
block of whole lines into ``out[row, ...]``: the instrument id, the line number, then one int64
per column. Prices and sizes are exact units of the instrument's grid (``UNITS``), or the
nearest unit for values the venue publishes finer than its grid (``NEAREST``: mark and index
prices, funding rates, cumulative sizes, as the live adapters round them). Empty fields are
``MISSING``; a format decides whether that is an error. The kernel stops at the first line it
cannot take and returns a ``ScanStatus``; the caller turns it into one line of error text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numba import njit

from bot.data.csvscan import ScanStatus, line_end, split_fields

MISSING = np.iinfo(np.int64).min
"""An empty field."""
ENUM_WIDTH = 16
"""Longest enum text (``unknown``, ``snap``, ``bid``, ...)."""
OUT_INST = 0
"""Output column of the instrument id (-1: a symbol left out by ``--symbols``)."""
OUT_LINE = 1
"""Output column of the line number."""
OUT_FIRST = 2
"""Output column of the first requested field."""
MAX_FIELDS = 128
_DIGITS_INT64 = 19
_MAX_EXPONENT = 400
_SECONDS_PER_DAY = 86_400
_NS = 1_000_000_000


class ColKind(IntEnum):
    """How a column is read."""

    INT = 0
    """A non-negative integer (ids, timestamps, counts)."""
    UNITS = 1
    """A decimal exactly on a grid (prices on the tick, sizes on the lot); off grid is an error."""
    NEAREST = 2
    """A signed decimal rounded to the nearest grid unit (half away from zero)."""
    BOOL = 3
    """``true``/``false`` in any case: 1 or 0."""
    DATETIME = 4
    """``YYYY-MM-DD HH:MM:SS[.fraction]`` in UTC, as ns since the epoch."""
    ENUM = 5
    """One of the column's texts: its index in ``Col.enums``."""
    ID = 6
    """A trade id: its value when numeric, else ``MISSING`` (GUIDs and empty ids are kept out)."""


class Grid(IntEnum):
    """Which grid a UNITS or NEAREST column is on."""

    TICK = 0
    LOT = 1
    FIXED = 2
    """The column's own ``exponent`` (mantissa 1), e.g. 1e-9 for funding rates."""


@dataclass(frozen=True)
class Col:
    """One column a format reads: its header name, kind, grid and enum texts."""

    name: str
    kind: ColKind
    grid: Grid = Grid.FIXED
    exponent: int = 0
    enums: tuple[str, ...] = ()


def col_arrays(cols: list[Col], positions: list[int]) -> tuple[np.ndarray, ...]:
    """Return the kernel's column description arrays for ``cols`` at file ``positions``."""
    enum_text = np.zeros((max(1, sum(len(c.enums) for c in cols)), ENUM_WIDTH), np.uint8)
    enum_len = np.zeros(enum_text.shape[0], np.int64)
    enum_col = np.full(enum_text.shape[0], -1, np.int64)
    enum_value = np.zeros(enum_text.shape[0], np.int64)
    k = 0
    for j, c in enumerate(cols):
        for v, text in enumerate(c.enums):
            raw = text.encode()
            enum_text[k, : len(raw)] = np.frombuffer(raw, np.uint8)
            enum_len[k], enum_col[k], enum_value[k] = len(raw), j, v
            k += 1
    meta = np.array(
        [[p, int(c.kind), int(c.grid), c.exponent] for p, c in zip(positions, cols, strict=True)],
        dtype=np.int64,
    ).reshape(len(cols), 4)
    return meta, enum_text, enum_len, enum_col, enum_value


@njit(cache=True, nogil=True)
def _parse_int(buf: np.ndarray, start: int, end: int) -> tuple[int, int]:
    if end <= start:
        return MISSING, 0
    if end - start > _DIGITS_INT64:
        return 0, 8  # OVERFLOW
    value = 0
    for i in range(start, end):
        c = int(buf[i])
        if c < 48 or c > 57:
            return 0, 3  # BAD_NUMBER
        digit = c - 48
        if value > (9223372036854775807 - digit) // 10:
            return 0, 8
        value = value * 10 + digit
    return value, 0


@njit(cache=True, nogil=True)
def _parse_decimal(buf: np.ndarray, start: int, end: int) -> tuple[int, int, bool, int]:
    """Return ``(mantissa, exponent, negative, status)`` of a decimal (``1.5e-3`` too)."""
    i = start
    negative = False
    c = int(buf[i])
    if c == 45 or c == 43:
        negative = c == 45
        i += 1
    mantissa = 0
    exponent = 0
    digits = 0
    seen = False
    frac = False
    while i < end:
        c = int(buf[i])
        if 48 <= c <= 57:
            seen = True
            if digits < 18:
                mantissa = mantissa * 10 + (c - 48)
                if mantissa != 0:
                    digits += 1
                if frac:
                    exponent -= 1
            elif c != 48:
                return 0, 0, False, 8  # more precision than int64 holds
            elif not frac:
                exponent += 1
        elif c == 46 and not frac:
            frac = True
        elif c == 101 or c == 69:
            break
        else:
            return 0, 0, False, 3
        i += 1
    if not seen:
        return 0, 0, False, 3
    if i < end:
        i += 1
        sign = 1
        if i < end and (buf[i] == 45 or buf[i] == 43):
            sign = -1 if buf[i] == 45 else 1
            i += 1
        if i >= end:
            return 0, 0, False, 3
        e = 0
        while i < end:
            c = int(buf[i])
            if c < 48 or c > 57:
                return 0, 0, False, 3
            e = e * 10 + (c - 48)
            if e > _MAX_EXPONENT:
                return 0, 0, False, 8
            i += 1
        exponent += sign * e
    return mantissa, exponent, negative, 0


@njit(cache=True, nogil=True)
def _to_grid(
    mantissa: int, exponent: int, grid_m: int, grid_e: int, nearest: bool, pow10: np.ndarray
) -> tuple[int, int]:
    """Return ``mantissa * 10**exponent / (grid_m * 10**grid_e)`` as units and a status."""
    if mantissa == 0:
        return 0, 0
    shift = exponent - grid_e
    if shift >= 0:
        if shift > _DIGITS_INT64 - 1 or mantissa > 9223372036854775807 // pow10[shift]:
            return 0, 8
        num = mantissa * pow10[shift]
        den = grid_m
    else:
        if -shift > _DIGITS_INT64 - 1 or grid_m > 9223372036854775807 // pow10[-shift]:
            return 0, 0 if nearest else 4  # finer than int64 holds: 0 (nearest) or off grid
        num = mantissa
        den = grid_m * pow10[-shift]
    q, rem = num // den, num % den
    if rem == 0:
        return q, 0
    if not nearest:
        return 0, 4  # OFF_GRID
    return q + (1 if 2 * rem >= den else 0), 0


@njit(cache=True, nogil=True)
def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True)
def _digits(buf: np.ndarray, start: int, n: int) -> int:
    value = 0
    for i in range(start, start + n):
        c = int(buf[i])
        if c < 48 or c > 57:
            return -1
        value = value * 10 + (c - 48)
    return value


@njit(cache=True, nogil=True)
def _parse_datetime(buf: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """``YYYY-MM-DD HH:MM:SS[.f]`` (``T`` also accepted) as ns since the epoch, UTC."""
    if end - start < 19:
        return 0, 3
    y = _digits(buf, start, 4)
    mo = _digits(buf, start + 5, 2)
    d = _digits(buf, start + 8, 2)
    h = _digits(buf, start + 11, 2)
    mi = _digits(buf, start + 14, 2)
    s = _digits(buf, start + 17, 2)
    if min(y, mo, d, h, mi, s) < 0 or not (1 <= mo <= 12 and 1 <= d <= 31 and h < 24):
        return 0, 3
    if mi > 59 or s > 60 or buf[start + 4] != 45 or buf[start + 7] != 45:
        return 0, 3
    ns = ((_days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s
    ns *= _NS
    i = start + 19
    if i < end:
        if buf[i] != 46:
            return 0, 3
        scale = _NS // 10
        i += 1
        while i < end:
            c = int(buf[i])
            if c < 48 or c > 57:
                return 0, 3
            ns += (c - 48) * scale
            scale //= 10
            i += 1
    return ns, 0


@njit(cache=True, nogil=True)
def _lookup(buf, start, end, keys, key_len, n_keys):
    n = end - start
    for k in range(n_keys):
        if key_len[k] != n:
            continue
        same = True
        for i in range(n):
            if keys[k, i] != buf[start + i]:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True, nogil=True)
def scan_table(
    buf,
    pos,
    line,
    r,
    ncols,
    key_lo,
    key_hi,
    fixed_inst,
    keys,
    key_len,
    n_keys,
    key_inst,
    meta,
    enum_text,
    enum_len,
    enum_col,
    enum_value,
    tick_m,
    tick_e,
    lot_m,
    lot_e,
    out,
    fs,
    fe,
    pow10,
):
    """Parse lines from ``pos`` into ``out`` from row ``r``; return ``(rows, pos, line, status,
    field)``.

    The instrument is ``fixed_inst``, or (``key_lo >= 0``) the key ``fields[key_lo..key_hi]``
    looked up in ``keys`` (``NEED_SYMBOL`` when new). Stops at the end of ``buf``, when ``out``
    is full (``pos`` short of the end), or at a line it cannot take.
    """
    n = buf.shape[0]
    while pos < n:
        if r >= out.shape[0]:
            return r, pos, line, 0, -1
        end, nxt = line_end(buf, pos)
        if end == pos:
            pos, line = nxt, line + 1
            continue
        if split_fields(buf, pos, end, fs, fe) != ncols:
            return r, pos, line, 2, -1
        inst = fixed_inst
        if key_lo >= 0:
            k = _lookup(buf, fs[key_lo], fe[key_hi], keys, key_len, n_keys)
            if k < 0:
                return r, pos, line, 1, key_hi
            inst = key_inst[k]
        out[r, OUT_INST] = inst
        out[r, OUT_LINE] = line
        if inst < 0:  # a symbol the user left out: keep the line number only
            r += 1
            pos, line = nxt, line + 1
            continue
        for j in range(meta.shape[0]):
            f = meta[j, 0]
            kind = meta[j, 1]
            s, e = fs[f], fe[f]
            value = MISSING
            status = 0
            if kind == 0:
                value, status = _parse_int(buf, s, e)
            elif kind == 6:
                value, status = _parse_int(buf, s, e)
                if status != 0:
                    value, status = MISSING, 0
            elif kind == 1 or kind == 2:
                if e > s:
                    if meta[j, 2] == 0:
                        gm, ge = tick_m[inst], tick_e[inst]
                    elif meta[j, 2] == 1:
                        gm, ge = lot_m[inst], lot_e[inst]
                    else:
                        gm, ge = 1, meta[j, 3]
                    m, x, neg, status = _parse_decimal(buf, s, e)
                    if status == 0:
                        if neg and kind == 1 and m != 0:
                            status = 7  # NEGATIVE
                        else:
                            value, status = _to_grid(m, x, gm, ge, kind == 2, pow10)
                            if neg:
                                value = -value
            elif kind == 3:
                if e > s:
                    c0 = buf[s] | 32
                    if e - s == 4 and c0 == 116:
                        value = 1
                    elif e - s == 5 and c0 == 102:
                        value = 0
                    else:
                        status = 5
            elif kind == 4:
                if e > s:
                    value, status = _parse_datetime(buf, s, e)
            else:
                status = 5
                for k in range(enum_len.shape[0]):
                    if enum_col[k] == j and enum_len[k] == e - s:
                        same = True
                        for i in range(e - s):
                            if enum_text[k, i] != buf[s + i]:
                                same = False
                                break
                        if same:
                            value = enum_value[k]
                            status = 0
                            break
            if status != 0:
                return r, pos, line, status, f
            out[r, OUT_FIRST + j] = value
        r += 1
        pos, line = nxt, line + 1
    return r, pos, line, 0, -1


__all__ = [
    "MAX_FIELDS",
    "MISSING",
    "OUT_FIRST",
    "OUT_INST",
    "OUT_LINE",
    "Col",
    "ColKind",
    "Grid",
    "ScanStatus",
    "col_arrays",
    "scan_table",
]
