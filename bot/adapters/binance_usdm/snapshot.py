"""Binance USD-M REST depth snapshot -> book, as a numba kernel (counterpart of ``sync``).

``depth_snapshot`` reads ``lastUpdateId``, ``bids`` and ``asks`` straight from the response
bytes, writes a BOOK_CLEAR row plus SNAPSHOT|FROM_REST level rows, applies them and moves the
instrument to ``PHASE_FIRST``; the feed then replays the diffs it buffered meanwhile.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.binance_usdm.sync import (
    _F_A_E,
    _F_A_S,
    _F_B_E,
    _F_B_S,
    _F_MASK,
    _F_TXT,
    _F_U2,
    _FLAG_FROM_REST,
    _FLAG_SNAPSHOT,
    _M_A,
    _M_B,
    _M_U2,
    _VENUE,
    N_RES,
    PHASE_FIRST,
    R_LAST,
    R_LOCAL,
    R_STATUS,
    SY_INST,
    SY_LAST_U,
    SY_LOT_E,
    SY_LOT_M,
    SY_PHASE,
    SY_SNAP_ID,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.adapters.jsonscan import (
    apply_book_sides,
    member_key,
    ms_to_ns,
    parse_int,
    skip_ws,
    value_end,
)
from bot.core.book import ST_VALID


class SnapshotStatus(IntEnum):
    """What ``depth_snapshot`` did with a REST body."""

    APPLIED = 0
    MALFORMED = 1
    BAD_LEVEL = 2


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
    pow10: np.ndarray,
    ts_local_ns: int,
    res: np.ndarray,
) -> int:
    """Replace an instrument's book with a REST snapshot; return the new row count.

    Writes BOOK_CLEAR plus SNAPSHOT|FROM_REST level rows, applies them, leaves the book marked
    invalid (the caller validates it after replaying buffered diffs) and moves the instrument to
    PHASE_FIRST with ``SY_SNAP_ID = lastUpdateId``. ``res[R_STATUS]`` is a ``SnapshotStatus``.
    """
    for k in range(N_RES):
        res[k] = 0
    res[R_LOCAL] = local
    res[R_STATUS] = 1
    if not _scan_snapshot(buf, end, res):
        return n
    need = _M_U2 | _M_B | _M_A
    if (res[_F_MASK] & need) != need:
        return n
    if n >= rows.shape[0]:
        return n
    inst = sync[local, SY_INST]
    snap_id = res[_F_U2]
    ts_exch = ms_to_ns(res[_F_TXT])
    if ts_exch < 0:
        return n
    flags = _FLAG_SNAPSHOT | _FLAG_FROM_REST
    n2, st = apply_book_sides(
        buf, res[_F_B_S], res[_F_B_E], res[_F_A_S], res[_F_A_E], True, flags, _VENUE, inst,
        sync[local, SY_TICK_M], sync[local, SY_TICK_E], sync[local, SY_LOT_M],
        sync[local, SY_LOT_E], ts_exch, ts_local_ns, snap_id, rows, n, pow10, qty, state,
    )  # fmt: skip
    if st != 0:
        res[R_STATUS] = 2
        return n
    state[inst, ST_VALID] = 0
    sync[local, SY_SNAP_ID] = snap_id
    sync[local, SY_LAST_U] = snap_id
    sync[local, SY_PHASE] = PHASE_FIRST
    res[R_LAST] = snap_id
    res[R_STATUS] = 0
    return n2
