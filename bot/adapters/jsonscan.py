"""Numba helpers that read venue JSON straight from frame bytes, with no Python object per level.

A depth message is mostly an array of ``["price","size"]`` string pairs. Decoding it with
``orjson``/``msgspec`` builds two Python strings per level and converting those costs more again;
these kernels instead find the spans of the fields a venue kernel needs and convert the level
strings with ``bot.core.ticks.parse_units`` directly into event rows. They are strict: anything
they do not understand makes them return a failure code, and the caller falls back to a strict
``msgspec`` decode to classify the frame (valid but unusual, or malformed).

Every function takes the buffer and an ``end`` bound and never reads past it. Positions are byte
offsets; ``-1`` means "not found / malformed".

Style note: kernels compare bytes with explicit ``==`` chains and loops (ruff SIM109/SIM110 are
silenced on those lines) because tuple membership and ``all(...)`` generators compile to slower
or unsupported code under numba.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.core.book import apply_event, apply_level
from bot.core.ticks import parse_units


class ScanStatus(IntEnum):
    """Result of ``parse_levels``."""

    OK = 0
    SYNTAX = 1
    """Not an array of ``["price","size", ...]`` arrays."""
    BAD_NUMBER = 2
    """A price or size is not a non-negative decimal on the instrument's grid."""
    FULL = 3
    """The output row array has no room left (the caller reserves enough, so a bug)."""


_SPACE = 32
_QUOTE = 34
_COMMA = 44
_COLON = 58
_LBRACKET = 91
_BACKSLASH = 92
_RBRACKET = 93
_LBRACE = 123
_RBRACE = 125
# EventKind / EventFlag values (core.dtypes) as plain ints for the kernels.
_BOOK_BID = 1
_BOOK_ASK = 2
_BOOK_CLEAR = 3
_BATCH_END = 2


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


MAX_MS = (2**63 - 1) // 1_000_000
"""Largest millisecond timestamp whose nanosecond value fits int64."""


@njit(cache=True, nogil=True)
def ms_to_ns(ms: int) -> int:
    """Return ``ms`` in ns, or -1 when it is negative or would overflow int64 (malformed)."""
    if ms < 0 or ms > 9223372036854:
        return -1
    return ms * 1_000_000


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
def parse_levels_at(
    buf: np.ndarray,
    i: int,
    e: int,
    kind: int,
    flags: int,
    venue: int,
    inst: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    rows: np.ndarray,
    n: int,
    pow10: np.ndarray,
) -> tuple[int, int, int]:
    """Write one event row per ``["price","size",...]`` element of the array starting at ``i``.

    Extra elements after the size (OKX's order count) are skipped. Prices must be positive,
    sizes non-negative, both on the grid. Return ``(new_n, ScanStatus, end)`` where ``end`` is
    the index just past the array; on failure the caller discards the rows (keeps its old ``n``).
    """
    cap = rows.shape[0]
    i = skip_ws(buf, i, e)
    if i >= e or buf[i] != _LBRACKET:
        return n, 1, -1
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == _RBRACKET:
        return n, 0, i + 1
    while i < e:
        if buf[i] != _LBRACKET:
            return n, 1, -1
        i = skip_ws(buf, i + 1, e)
        if i >= e or buf[i] != _QUOTE:
            return n, 1, -1
        ps = i + 1
        pe = string_end(buf, i, e)
        if pe < 0:
            return n, 1, -1
        i = skip_ws(buf, pe + 1, e)
        if i >= e or buf[i] != _COMMA:
            return n, 1, -1
        i = skip_ws(buf, i + 1, e)
        if i >= e or buf[i] != _QUOTE:
            return n, 1, -1
        qs = i + 1
        qe = string_end(buf, i, e)
        if qe < 0:
            return n, 1, -1
        i = skip_ws(buf, qe + 1, e)
        while i < e and buf[i] == _COMMA:  # extra elements (OKX: liquidations, order count)
            i = skip_ws(buf, i + 1, e)
            j = value_end(buf, i, e)
            if j < 0:
                return n, 1, -1
            i = skip_ws(buf, j, e)
        if i >= e or buf[i] != _RBRACKET:
            return n, 1, -1
        price, pst = parse_units(buf, ps, pe, tick_m, tick_e, pow10)
        if pst != 0 or price <= 0:
            return n, 2, -1
        size, qst = parse_units(buf, qs, qe, lot_m, lot_e, pow10)
        if qst != 0:
            return n, 2, -1
        if n >= cap:
            return n, 3, -1
        write_row(rows, n, kind, flags, venue, inst, ts_exch_ns, ts_local_ns, price, size, seq)
        n += 1
        i = skip_ws(buf, i + 1, e)
        if i < e and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == _RBRACKET:
            return n, 0, i + 1
        return n, 1, -1
    return n, 1, -1


@njit(cache=True, nogil=True)
def parse_levels(
    buf: np.ndarray,
    s: int,
    e: int,
    kind: int,
    flags: int,
    venue: int,
    inst: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    rows: np.ndarray,
    n: int,
    pow10: np.ndarray,
) -> tuple[int, int]:
    """Like ``parse_levels_at`` for the array span ``buf[s:e]``; return ``(new_n, ScanStatus)``."""
    n1, status, _ = parse_levels_at(
        buf,
        s,
        e,
        kind,
        flags,
        venue,
        inst,
        tick_m,
        tick_e,
        lot_m,
        lot_e,
        ts_exch_ns,
        ts_local_ns,
        seq,
        rows,
        n,
        pow10,
    )
    return n1, status


@njit(cache=True, nogil=True)
def apply_level_rows(
    qty: np.ndarray, state: np.ndarray, rows: np.ndarray, n0: int, n1: int, inst: int
) -> None:
    """Apply BOOK_BID/BOOK_ASK rows ``rows[n0:n1]`` of one instrument (no per-row dispatch)."""
    for k in range(n0, n1):
        row = rows[k]
        apply_level(qty, state, inst, row["kind"] - 1, row["price_tick"], row["qty_lot"])


@njit(cache=True, nogil=True)
def apply_rows(qty: np.ndarray, state: np.ndarray, rows: np.ndarray, n0: int, n1: int) -> int:
    """Apply book rows ``rows[n0:n1]`` to the books; return how many were not applied cleanly."""
    bad = 0
    for k in range(n0, n1):
        if apply_event(qty, state, rows, k) == 3:
            bad += 1
    return bad


@njit(cache=True, nogil=True)
def mark_batch_end(rows: np.ndarray, n0: int, n1: int, flag: int) -> None:
    """Set ``flag`` (BATCH_END) on the last row of ``rows[n0:n1]`` if there is one."""
    if n1 > n0:
        rows[n1 - 1]["flags"] = rows[n1 - 1]["flags"] | flag


@njit(cache=True, nogil=True, inline="always")
def apply_book_sides(
    buf: np.ndarray,
    b_s: int,
    b_e: int,
    a_s: int,
    a_e: int,
    clear: bool,
    flags: int,
    venue: int,
    inst: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    rows: np.ndarray,
    n: int,
    pow10: np.ndarray,
    qty: np.ndarray,
    state: np.ndarray,
) -> tuple[int, int]:
    """Turn one snapshot or delta (bid span ``buf[b_s:b_e]``, ask span) into rows and apply them.

    From ``rows[n]``: a BOOK_CLEAR row if ``clear`` (the caller has checked there is room), then
    one BOOK_BID row per bid and one BOOK_ASK row per ask, all with ``flags`` and ``seq``; the
    last row gets BATCH_END and every row is applied to the book. Return ``(new_n, ScanStatus)``;
    on failure nothing is applied and the caller keeps its old ``n``.
    """
    start = n
    if clear:
        write_row(rows, n, _BOOK_CLEAR, flags, venue, inst, ts_exch_ns, ts_local_ns, 0, 0, seq)
        start = n + 1
    n1, status = parse_levels(
        buf, b_s, b_e, _BOOK_BID, flags, venue, inst, tick_m, tick_e, lot_m, lot_e,
        ts_exch_ns, ts_local_ns, seq, rows, start, pow10,
    )  # fmt: skip
    if status != 0:
        return n, status
    n2, status = parse_levels(
        buf, a_s, a_e, _BOOK_ASK, flags, venue, inst, tick_m, tick_e, lot_m, lot_e,
        ts_exch_ns, ts_local_ns, seq, rows, n1, pow10,
    )  # fmt: skip
    if status != 0:
        return n, status
    mark_batch_end(rows, n, n2, _BATCH_END)
    apply_rows(qty, state, rows, n, n2)
    return n2, 0
