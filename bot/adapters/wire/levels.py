"""The one level scanner: ``[[price, size, ...], ...]`` from frame bytes to event rows and book.

Every JSON venue sends book levels as arrays of ``[price, size, ...]`` (strings, or bare numbers
for some REST bodies). Decoding that with msgspec/orjson would cost Python objects and a
conversion call per level; instead ``scan_levels`` walks the raw bytes once, converting every
price and size exactly with ``bot.core.ticks.parse_units`` and writing event rows in place.
Elements after the size (OKX's order count) are skipped. One status set (``LevelStatus``) for all.

``book_sides`` turns one snapshot or delta (a bid array and an ask array, from one buffer or two)
into rows and applies them to the book; the Binance and Bybit kernels and the feed base
(``book_message``, called by ``BookFeed.apply_book_message``) all go through it.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.base import EventBuffer
from bot.adapters.wire.checksum import (
    CHECK_FORMAT,
    CHECK_MISMATCH,
    OBS_PX_MIN,
    OBS_SZ_MIN,
    learn,
    observe,
    reset_observations,
    verify,
)
from bot.adapters.wire.jsonscan import apply_rows, mark_batch_end, skip_ws, write_row
from bot.adapters.wire.layout import (
    PHASE_SYNCED,
    SY_INST,
    SY_LOT_E,
    SY_LOT_M,
    SY_PHASE,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.core.book import check_book
from bot.core.codes import (
    BOOK_ASK,
    BOOK_BID,
    BOOK_CLEAR,
    CHECK_CROSSED,
    CHECK_LOCKED,
    FLAG_BATCH_END,
    FLAG_SNAPSHOT,
    ST_LAST_TS,
)
from bot.core.ticks import POW10, ParseStatus, parse_units


class LevelStatus(IntEnum):
    """Result of ``scan_levels`` / ``book_sides``: OK, a number problem, or the shape."""

    OK = 0
    EMPTY = int(ParseStatus.EMPTY)
    BAD_CHAR = int(ParseStatus.BAD_CHAR)
    OVERFLOW = int(ParseStatus.OVERFLOW)
    OFF_GRID = int(ParseStatus.OFF_GRID)
    NEGATIVE = int(ParseStatus.NEGATIVE)
    ZERO_PRICE = 9
    """A level priced 0 (sizes may be 0: that deletes the level, prices may not)."""
    SYNTAX = 10
    """Not an array of ``[price, size, ...]`` arrays."""
    FULL = 11
    """The row array has no room left: reserve ``rows_needed`` and call again."""


OK = int(LevelStatus.OK)
ZERO_PRICE = int(LevelStatus.ZERO_PRICE)
SYNTAX = int(LevelStatus.SYNTAX)
FULL = int(LevelStatus.FULL)
_QUOTE = 34
_COMMA = 44
_LBRACKET = 91
_BACKSLASH = 92
_RBRACKET = 93
_SPACE = 32
_MIN_LEVEL_BYTES = 5
"""The shortest level, ``[1,1]``: a span of ``b`` bytes holds at most ``b // 5 + 1`` levels."""


def status_name(status: int) -> str:
    """Return the metric-label name of a ``LevelStatus``."""
    return LevelStatus(status).name.lower()


def rows_needed(n_bytes: int) -> int:
    """Return how many rows the levels in ``n_bytes`` bytes of JSON can produce at most."""
    return n_bytes // _MIN_LEVEL_BYTES + 2


@njit(cache=True, nogil=True)
def _token(buf: np.ndarray, i: int, end: int) -> tuple[int, int, int]:
    """Return ``(start, stop, next)`` of the string or bare number at ``i``; start < 0 on error."""
    if i >= end:
        return -1, -1, i
    if buf[i] == _QUOTE:
        s = i + 1
        k = s
        while k < end and buf[k] != _QUOTE:
            if buf[k] == _BACKSLASH:  # numbers never need escapes
                return -1, -1, k
            k += 1
        if k >= end:
            return -1, -1, k
        return s, k, k + 1
    s = i
    k = i
    while k < end and buf[k] != _COMMA and buf[k] != _RBRACKET and buf[k] != _SPACE:
        k += 1
    if k == s:
        return -1, -1, k
    return s, k, k


@njit(cache=True, nogil=True)
def _skip_value(buf: np.ndarray, i: int, end: int) -> int:
    """Skip one extra element (a string or a bare scalar); return the index after it or -1."""
    s, _, nxt = _token(buf, i, end)
    return -1 if s < 0 else nxt


@njit(cache=True, nogil=True)
def scan_levels(
    buf: np.ndarray,
    start: int,
    end: int,
    rows: np.ndarray,
    n: int,
    kind: int,
    flags: int,
    venue: int,
    inst: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    obs: np.ndarray,
    watch: bool,
) -> tuple[int, int, int]:
    """Write one row per ``[price, size, ...]`` of the array starting in ``buf[start:end]``.

    Return ``(new_n, LevelStatus, stop)``: ``stop`` is the index just past the array. With
    ``watch`` the number formats are recorded in ``obs`` (checksum venues). On failure the
    caller discards the rows (keeps its old ``n``).
    """
    cap = rows.shape[0]
    i = skip_ws(buf, start, end)
    if i >= end or buf[i] != _LBRACKET:
        return n, SYNTAX, -1
    i = skip_ws(buf, i + 1, end)
    if i < end and buf[i] == _RBRACKET:
        return n, OK, i + 1
    while True:
        if i >= end or buf[i] != _LBRACKET:
            return n, SYNTAX, -1
        i = skip_ws(buf, i + 1, end)
        ps, pe, i = _token(buf, i, end)
        if ps < 0:
            return n, SYNTAX, -1
        i = skip_ws(buf, i, end)
        if i >= end or buf[i] != _COMMA:
            return n, SYNTAX, -1
        i = skip_ws(buf, i + 1, end)
        qs, qe, i = _token(buf, i, end)
        if qs < 0:
            return n, SYNTAX, -1
        i = skip_ws(buf, i, end)
        while i < end and buf[i] == _COMMA:  # extra elements (OKX: liquidations, order count)
            i = _skip_value(buf, skip_ws(buf, i + 1, end), end)
            if i < 0:
                return n, SYNTAX, -1
            i = skip_ws(buf, i, end)
        if i >= end or buf[i] != _RBRACKET:
            return n, SYNTAX, -1
        price, status = parse_units(buf, ps, pe, tick_m, tick_e, POW10)
        if status != 0:
            return n, status, -1
        if price == 0:
            return n, ZERO_PRICE, -1
        size, status = parse_units(buf, qs, qe, lot_m, lot_e, POW10)
        if status != 0:
            return n, status, -1
        if n >= cap:
            return n, FULL, -1
        if watch:
            observe(buf, ps, pe, obs, OBS_PX_MIN)
            if size != 0:
                observe(buf, qs, qe, obs, OBS_SZ_MIN)
        write_row(rows, n, kind, flags, venue, inst, ts_exch_ns, ts_local_ns, price, size, seq)
        n += 1
        i = skip_ws(buf, i + 1, end)
        if i < end and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == _RBRACKET:
            return n, OK, i + 1
        return n, SYNTAX, -1


@njit(cache=True, nogil=True, inline="always")
def _whole_span(buf: np.ndarray, stop: int, end: int) -> bool:
    return stop >= 0 and skip_ws(buf, stop, end) == end


@njit(cache=True, nogil=True)
def book_sides(
    bids: np.ndarray,
    b_s: int,
    b_e: int,
    asks: np.ndarray,
    a_s: int,
    a_e: int,
    clear: bool,
    flags: int,
    venue: int,
    table: np.ndarray,
    local: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    rows: np.ndarray,
    n: int,
    qty: np.ndarray,
    state: np.ndarray,
    obs: np.ndarray,
    watch: bool,
) -> tuple[int, int, int]:
    """Turn one snapshot or delta (bid span ``bids[b_s:b_e]``, ask span) into rows, and apply.

    From ``rows[n]``: a BOOK_CLEAR row if ``clear``, then a BOOK_BID row per bid and a BOOK_ASK
    row per ask, all with ``flags`` and ``seq``; the last row gets BATCH_END and every row is
    applied to the book of sync row ``local``. Each span must hold exactly one array. Return
    ``(new_n, LevelStatus, refused)``: ``refused`` rows the book could not apply. On failure
    nothing is applied and the caller keeps its old ``n``.
    """
    inst = table[local, SY_INST]
    tick_m = table[local, SY_TICK_M]
    tick_e = table[local, SY_TICK_E]
    lot_m = table[local, SY_LOT_M]
    lot_e = table[local, SY_LOT_E]
    if watch:
        reset_observations(obs)
    start = n
    if clear:
        if n >= rows.shape[0]:
            return n, FULL, 0
        write_row(rows, n, BOOK_CLEAR, flags, venue, inst, ts_exch_ns, ts_local_ns, 0, 0, seq)
        start = n + 1
    n1, status, stop = scan_levels(
        bids, b_s, b_e, rows, start, BOOK_BID, flags, venue, inst, ts_exch_ns, ts_local_ns, seq,
        tick_m, tick_e, lot_m, lot_e, obs, watch,
    )  # fmt: skip
    if status != OK:
        return n, status, 0
    if not _whole_span(bids, stop, b_e):
        return n, SYNTAX, 0
    n2, status, stop = scan_levels(
        asks, a_s, a_e, rows, n1, BOOK_ASK, flags, venue, inst, ts_exch_ns, ts_local_ns, seq,
        tick_m, tick_e, lot_m, lot_e, obs, watch,
    )  # fmt: skip
    if status != OK:
        return n, status, 0
    if not _whole_span(asks, stop, a_e):
        return n, SYNTAX, 0
    mark_batch_end(rows, n, n2, FLAG_BATCH_END)
    refused = apply_rows(qty, state, rows, n, n2)
    return n2, OK, refused


class Outcome(IntEnum):
    """What ``book_message`` did with one book message (after its levels were read)."""

    APPLIED = 0
    LEVELS = 1
    """A level could not be read (the ``LevelStatus`` says why): nothing was applied."""
    CHECKSUM_FORMAT = 2
    CHECKSUM = 3
    CROSSED = 4
    """Applied, but the book is crossed or locked afterwards."""


_APPLIED = int(Outcome.APPLIED)
_LEVELS = int(Outcome.LEVELS)
_CHECKSUM_FORMAT = int(Outcome.CHECKSUM_FORMAT)
_CHECKSUM = int(Outcome.CHECKSUM)
_OUT_CROSSED = int(Outcome.CROSSED)


@njit(cache=True, nogil=True)
def book_message(
    bids: np.ndarray,
    asks: np.ndarray,
    snapshot: bool,
    venue: int,
    table: np.ndarray,
    local: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    rows: np.ndarray,
    n: int,
    qty: np.ndarray,
    state: np.ndarray,
    obs: np.ndarray,
    scratch: np.ndarray,
    watch: bool,
    checksum: int,
    has_checksum: bool,
) -> tuple[int, int, int, int]:
    """One book message, one kernel call: levels to rows and book, checksum, crossed check.

    ``bids``/``asks`` are the two JSON arrays. A snapshot starts with BOOK_CLEAR and its rows
    carry SNAPSHOT; the last row carries BATCH_END. With ``watch`` (checksum venues) the number
    formats are observed and a snapshot's are learnt; with ``has_checksum`` the venue
    ``checksum`` is verified as well (``bot.adapters.wire.checksum.verify``). A
    snapshot that passes makes the book synced (``SY_PHASE``). ``ST_LAST_TS`` is stamped once
    the levels are read, whatever the checks say. Return ``(new_n, Outcome, LevelStatus,
    refused)``; for ``LEVELS`` nothing was written and the caller keeps its old ``n``.
    """
    n2, status, refused = book_sides(
        bids, 0, bids.shape[0], asks, 0, asks.shape[0], snapshot,
        FLAG_SNAPSHOT if snapshot else 0, venue, table, local, ts_exch_ns, ts_local_ns, seq,
        rows, n, qty, state, obs, watch,
    )  # fmt: skip
    if status != OK:
        return n, _LEVELS, status, 0
    inst = table[local, SY_INST]
    state[inst, ST_LAST_TS] = ts_local_ns
    if watch and snapshot:
        learn(table, local, obs)
    if watch and has_checksum:
        check = verify(qty, state, table, local, obs, scratch, checksum)
        if check == CHECK_FORMAT:
            return n2, _CHECKSUM_FORMAT, OK, refused
        if check == CHECK_MISMATCH:
            return n2, _CHECKSUM, OK, refused
    crossed = check_book(state, inst)
    if crossed == CHECK_CROSSED or crossed == CHECK_LOCKED:  # noqa: SIM109 (numba)
        return n2, _OUT_CROSSED, OK, refused
    if snapshot:
        table[local, SY_PHASE] = PHASE_SYNCED
    return n2, _APPLIED, OK, refused


def apply_book_arrays(
    bids: bytes | memoryview,
    asks: bytes | memoryview,
    *,
    clear: bool,
    flags: int,
    venue: int,
    table: np.ndarray,
    local: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    out: EventBuffer,
    qty: np.ndarray,
    state: np.ndarray,
    obs: np.ndarray,
    watch: bool,
) -> tuple[int, int]:
    """``book_sides`` for two separate JSON arrays, into ``out``; return ``(status, refused)``.

    ``out.n`` advances only when the status is OK.
    """
    b = np.frombuffer(bids, dtype=np.uint8)
    a = np.frombuffer(asks, dtype=np.uint8)
    out.reserve(rows_needed(b.shape[0] + a.shape[0]))
    n, status, refused = book_sides(
        b, 0, b.shape[0], a, 0, a.shape[0], clear, flags, venue, table, local,
        ts_exch_ns, ts_local_ns, seq, out.rows, out.n, qty, state, obs, watch,
    )  # fmt: skip
    if status == OK:
        out.n = n
    return status, refused
