"""Bybit v5 book sync: one numba kernel from an ``orderbook.*`` frame to an updated book.

The topic must be exactly one the feed subscribed to (``orderbook.<depth>.<symbol>``: the depth
in ``SY_DEPTH``, the symbol in the table) and ``data.s`` its symbol: a frame of another depth is
not this book.

Rules (docs/venues.md): the first message after subscribing is ``type:"snapshot"``; a snapshot
at any time (or a delta with ``u == 1``, a service restart) replaces the book; every delta must
carry ``u == previous u + 1`` (contiguous in the real captures), otherwise it is a gap and the
instrument resubscribes to get a new snapshot. Size ``"0"`` deletes a level. Key order differs
between channels, so the scanner reads keys in any order.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.wire.jsonscan import bytes_equal, member_key, parse_int, skip_ws, value_end
from bot.adapters.wire.layout import (
    N_COMMON,
    PHASE_SYNCED,
    SY_HAS_SEQ,
    SY_INST,
    SY_LAST_SEQ,
    SY_PHASE,
)
from bot.adapters.wire.levels import OK as LEVELS_OK
from bot.adapters.wire.levels import book_sides
from bot.adapters.wire.scalars import kernel_ms_to_ns
from bot.adapters.wire.tables import symbol_row
from bot.core.book import check_book
from bot.core.codes import (
    CHECK_CROSSED,
    CHECK_LOCKED,
    FLAG_SNAPSHOT,
    ST_LAST_TS,
    ST_VALID,
    VENUE_BYBIT,
)

SY_DEPTH = N_COMMON
"""The book depth the feed subscribed to (the ``50`` of ``orderbook.50.<symbol>``)."""
N_SY = N_COMMON + 1


class BookStatus(IntEnum):
    """What ``book_message`` did with a frame (``res[R_STATUS]``)."""

    APPLIED = 0
    NOT_BOOK = 1
    """A JSON object whose topic is not ``orderbook.*``: the slow path classifies it."""
    REJECTED = 2
    UNKNOWN_SYMBOL = 3
    WAITING = 4
    """A delta before the snapshot, or a duplicate of an applied one: dropped."""
    GAP = 5
    BAD_LEVEL = 6
    CROSSED = 7
    OTHER_TOPIC = 8
    """An ``orderbook.*`` topic the feed did not subscribe to (another depth or symbol)."""


_APPLIED = int(BookStatus.APPLIED)
_NOT_BOOK = int(BookStatus.NOT_BOOK)
_REJECTED = int(BookStatus.REJECTED)
_UNKNOWN_SYMBOL = int(BookStatus.UNKNOWN_SYMBOL)
_WAITING = int(BookStatus.WAITING)
_GAP = int(BookStatus.GAP)
_BAD_LEVEL = int(BookStatus.BAD_LEVEL)
_CROSSED = int(BookStatus.CROSSED)
_OTHER_TOPIC = int(BookStatus.OTHER_TOPIC)
_PREFIX_LEN = 10
"""``len("orderbook.")``."""
_DOT = 46
_ZERO = 48
_NINE = 57
_MAX_DEPTH_DIGITS = 6
"""Bybit depths are 1 to 1000: a longer number is not a topic of ours (and cannot overflow)."""

R_STATUS = 0
R_LOCAL = 1
R_U = 2
R_EXPECTED = 3
R_SNAPSHOT = 4
_F_MASK = 8
_F_TOPIC_S = 9
_F_TOPIC_E = 10
_F_TYPE_S = 11
_F_TS = 12
_F_CTS = 13
_F_DATA_S = 14
_F_DATA_E = 15
_F_SYM_S = 16
_F_SYM_E = 17
_F_B_S = 18
_F_B_E = 19
_F_A_S = 20
_F_A_E = 21
_F_U = 22
_F_SEQ = 23
N_RES = 24

_M_TOPIC = 1
_M_TYPE = 2
_M_TS = 4
_M_CTS = 8
_M_DATA = 16
_M_SYM = 32
_M_B = 64
_M_A = 128
_M_U = 256


_ORDERBOOK = np.frombuffer(b"orderbook.", dtype=np.uint8).reshape(1, 10).copy()
"""Constant topic prefix (never mutated, safe to freeze into the kernel)."""


@njit(cache=True, nogil=True)
def _keys(buf: np.ndarray, s: int, e: int, res: np.ndarray, inner: bool) -> bool:
    """Record the spans / values of the keys Bybit book frames use (top level or ``data``)."""
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != 123:
        return False
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == 125:
        return True
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return False
        ve = value_end(buf, vs, e)
        if ve < 0:
            return False
        klen = ke - ks
        k0 = buf[ks] if klen > 0 else 0
        is_str = buf[vs] == 34
        if inner:
            if klen == 1 and k0 == 115 and is_str:  # s
                res[_F_SYM_S] = vs + 1
                res[_F_SYM_E] = ve - 1
                res[_F_MASK] |= _M_SYM
            elif klen == 1 and k0 == 98:  # b
                res[_F_B_S] = vs
                res[_F_B_E] = ve
                res[_F_MASK] |= _M_B
            elif klen == 1 and k0 == 97:  # a
                res[_F_A_S] = vs
                res[_F_A_E] = ve
                res[_F_MASK] |= _M_A
            elif klen == 1 and k0 == 117:  # u
                value, ok = parse_int(buf, vs, ve)
                if not ok:
                    return False
                res[_F_U] = value
                res[_F_MASK] |= _M_U
            elif klen == 3 and k0 == 115 and buf[ks + 1] == 101:  # seq
                value, ok = parse_int(buf, vs, ve)
                if ok:
                    res[_F_SEQ] = value
        elif klen == 5 and k0 == 116 and buf[ks + 1] == 111 and is_str:  # topic
            res[_F_TOPIC_S] = vs + 1
            res[_F_TOPIC_E] = ve - 1
            res[_F_MASK] |= _M_TOPIC
        elif klen == 4 and k0 == 116 and buf[ks + 1] == 121 and is_str:  # type
            res[_F_TYPE_S] = vs + 1
            res[_F_MASK] |= _M_TYPE
        elif klen == 4 and k0 == 100 and buf[ks + 1] == 97:  # data
            res[_F_DATA_S] = vs
            res[_F_DATA_E] = ve
            res[_F_MASK] |= _M_DATA
        elif klen == 2 and k0 == 116 and buf[ks + 1] == 115:  # ts
            value, ok = parse_int(buf, vs, ve)
            if ok:
                res[_F_TS] = value
                res[_F_MASK] |= _M_TS
        elif klen == 3 and k0 == 99 and buf[ks + 1] == 116:  # cts
            value, ok = parse_int(buf, vs, ve)
            if ok:
                res[_F_CTS] = value
                res[_F_MASK] |= _M_CTS
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == 44:
            i = skip_ws(buf, i + 1, e)
            continue
        return i < e and buf[i] == 125
    return False


@njit(cache=True, nogil=True)
def _topic_row(buf: np.ndarray, s: int, e: int, sync: np.ndarray) -> int:
    """Return the row whose subscribed topic is exactly ``buf[s:e]`` (prefix checked), or -1.

    ``<depth>`` is digits without a leading zero equal to the row's ``SY_DEPTH``; the rest after
    the dot is the row's symbol.
    """
    i = s + _PREFIX_LEN
    if i >= e or buf[i] == _ZERO:
        return -1
    depth = 0
    while i < e and buf[i] != _DOT:
        digit = int(buf[i]) - _ZERO  # int(): a uint8 would wrap without JIT (NumPy 2)
        if digit < 0 or digit > _NINE - _ZERO or i - s - _PREFIX_LEN >= _MAX_DEPTH_DIGITS:
            return -1
        depth = depth * 10 + digit
        i += 1
    if i >= e or i == s + _PREFIX_LEN:
        return -1
    row = symbol_row(buf, i + 1, e, sync)
    if row < 0 or sync[row, SY_DEPTH] != depth:
        return -1
    return row


@njit(cache=True, nogil=True)
def book_message(
    buf: np.ndarray,
    end: int,
    rows: np.ndarray,
    n: int,
    sync: np.ndarray,
    qty: np.ndarray,
    state: np.ndarray,
    ts_local_ns: int,
    res: np.ndarray,
) -> int:
    """Scan, sequence-check, convert and apply one ``orderbook.*`` frame; return the row count.

    ``res[R_STATUS]`` holds a ``BookStatus``, ``res[R_LOCAL]`` the row in ``sync``,
    ``res[R_U]``/``res[R_EXPECTED]`` the update ids for logs, ``res[R_SNAPSHOT]`` 1 for a
    snapshot. Rows are kept only for APPLIED and CROSSED. ``res`` also stands in for the level
    scanner's observation array, which it leaves alone here.
    """
    for k in range(N_RES):
        res[k] = 0
    res[R_LOCAL] = -1
    res[R_STATUS] = _REJECTED
    if not _keys(buf, 0, end, res, False):
        return n
    mask = res[_F_MASK]
    if (mask & _M_TOPIC) == 0 or res[_F_TOPIC_E] - res[_F_TOPIC_S] < 10:
        res[R_STATUS] = _NOT_BOOK
        return n
    if not bytes_equal(buf, res[_F_TOPIC_S], res[_F_TOPIC_S] + 10, _ORDERBOOK, 0, 10):
        res[R_STATUS] = _NOT_BOOK
        return n
    if (mask & _M_TYPE) == 0 or (mask & _M_DATA) == 0:
        return n
    if not _keys(buf, res[_F_DATA_S], res[_F_DATA_E], res, True):
        return n
    mask = res[_F_MASK]
    need = _M_SYM | _M_B | _M_A | _M_U
    if (mask & need) != need:
        return n
    t0 = buf[res[_F_TYPE_S]]
    if t0 != 115 and t0 != 100:  # "snapshot" / "delta"
        return n
    u = res[_F_U]
    snapshot = t0 == 115 or u == 1
    res[R_U] = u
    res[R_SNAPSHOT] = 1 if snapshot else 0
    local = _topic_row(buf, res[_F_TOPIC_S], res[_F_TOPIC_E], sync)
    if local < 0:
        res[R_STATUS] = _OTHER_TOPIC
        return n
    if symbol_row(buf, res[_F_SYM_S], res[_F_SYM_E], sync) != local:
        res[R_STATUS] = _UNKNOWN_SYMBOL  # data.s is not the topic's symbol
        return n
    res[R_LOCAL] = local
    if not snapshot:
        if sync[local, SY_PHASE] != PHASE_SYNCED:
            res[R_STATUS] = _WAITING
            return n
        res[R_EXPECTED] = sync[local, SY_LAST_SEQ] + 1
        if u <= sync[local, SY_LAST_SEQ]:
            res[R_STATUS] = _WAITING  # a duplicate of an applied delta: dropped
            return n
        if u != sync[local, SY_LAST_SEQ] + 1:
            res[R_STATUS] = _GAP
            return n
    inst = sync[local, SY_INST]
    ts_exch = kernel_ms_to_ns(res[_F_CTS] if mask & _M_CTS else res[_F_TS])
    if ts_exch < 0:
        return n
    flags = FLAG_SNAPSHOT if snapshot else 0
    n2, st, _ = book_sides(
        buf, res[_F_B_S], res[_F_B_E], buf, res[_F_A_S], res[_F_A_E], snapshot, flags,
        VENUE_BYBIT, sync, local, ts_exch, ts_local_ns, u, rows, n, qty, state, res, False,
    )  # fmt: skip
    if st != LEVELS_OK:
        res[R_STATUS] = _BAD_LEVEL
        return n
    state[inst, ST_LAST_TS] = ts_local_ns
    sync[local, SY_LAST_SEQ] = u
    sync[local, SY_HAS_SEQ] = 1
    sync[local, SY_PHASE] = PHASE_SYNCED
    check = check_book(state, inst)
    if check == CHECK_CROSSED or check == CHECK_LOCKED:  # noqa: SIM109 (numba)
        state[inst, ST_VALID] = 0
        res[R_STATUS] = _CROSSED
    else:
        res[R_STATUS] = _APPLIED
    return n2
