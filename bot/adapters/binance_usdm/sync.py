"""Binance USD-M book sync: one numba kernel from depthUpdate frame bytes to an updated book.

The venue's rules (docs/venues.md, Binance): buffer diffs, fetch a REST snapshot, drop diffs with
``u < lastUpdateId``, the first applied diff must have ``U <= lastUpdateId <= u``, and every later
diff must have ``pu`` equal to the previous diff's ``u``. ``depth_update`` does all of it for one
frame without a Python object per level: it scans the JSON, checks the sequence, converts every
``[price, size]`` with ``parse_units`` into event rows (``EventBuffer`` memory), applies them to
the book and checks the book for crossing. The per-instrument sync state lives in the ``sync``
table (columns ``SY_*``), so the kernel needs no Python state.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.jsonscan import (
    apply_level_rows,
    bytes_equal,
    mark_batch_end,
    member_key,
    ms_to_ns,
    parse_int,
    parse_levels_at,
    skip_ws,
    string_end,
    value_end,
)
from bot.core.book import ST_LAST_TS, check_book
from bot.core.ticks import POW10

# Columns of the sync table (one row per subscribed instrument, in feed order).
SY_PHASE = 0
SY_LAST_U = 1
SY_SNAP_ID = 2
SY_TICK_M = 3
SY_TICK_E = 4
SY_LOT_M = 5
SY_LOT_E = 6
SY_SYMLEN = 7
SY_INST = 8
"""Global instrument id (row of the shared book arrays)."""
SY_SYM0 = 9
"""Four columns holding the symbol's bytes, packed little-endian (matching needs no table)."""
N_SY = 13
MAX_SYMBOL_BYTES = 32

PHASE_WAIT = 0
"""No snapshot yet: diffs are buffered."""
PHASE_FIRST = 1
"""Snapshot applied: waiting for the diff with ``U <= lastUpdateId <= u``."""
PHASE_SYNCED = 2
"""In sync: every diff must chain ``pu == last u``."""


class DepthStatus(IntEnum):
    """What ``depth_update`` did with a frame (``res[R_STATUS]``)."""

    APPLIED = 0
    NOT_DEPTH = 1
    """A JSON object that is not a depthUpdate: the slow path classifies it."""
    REJECTED = 2
    """The scanner could not read it: the strict slow path decides (valid or malformed)."""
    UNKNOWN_SYMBOL = 3
    BUFFER = 4
    """No snapshot yet: the caller keeps the frame for replay."""
    STALE = 5
    """Older than the snapshot (``u < lastUpdateId``) or a duplicate of an applied diff
    (``u <= last u``): already reflected in the book, dropped."""
    GAP = 6
    """Sequence broken (``pu`` mismatch, or the first diff starts after the snapshot)."""
    BAD_LEVEL = 7
    """A price or size is malformed, negative or off the grid: nothing was applied."""
    CROSSED = 8
    """Applied, but the book is crossed or locked afterwards."""
    FULL = 9
    """The event buffer had no room: reserve and call again (nothing was changed)."""


STATUS_SHIFT = 40
"""``depth_update`` returns ``(status << STATUS_SHIFT) | rows`` unless the diff was applied."""
ROWS_MASK = (1 << STATUS_SHIFT) - 1


# Result slots (res is an int64 scratch array of length N_RES, reused for every frame).
R_STATUS = 0
R_LOCAL = 1
R_FIRST = 2
R_LAST = 3
R_PREV = 4
R_EXPECTED = 5
R_TS_EXCH = 6
# Field spans found by the scanner.
_F_MASK = 8
_F_ETYPE_S = 9
_F_ETYPE_E = 10
_F_EVT = 11
_F_TXT = 12
_F_SYM_S = 13
_F_SYM_E = 14
_F_U1 = 15
_F_U2 = 16
_F_PU = 17
_F_B_S = 18
_F_B_E = 19
_F_A_S = 20
_F_A_E = 21
_F_DATA_S = 22
_F_DATA_E = 23
_F_NEXT = 24
_F_PARSED = 25
N_RES = 26

_M_ETYPE = 1
_M_EVT = 2
_M_TXT = 4
_M_SYM = 8
_M_U1 = 16
_M_U2 = 32
_M_PU = 64
_M_B = 128
_M_A = 256
_M_DATA = 512
_M_DEPTH_REQUIRED = _M_ETYPE | _M_EVT | _M_SYM | _M_U1 | _M_U2 | _M_PU | _M_B | _M_A

_VENUE = 1  # VenueId.BINANCE_USDM
_BOOK_BID = 1
_BOOK_ASK = 2
_BOOK_CLEAR = 3
_FLAG_SNAPSHOT = 1
_FLAG_BATCH_END = 2
_FLAG_FROM_REST = 4
_MS = 1_000_000

_POW10 = POW10
"""Powers of ten for ``parse_units``; a constant table, so freezing it into kernels is correct."""
_DEPTH_UPDATE = np.frombuffer(b"depthUpdate", dtype=np.uint8).reshape(1, 11).copy()
"""Constant (never mutated), so freezing it into the compiled kernel is correct."""


@njit(cache=True, nogil=True)
def _symbol_local(buf: np.ndarray, s: int, e: int, sync: np.ndarray) -> int:
    """Return the sync row whose symbol (packed little-endian in SY_SYM*) equals buf[s:e]."""
    length = e - s
    for k in range(sync.shape[0]):
        if sync[k, SY_SYMLEN] != length:
            continue
        same = True
        for j in range(length):
            if buf[s + j] != (sync[k, SY_SYM0 + (j >> 3)] >> ((j & 7) * 8)) & 255:
                same = False
                break
        if same:
            return k
    return -1


@njit(cache=True, nogil=True, inline="always")
def _side_rows(
    buf: np.ndarray,
    s: int,
    e: int,
    side: int,
    res: np.ndarray,
    rows: np.ndarray,
    sync: np.ndarray,
    ts_local_ns: int,
) -> int:
    """Convert the level array at ``buf[s]`` of one side (0 bids, 1 asks) of instrument
    ``res[R_LOCAL]`` into rows from ``res[_F_NEXT]``, and advance it.

    ``ts_exch_ns`` and ``seq`` are filled in later by ``depth_update``. Return the index past
    the array, or -2 for a bad level, -5 for no room (the ``_scan_depth`` codes).
    """
    local = res[R_LOCAL]
    n1, status, end = parse_levels_at(
        buf, s, e, side + 1, 0, _VENUE, sync[local, SY_INST],
        sync[local, SY_TICK_M], sync[local, SY_TICK_E], sync[local, SY_LOT_M],
        sync[local, SY_LOT_E], 0, ts_local_ns, 0, rows, res[_F_NEXT], _POW10,
    )  # fmt: skip
    if status != 0:
        return -5 if status == 3 else -2
    res[_F_NEXT] = n1
    return end


@njit(cache=True, nogil=True)
def _scan_depth(
    buf: np.ndarray,
    s: int,
    e: int,
    res: np.ndarray,
    rows: np.ndarray,
    sync: np.ndarray,
    ts_local_ns: int,
) -> int:
    """Scan one event object in a single pass; return the index past it.

    Levels are converted as soon as the event type and symbol are known (the usual key order),
    otherwise their spans are kept for later. Negative returns: -1 syntax, -2 bad level,
    -3 not a depthUpdate, -4 unknown symbol, -5 no room for rows.
    """
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != 123:
        return -1
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == 125:
        return i + 1
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return -1
        if vs >= e:
            return -1
        klen = ke - ks
        k0 = buf[ks]
        if klen == 1 and (k0 == 98 or k0 == 97):  # b / a
            bit = _M_B if k0 == 98 else _M_A
            if res[R_LOCAL] >= 0 and res[_F_MASK] & _M_ETYPE:
                ve = _side_rows(buf, vs, e, 0 if k0 == 98 else 1, res, rows, sync, ts_local_ns)
                if ve < 0:
                    return ve
                res[_F_PARSED] |= bit
            else:
                ve = value_end(buf, vs, e)
                if ve < 0:
                    return -1
                if k0 == 98:
                    res[_F_B_S] = vs
                    res[_F_B_E] = ve
                else:
                    res[_F_A_S] = vs
                    res[_F_A_E] = ve
            res[_F_MASK] |= bit
        else:
            ve = value_end(buf, vs, e)
            if ve < 0:
                return -1
            if klen == 1:
                if k0 == 101:  # e
                    if buf[vs] != 34 or not bytes_equal(buf, vs + 1, ve - 1, _DEPTH_UPDATE, 0, 11):
                        return -3
                    res[_F_MASK] |= _M_ETYPE
                elif k0 == 115:  # s
                    if buf[vs] != 34:
                        return -1
                    local = _symbol_local(buf, vs + 1, ve - 1, sync)
                    if local < 0:
                        return -4
                    res[R_LOCAL] = local
                    res[_F_MASK] |= _M_SYM
                elif k0 == 69 or k0 == 84 or k0 == 85 or k0 == 117:  # E T U u
                    value, ok = parse_int(buf, vs, ve)
                    if not ok:
                        return -1
                    if k0 == 69:
                        res[_F_EVT] = value
                        res[_F_MASK] |= _M_EVT
                    elif k0 == 84:
                        res[_F_TXT] = value
                        res[_F_MASK] |= _M_TXT
                    elif k0 == 85:
                        res[_F_U1] = value
                        res[_F_MASK] |= _M_U1
                    else:
                        res[_F_U2] = value
                        res[_F_MASK] |= _M_U2
            elif klen == 2 and k0 == 112 and buf[ks + 1] == 117:  # pu
                value, ok = parse_int(buf, vs, ve)
                if not ok:
                    return -1
                res[_F_PU] = value
                res[_F_MASK] |= _M_PU
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == 125:
            return i + 1
        return -1
    return -1


@njit(cache=True, nogil=True)
def _scan_frame(
    buf: np.ndarray, res: np.ndarray, rows: np.ndarray, sync: np.ndarray, ts_local_ns: int
) -> int:
    """Scan a raw event or a combined-stream envelope ``{"stream":..., "data":{event}}``.

    Kept free of recursion on purpose: numba's on-disk cache mishandles self-recursive
    kernels (a cached reload crashed here), so the envelope has its own loop.
    """
    e = len(buf)
    i = skip_ws(buf, 0, e)
    if i >= e or buf[i] != 123:
        return -1
    j = skip_ws(buf, i + 1, e)
    if j >= e or buf[j] != 34:
        return _scan_depth(buf, i, e, res, rows, sync, ts_local_ns)
    k = string_end(buf, j, e)
    if k < 0:
        return -1
    klen = k - j - 1
    is_envelope = (klen == 6 and buf[j + 1] == 115 and buf[j + 2] == 116) or (
        klen == 4 and buf[j + 1] == 100 and buf[j + 2] == 97
    )
    if not is_envelope:
        return _scan_depth(buf, i, e, res, rows, sync, ts_local_ns)
    found = False
    i = j
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return -1
        if ke - ks == 4 and buf[ks] == 100 and buf[ks + 1] == 97:  # data
            ve = _scan_depth(buf, vs, e, res, rows, sync, ts_local_ns)
            if ve < 0:
                return ve
            found = True
        else:
            ve = value_end(buf, vs, e)
            if ve < 0:
                return -1
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == 125:
            return i + 1 if found else -1
        return -1
    return -1


@njit(cache=True, nogil=True)
def _deferred_levels(
    buf: np.ndarray, res: np.ndarray, rows: np.ndarray, sync: np.ndarray, ts_local_ns: int
) -> int:
    """Convert level arrays whose key came before the symbol or event type; 0 or an error."""
    for side in range(2):
        bit = _M_B if side == 0 else _M_A
        if res[_F_PARSED] & bit:
            continue
        s = res[_F_B_S] if side == 0 else res[_F_A_S]
        end = _side_rows(buf, s, len(buf), side, res, rows, sync, ts_local_ns)
        if end < 0:
            return end
    return 0


@njit(cache=True, nogil=True)
def depth_update(
    buf: np.ndarray,
    rows: np.ndarray,
    n: int,
    sync: np.ndarray,
    qty: np.ndarray,
    state: np.ndarray,
    ts_local_ns: int,
    res: np.ndarray,
) -> int:
    """Scan, sequence-check, convert and apply one depthUpdate frame (bytes or uint8 array).

    Return the new row count when the diff was applied (status APPLIED); otherwise
    ``(status << STATUS_SHIFT) | row_count`` with a ``DepthStatus`` (rows are kept only for
    CROSSED). ``res[R_LOCAL]`` is the instrument's row in ``sync`` and
    ``R_FIRST/R_LAST/R_PREV/R_EXPECTED`` the sequence numbers (U, u, pu, expected) for logs.
    """
    res[_F_MASK] = 0
    res[_F_PARSED] = 0
    res[_F_NEXT] = n
    res[R_LOCAL] = -1
    res[_F_TXT] = 0
    end = _scan_frame(buf, res, rows, sync, ts_local_ns)
    if end < 0:
        code = 2  # REJECTED
        if end == -2:
            code = 7  # BAD_LEVEL
        elif end == -3:
            code = 1  # NOT_DEPTH
        elif end == -4:
            code = 3  # UNKNOWN_SYMBOL
        elif end == -5:
            code = 9  # FULL
        return (code << STATUS_SHIFT) | n
    mask = res[_F_MASK]
    if (mask & _M_ETYPE) == 0:
        return (1 << STATUS_SHIFT) | n
    if (mask & _M_DEPTH_REQUIRED) != _M_DEPTH_REQUIRED:
        return (2 << STATUS_SHIFT) | n
    first = res[_F_U1]
    last = res[_F_U2]
    res[R_FIRST] = first
    res[R_LAST] = last
    res[R_PREV] = res[_F_PU]
    local = res[R_LOCAL]
    phase = sync[local, SY_PHASE]
    if phase == PHASE_WAIT:
        return (4 << STATUS_SHIFT) | n
    if phase == PHASE_FIRST:
        snap = sync[local, SY_SNAP_ID]
        res[R_EXPECTED] = snap
        if last < snap:
            return (5 << STATUS_SHIFT) | n
        if first > snap:
            return (6 << STATUS_SHIFT) | n
    else:
        res[R_EXPECTED] = sync[local, SY_LAST_U]
        if last <= sync[local, SY_LAST_U]:
            return (5 << STATUS_SHIFT) | n  # a duplicate or replayed old diff: already in the book
        if res[_F_PU] != sync[local, SY_LAST_U]:
            return (6 << STATUS_SHIFT) | n
    if res[_F_PARSED] != (_M_B | _M_A):
        err = _deferred_levels(buf, res, rows, sync, ts_local_ns)
        if err < 0:
            return ((9 if err == -5 else 7) << STATUS_SHIFT) | n
    n2 = res[_F_NEXT]
    ts_exch = ms_to_ns(res[_F_TXT] if mask & _M_TXT else res[_F_EVT])
    if ts_exch < 0:
        return (2 << STATUS_SHIFT) | n
    for k in range(n, n2):
        rows[k]["ts_exch_ns"] = ts_exch
        rows[k]["seq"] = last
    mark_batch_end(rows, n, n2, _FLAG_BATCH_END)
    inst = sync[local, SY_INST]
    apply_level_rows(qty, state, rows, n, n2, inst)
    state[inst, ST_LAST_TS] = ts_local_ns
    sync[local, SY_LAST_U] = last
    sync[local, SY_PHASE] = PHASE_SYNCED
    check = check_book(state, inst)
    if check == 1 or check == 2:
        return (8 << STATUS_SHIFT) | n2
    return n2
