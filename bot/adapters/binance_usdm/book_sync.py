"""Binance USD-M book sync: numba kernels from depthUpdate frames and REST snapshots to the book.

The venue's rules (docs/venues.md, Binance): buffer diffs, fetch a REST snapshot, drop diffs with
``u < lastUpdateId``, the first applied diff must have ``U <= lastUpdateId <= u``, and every later
diff must have ``pu`` equal to the previous diff's ``u``. ``depth_update`` does all of it for one
frame without a Python object per level: it scans the JSON, checks the sequence, converts every
``[price, size]`` with ``parse_units`` into event rows (``EventBuffer`` memory), applies them to
the book and checks the book for crossing. The per-instrument sync state lives in the ``sync``
table (``bot.adapters.wire.layout`` plus ``SY_SNAP_ID``), so the kernel needs no Python state.

``depth_snapshot`` reads ``lastUpdateId``, ``bids`` and ``asks`` straight from a REST response,
writes a BOOK_CLEAR row plus SNAPSHOT|FROM_REST level rows, applies them and moves the
instrument to ``PHASE_FIRST``; the feed then replays the diffs it buffered meanwhile.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.wire.jsonscan import (
    apply_level_rows,
    bytes_equal,
    mark_batch_end,
    member_key,
    parse_int,
    skip_ws,
    string_end,
    value_end,
)
from bot.adapters.wire.layout import (
    N_COMMON,
    PHASE_FIRST,
    PHASE_SYNCED,
    PHASE_WAIT,
    SY_HAS_SEQ,
    SY_INST,
    SY_LAST_SEQ,
    SY_LOT_E,
    SY_LOT_M,
    SY_PHASE,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.adapters.wire.levels import FULL as LEVELS_FULL
from bot.adapters.wire.levels import OK as LEVELS_OK
from bot.adapters.wire.levels import book_sides, scan_levels
from bot.adapters.wire.scalars import kernel_ms_to_ns
from bot.adapters.wire.tables import symbol_row
from bot.core.book import check_book
from bot.core.codes import (
    BOOK_ASK,
    BOOK_BID,
    CHECK_CROSSED,
    CHECK_LOCKED,
    FLAG_BATCH_END,
    FLAG_FROM_REST,
    FLAG_SNAPSHOT,
    ST_LAST_TS,
    ST_VALID,
    VENUE_BINANCE_USDM,
)

SY_SNAP_ID = N_COMMON
"""``lastUpdateId`` of the REST snapshot the book was rebuilt from."""
N_SY = N_COMMON + 1


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


_APPLIED = int(DepthStatus.APPLIED)
_NOT_DEPTH = int(DepthStatus.NOT_DEPTH)
_REJECTED = int(DepthStatus.REJECTED)
_UNKNOWN_SYMBOL = int(DepthStatus.UNKNOWN_SYMBOL)
_BUFFER = int(DepthStatus.BUFFER)
_STALE = int(DepthStatus.STALE)
_GAP = int(DepthStatus.GAP)
_BAD_LEVEL = int(DepthStatus.BAD_LEVEL)
_CROSSED = int(DepthStatus.CROSSED)
_FULL = int(DepthStatus.FULL)


class SnapshotStatus(IntEnum):
    """What ``depth_snapshot`` did with a REST body (``res[R_STATUS]``)."""

    APPLIED = 0
    MALFORMED = 1
    BAD_LEVEL = 2


_SNAP_APPLIED = int(SnapshotStatus.APPLIED)
_SNAP_MALFORMED = int(SnapshotStatus.MALFORMED)
_SNAP_BAD_LEVEL = int(SnapshotStatus.BAD_LEVEL)

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

# Scan errors of ``_scan_depth`` (negative returns).
_E_SYNTAX = -1
_E_BAD_LEVEL = -2
_E_NOT_DEPTH = -3
_E_UNKNOWN_SYMBOL = -4
_E_FULL = -5
_DEPTH_UPDATE = np.frombuffer(b"depthUpdate", dtype=np.uint8).reshape(1, 11).copy()
"""Constant (never mutated), so freezing it into the compiled kernel is correct."""


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
    the array, or ``_E_BAD_LEVEL`` / ``_E_FULL``. ``res`` stands in for the scanner's
    observation array, which it does not touch without ``watch``.
    """
    local = res[R_LOCAL]
    n1, status, end = scan_levels(
        buf, s, e, rows, res[_F_NEXT], BOOK_ASK if side else BOOK_BID, 0, VENUE_BINANCE_USDM,
        sync[local, SY_INST], 0, ts_local_ns, 0, sync[local, SY_TICK_M], sync[local, SY_TICK_E],
        sync[local, SY_LOT_M], sync[local, SY_LOT_E], res, False,
    )  # fmt: skip
    if status != LEVELS_OK:
        return _E_FULL if status == LEVELS_FULL else _E_BAD_LEVEL
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
    otherwise their spans are kept for later. Negative returns: the ``_E_*`` codes.
    """
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != 123:
        return _E_SYNTAX
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == 125:
        return i + 1
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return _E_SYNTAX
        if vs >= e:
            return _E_SYNTAX
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
                    return _E_SYNTAX
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
                return _E_SYNTAX
            if klen == 1:
                if k0 == 101:  # e
                    if buf[vs] != 34 or not bytes_equal(buf, vs + 1, ve - 1, _DEPTH_UPDATE, 0, 11):
                        return _E_NOT_DEPTH
                    res[_F_MASK] |= _M_ETYPE
                elif k0 == 115:  # s
                    if buf[vs] != 34:
                        return _E_SYNTAX
                    local = symbol_row(buf, vs + 1, ve - 1, sync)
                    if local < 0:
                        return _E_UNKNOWN_SYMBOL
                    res[R_LOCAL] = local
                    res[_F_MASK] |= _M_SYM
                elif k0 == 69 or k0 == 84 or k0 == 85 or k0 == 117:  # E T U u
                    value, ok = parse_int(buf, vs, ve)
                    if not ok:
                        return _E_SYNTAX
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
                    return _E_SYNTAX
                res[_F_PU] = value
                res[_F_MASK] |= _M_PU
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == 125:
            return i + 1
        return _E_SYNTAX
    return _E_SYNTAX


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
        return _E_SYNTAX
    j = skip_ws(buf, i + 1, e)
    if j >= e or buf[j] != 34:
        return _scan_depth(buf, i, e, res, rows, sync, ts_local_ns)
    k = string_end(buf, j, e)
    if k < 0:
        return _E_SYNTAX
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
            return _E_SYNTAX
        if ke - ks == 4 and buf[ks] == 100 and buf[ks + 1] == 97:  # data
            ve = _scan_depth(buf, vs, e, res, rows, sync, ts_local_ns)
            if ve < 0:
                return ve
            found = True
        else:
            ve = value_end(buf, vs, e)
            if ve < 0:
                return _E_SYNTAX
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == 125:
            return i + 1 if found else -1
        return _E_SYNTAX
    return _E_SYNTAX


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
        code = _REJECTED
        if end == _E_BAD_LEVEL:
            code = _BAD_LEVEL
        elif end == _E_NOT_DEPTH:
            code = _NOT_DEPTH
        elif end == _E_UNKNOWN_SYMBOL:
            code = _UNKNOWN_SYMBOL
        elif end == _E_FULL:
            code = _FULL
        return (code << STATUS_SHIFT) | n
    mask = res[_F_MASK]
    if (mask & _M_ETYPE) == 0:
        return (_NOT_DEPTH << STATUS_SHIFT) | n
    if (mask & _M_DEPTH_REQUIRED) != _M_DEPTH_REQUIRED:
        return (_REJECTED << STATUS_SHIFT) | n
    first = res[_F_U1]
    last = res[_F_U2]
    res[R_FIRST] = first
    res[R_LAST] = last
    res[R_PREV] = res[_F_PU]
    local = res[R_LOCAL]
    phase = sync[local, SY_PHASE]
    if phase == PHASE_WAIT:
        return (_BUFFER << STATUS_SHIFT) | n
    if phase == PHASE_FIRST:
        snap = sync[local, SY_SNAP_ID]
        res[R_EXPECTED] = snap
        if last < snap:
            return (_STALE << STATUS_SHIFT) | n
        if first > snap:
            return (_GAP << STATUS_SHIFT) | n
    else:
        res[R_EXPECTED] = sync[local, SY_LAST_SEQ]
        if last <= sync[local, SY_LAST_SEQ]:
            return (_STALE << STATUS_SHIFT) | n  # a duplicate or replayed diff: already applied
        if res[_F_PU] != sync[local, SY_LAST_SEQ]:
            return (_GAP << STATUS_SHIFT) | n
    if res[_F_PARSED] != (_M_B | _M_A):
        err = _deferred_levels(buf, res, rows, sync, ts_local_ns)
        if err < 0:
            return ((_FULL if err == _E_FULL else _BAD_LEVEL) << STATUS_SHIFT) | n
    n2 = res[_F_NEXT]
    ts_exch = kernel_ms_to_ns(res[_F_TXT] if mask & _M_TXT else res[_F_EVT])
    if ts_exch < 0:
        return (_REJECTED << STATUS_SHIFT) | n
    for k in range(n, n2):
        rows[k]["ts_exch_ns"] = ts_exch
        rows[k]["seq"] = last
    mark_batch_end(rows, n, n2, FLAG_BATCH_END)
    inst = sync[local, SY_INST]
    apply_level_rows(qty, state, rows, n, n2, inst)
    state[inst, ST_LAST_TS] = ts_local_ns
    sync[local, SY_LAST_SEQ] = last
    sync[local, SY_HAS_SEQ] = 1
    sync[local, SY_PHASE] = PHASE_SYNCED
    check = check_book(state, inst)
    if check == CHECK_CROSSED or check == CHECK_LOCKED:  # noqa: SIM109 (numba)
        return (_CROSSED << STATUS_SHIFT) | n2
    return n2


@njit(cache=True, nogil=True)
def _scan_snapshot(buf: np.ndarray, e: int, res: np.ndarray) -> bool:
    """Find lastUpdateId, bids, asks (and E/T) in a REST depth body."""
    i = skip_ws(buf, 0, e)
    if i >= e or buf[i] != 123:
        return False
    i = skip_ws(buf, i + 1, e)
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return False
        ve = value_end(buf, vs, e)
        if ve < 0:
            return False
        klen = ke - ks
        if klen == 12 and buf[ks] == 108:  # lastUpdateId
            value, ok = parse_int(buf, vs, ve)
            if not ok:
                return False
            res[_F_U2] = value
            res[_F_MASK] |= _M_U2
        elif klen == 4 and buf[ks] == 98:  # bids
            res[_F_B_S] = vs
            res[_F_B_E] = ve
            res[_F_MASK] |= _M_B
        elif klen == 4 and buf[ks] == 97:  # asks
            res[_F_A_S] = vs
            res[_F_A_E] = ve
            res[_F_MASK] |= _M_A
        elif klen == 1 and buf[ks] == 84:  # T
            value, ok = parse_int(buf, vs, ve)
            if ok:
                res[_F_TXT] = value
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        return i < e and buf[i] == 125
    return False


@njit(cache=True, nogil=True)
def depth_snapshot(
    buf: np.ndarray,
    end: int,
    local: int,
    rows: np.ndarray,
    n: int,
    sync: np.ndarray,
    qty: np.ndarray,
    state: np.ndarray,
    ts_local_ns: int,
    res: np.ndarray,
) -> int:
    """Replace an instrument's book with a REST snapshot; return the new row count.

    Writes BOOK_CLEAR plus SNAPSHOT|FROM_REST level rows, applies them, leaves the book marked
    invalid (the caller validates it after replaying buffered diffs) and moves the instrument to
    PHASE_FIRST with ``SY_SNAP_ID = lastUpdateId``. ``res[R_STATUS]`` is a ``SnapshotStatus``;
    ``res`` also stands in for the level scanner's (unused) observation array.
    """
    for k in range(N_RES):
        res[k] = 0
    res[R_LOCAL] = local
    res[R_STATUS] = _SNAP_MALFORMED
    if not _scan_snapshot(buf, end, res):
        return n
    need = _M_U2 | _M_B | _M_A
    if (res[_F_MASK] & need) != need:
        return n
    if n >= rows.shape[0]:
        return n
    inst = sync[local, SY_INST]
    snap_id = res[_F_U2]
    ts_exch = kernel_ms_to_ns(res[_F_TXT])
    if ts_exch < 0:
        return n
    flags = FLAG_SNAPSHOT | FLAG_FROM_REST
    n2, st, _ = book_sides(
        buf, res[_F_B_S], res[_F_B_E], buf, res[_F_A_S], res[_F_A_E], True, flags,
        VENUE_BINANCE_USDM, sync, local, ts_exch, ts_local_ns, snap_id, rows, n, qty, state,
        res, False,
    )  # fmt: skip
    if st != LEVELS_OK:
        res[R_STATUS] = _SNAP_BAD_LEVEL
        return n
    state[inst, ST_VALID] = 0
    sync[local, SY_SNAP_ID] = snap_id
    sync[local, SY_LAST_SEQ] = snap_id
    sync[local, SY_HAS_SEQ] = 1
    sync[local, SY_PHASE] = PHASE_FIRST
    res[R_LAST] = snap_id
    res[R_STATUS] = _SNAP_APPLIED
    return n2
