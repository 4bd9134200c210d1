"""Numba helpers that walk venue JSON straight from frame bytes, with no Python object at all.

Venue kernels use these to find the spans of the fields they need (keys, strings, integers,
nested values); the level arrays inside go through the one level scanner,
``bot.adapters.wire.levels``. They are strict: anything they do not understand makes them return
a failure code, and the caller falls back to a strict ``msgspec`` decode to classify the frame
(valid but unusual, or malformed).

Every function takes the buffer and an ``end`` bound and never reads past it. Positions are byte
offsets; ``-1`` means "not found / malformed".

Style note: kernels compare bytes with explicit ``==`` chains and loops (ruff SIM109/SIM110 are
silenced on those lines) because tuple membership and ``all(...)`` generators compile to slower
or unsupported code under numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bot.core.book import apply_event, apply_level
from bot.core.codes import APPLY_INVALID, BOOK_BID

_SPACE = 32
_QUOTE = 34
_COMMA = 44
_COLON = 58
_LBRACKET = 91
_BACKSLASH = 92
_RBRACKET = 93
_LBRACE = 123
_RBRACE = 125


@njit(cache=True, nogil=True)
def skip_ws(buf: np.ndarray, i: int, end: int) -> int:
    """Return the first index at or after ``i`` that is not JSON whitespace (or ``end``)."""
    while i < end:
        c = buf[i]
        if c != 32 and c != 10 and c != 13 and c != 9:
            return i
        i += 1
    return end


@njit(cache=True, nogil=True)
def string_end(buf: np.ndarray, i: int, end: int) -> int:
    """``buf[i]`` is an opening quote: return the index of the closing quote, or -1."""
    i += 1
    while i < end:
        c = buf[i]
        if c == _QUOTE:
            return i
        if c == _BACKSLASH:
            i += 2
            continue
        i += 1
    return -1


@njit(cache=True, nogil=True)
def value_end(buf: np.ndarray, i: int, end: int) -> int:
    """Return the index just past the JSON value starting at ``i``, or -1 if it is cut short."""
    if i >= end:
        return -1
    c = buf[i]
    if c == _QUOTE:
        j = string_end(buf, i, end)
        return -1 if j < 0 else j + 1
    if c == _LBRACE or c == _LBRACKET:  # noqa: SIM109
        depth = 0
        while i < end:
            c = buf[i]
            if c == _QUOTE:
                j = string_end(buf, i, end)
                if j < 0:
                    return -1
                i = j + 1
                continue
            if c == _LBRACE or c == _LBRACKET:  # noqa: SIM109
                depth += 1
            elif c == _RBRACE or c == _RBRACKET:  # noqa: SIM109
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        return -1
    j = i
    while j < end:
        c = buf[j]
        if c == _COMMA or c == _RBRACE or c == _RBRACKET or c == _SPACE or c == 10 or c == 13:  # noqa: SIM109
            break
        j += 1
    return j if j > i else -1


@njit(cache=True, nogil=True, inline="always")
def member_key(buf: np.ndarray, i: int, end: int) -> tuple[int, int, int]:
    """Parse an object member's ``"key":`` at ``i``; return ``(ks, ke, vs)``.

    ``buf[ks:ke]`` is the key's text and ``vs`` where its value starts (white space skipped);
    ``ks`` is -1 when the bytes at ``i`` are not a well-formed key and colon.
    """
    if i >= end or buf[i] != _QUOTE:
        return -1, 0, 0
    ke = string_end(buf, i, end)
    if ke < 0:
        return -1, 0, 0
    j = skip_ws(buf, ke + 1, end)
    if j >= end or buf[j] != 58:  # ':'
        return -1, 0, 0
    return i + 1, ke, skip_ws(buf, j + 1, end)


@njit(cache=True, nogil=True)
def parse_int(buf: np.ndarray, s: int, e: int) -> tuple[int, bool]:
    """Parse a JSON integer in ``buf[s:e]`` (at most 18 digits); return ``(value, ok)``."""
    if e <= s:
        return 0, False
    negative = buf[s] == 45
    i = s + 1 if negative else s
    if i >= e or e - i > 18:
        return 0, False
    value = 0
    while i < e:
        c = buf[i]
        if c < 48 or c > 57:
            return 0, False
        value = value * 10 + (c - 48)
        i += 1
    return (-value if negative else value), True


@njit(cache=True, nogil=True)
def bytes_equal(buf: np.ndarray, s: int, e: int, table: np.ndarray, row: int, length: int) -> bool:
    """Return whether ``buf[s:e]`` equals the first ``length`` bytes of ``table[row]``."""
    if e - s != length:
        return False
    for k in range(length):  # noqa: SIM110
        if buf[s + k] != table[row, k]:
            return False
    return True


@njit(cache=True, nogil=True)
def write_row(
    rows: np.ndarray,
    n: int,
    kind: int,
    flags: int,
    venue: int,
    inst: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    price_tick: int,
    qty_lot: int,
    seq: int,
) -> None:
    """Fill event row ``rows[n]`` (every field, since the buffer is reused)."""
    row = rows[n]
    row["kind"] = kind
    row["flags"] = flags
    row["venue"] = venue
    row["instrument"] = inst
    row["ts_exch_ns"] = ts_exch_ns
    row["ts_local_ns"] = ts_local_ns
    row["price_tick"] = price_tick
    row["qty_lot"] = qty_lot
    row["seq"] = seq
    row["aux"] = 0


@njit(cache=True, nogil=True)
def apply_level_rows(
    qty: np.ndarray, state: np.ndarray, rows: np.ndarray, n0: int, n1: int, inst: int
) -> None:
    """Apply BOOK_BID/BOOK_ASK rows ``rows[n0:n1]`` of one instrument (no per-row dispatch)."""
    for k in range(n0, n1):
        row = rows[k]
        apply_level(qty, state, inst, row["kind"] - BOOK_BID, row["price_tick"], row["qty_lot"])


@njit(cache=True, nogil=True)
def apply_rows(qty: np.ndarray, state: np.ndarray, rows: np.ndarray, n0: int, n1: int) -> int:
    """Apply book rows ``rows[n0:n1]`` to the books; return how many were not applied cleanly."""
    bad = 0
    for k in range(n0, n1):
        if apply_event(qty, state, rows, k) == APPLY_INVALID:
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def mark_batch_end(rows: np.ndarray, n0: int, n1: int, flag: int) -> None:
    """Set ``flag`` (BATCH_END) on the last row of ``rows[n0:n1]`` if there is one."""
    if n1 > n0:
        rows[n1 - 1]["flags"] = rows[n1 - 1]["flags"] | flag
