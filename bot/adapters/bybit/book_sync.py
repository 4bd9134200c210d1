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

from bot.adapters.wire.jsonscan import (
    apply_rows,
    bytes_equal,
    mark_batch_end,
    member_key,
    parse_int,
    skip_ws,
    value_end,
    write_row,
)
from bot.adapters.wire.layout import (
    N_COMMON,
    PHASE_SYNCED,
    SY_HAS_SEQ,
    SY_INST,
    SY_LAST_SEQ,
    SY_LOT_E,
    SY_LOT_M,
    SY_PHASE,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.adapters.wire.levels import OK as LEVELS_OK
from bot.adapters.wire.levels import book_sides, scan_levels
from bot.adapters.wire.scalars import kernel_ms_to_ns
from bot.adapters.wire.tables import symbol_row
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
_F_LOCAL = 24
"""Sync row of ``data.s`` once read (-1 before): levels met after it are read in place."""
_F_B_N0 = 25
_F_B_N1 = 26
_F_A_N0 = 27
_F_A_N1 = 28
"""Row ranges the bid and ask arrays were read into in place (-1: not read in place)."""
_F_NEXT = 29
"""Next free row while reading in place."""
N_RES = 30

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
_TYPE_SNAPSHOT = ord("s")
"""First byte of ``type``: ``snapshot`` or ``delta``."""
_TYPE_DELTA = ord("d")
_KEY_A, _KEY_B, _KEY_C, _KEY_D, _KEY_E = ord("a"), ord("b"), ord("c"), ord("d"), ord("e")
_KEY_O, _KEY_S, _KEY_T, _KEY_U, _KEY_Y = ord("o"), ord("s"), ord("t"), ord("u"), ord("y")
"""Bytes that tell the keys of book frames apart (numba folds module-level ints)."""
_QUOTE = ord('"')
_COMMA = ord(",")
_LBRACE = ord("{")
_RBRACE = ord("}")


@njit(cache=True, nogil=True, inline="always")
def _is_book_topic(buf: np.ndarray, s: int, e: int) -> bool:
    return e - s >= _ORDERBOOK.shape[1] and bytes_equal(
        buf, s, s + _ORDERBOOK.shape[1], _ORDERBOOK, 0, _ORDERBOOK.shape[1])  # fmt: skip


@njit(cache=True, nogil=True)
def _levels_in_place(
    buf: np.ndarray, vs: int, e: int, bids: bool, rows: np.ndarray, sync: np.ndarray,
    res: np.ndarray,
) -> int:  # fmt: skip
    """Read the ``b`` or ``a`` array at ``vs`` straight into rows; return the index after it.

    Rows get provisional time and sequence (``book_message`` stamps them once ``u`` and ``cts``,
    which follow, are known). A snapshot's BOOK_CLEAR row goes first. On any problem the span
    is only recorded (-1 ranges) and ``book_message`` reads it the usual way.
    """
    local = res[_F_LOCAL]
    snapshot = buf[res[_F_TYPE_S]] == _TYPE_SNAPSHOT
    n = res[_F_NEXT]
    if snapshot and res[_F_B_N0] < 0 and res[_F_A_N0] < 0:
        if n >= rows.shape[0]:
            return value_end(buf, vs, e)
        write_row(rows, n, BOOK_CLEAR, FLAG_SNAPSHOT, VENUE_BYBIT, sync[local, SY_INST], 0, 0, 0,
                  0, 0)  # fmt: skip
        n += 1
    n2, st, stop = scan_levels(
        buf, vs, e, rows, n, BOOK_BID if bids else BOOK_ASK, FLAG_SNAPSHOT if snapshot else 0,
        VENUE_BYBIT, sync[local, SY_INST], 0, 0, 0, sync[local, SY_TICK_M], sync[local, SY_TICK_E],
        sync[local, SY_LOT_M], sync[local, SY_LOT_E], res, False,
    )  # fmt: skip
    if st != LEVELS_OK:
        res[_F_LOCAL] = -2  # read the arrays the usual way, which reports the problem
        return value_end(buf, vs, e)
    res[_F_B_N0 if bids else _F_A_N0] = n
    res[_F_B_N1 if bids else _F_A_N1] = n2
    res[_F_NEXT] = n2
    return stop


@njit(cache=True, nogil=True)
def _keys(
    buf: np.ndarray, s: int, e: int, res: np.ndarray, inner: bool, rows: np.ndarray,
    sync: np.ndarray,
) -> bool:  # fmt: skip
    """Record the spans / values of the keys Bybit book frames use (top level or ``data``);
    the ``data`` object is read as it is met, its level arrays into rows where possible."""
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != _LBRACE:
        return False
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == _RBRACE:
        if inner:
            res[_F_DATA_E] = i + 1
        return True
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return False
        klen = ke - ks
        k0 = buf[ks] if klen > 0 else 0
        if inner and klen == 1 and (k0 == _KEY_B or k0 == _KEY_A) and res[_F_LOCAL] >= 0:  # noqa: SIM109
            ve = _levels_in_place(buf, vs, e, k0 == _KEY_B, rows, sync, res)
        elif not inner and klen == 4 and k0 == _KEY_D and buf[ks + 1] == _KEY_A and (
                buf[vs] == _LBRACE):  # data: read it now, in one pass  # fmt: skip
            res[_F_DATA_S] = vs
            res[_F_MASK] |= _M_DATA
            if not _keys(buf, vs, e, res, True, rows, sync):
                return False
            ve = res[_F_DATA_E]
        else:
            ve = value_end(buf, vs, e)
        if ve < 0:
            return False
        is_str = buf[vs] == _QUOTE
        if inner:
            if klen == 1 and k0 == _KEY_S and is_str:
                res[_F_SYM_S] = vs + 1
                res[_F_SYM_E] = ve - 1
                res[_F_MASK] |= _M_SYM
                if (res[_F_MASK] & (_M_TYPE | _M_TOPIC)) == (_M_TYPE | _M_TOPIC):
                    res[_F_LOCAL] = symbol_row(buf, vs + 1, ve - 1, sync)
            elif klen == 1 and k0 == _KEY_B:
                res[_F_B_S] = vs
                res[_F_B_E] = ve
                res[_F_MASK] |= _M_B
            elif klen == 1 and k0 == _KEY_A:
                res[_F_A_S] = vs
                res[_F_A_E] = ve
                res[_F_MASK] |= _M_A
            elif klen == 1 and k0 == _KEY_U:
                value, ok = parse_int(buf, vs, ve)
                if not ok:
                    return False
                res[_F_U] = value
                res[_F_MASK] |= _M_U
            elif klen == 3 and k0 == _KEY_S and buf[ks + 1] == _KEY_E:  # seq
                value, ok = parse_int(buf, vs, ve)
                if ok:
                    res[_F_SEQ] = value
        elif klen == 5 and k0 == _KEY_T and buf[ks + 1] == _KEY_O and is_str:  # topic
            res[_F_TOPIC_S] = vs + 1
            res[_F_TOPIC_E] = ve - 1
            res[_F_MASK] |= _M_TOPIC
            if not _is_book_topic(buf, vs + 1, ve - 1):
                return True  # not a book frame: the caller sees the topic and stops
        elif klen == 4 and k0 == _KEY_T and buf[ks + 1] == _KEY_Y and is_str:  # type
            res[_F_TYPE_S] = vs + 1
            res[_F_MASK] |= _M_TYPE
        elif klen == 4 and k0 == _KEY_D and buf[ks + 1] == _KEY_A:  # data (not an object)
            res[_F_DATA_S] = vs
            res[_F_DATA_E] = ve
            res[_F_MASK] |= _M_DATA
        elif klen == 2 and k0 == _KEY_T and buf[ks + 1] == _KEY_S:  # ts
            value, ok = parse_int(buf, vs, ve)
            if ok:
                res[_F_TS] = value
                res[_F_MASK] |= _M_TS
        elif klen == 3 and k0 == _KEY_C and buf[ks + 1] == _KEY_T:  # cts
            value, ok = parse_int(buf, vs, ve)
            if ok:
                res[_F_CTS] = value
                res[_F_MASK] |= _M_CTS
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, e)
            continue
        if inner:
            res[_F_DATA_E] = i + 1
        return i < e and buf[i] == _RBRACE
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
    res[_F_LOCAL] = -1
    res[_F_B_N0] = -1
    res[_F_A_N0] = -1
    res[_F_NEXT] = n
    if not _keys(buf, 0, end, res, False, rows, sync):
        return n
    mask = res[_F_MASK]
    if (mask & _M_TOPIC) == 0 or not _is_book_topic(buf, res[_F_TOPIC_S], res[_F_TOPIC_E]):
        res[R_STATUS] = _NOT_BOOK
        return n
    if (mask & _M_TYPE) == 0 or (mask & _M_DATA) == 0:
        return n
    if buf[res[_F_DATA_S]] != _LBRACE:
        return n
    mask = res[_F_MASK]
    need = _M_SYM | _M_B | _M_A | _M_U
    if (mask & need) != need:
        return n
    t0 = buf[res[_F_TYPE_S]]
    if t0 != _TYPE_SNAPSHOT and t0 != _TYPE_DELTA:
        return n
    u = res[_F_U]
    snapshot = t0 == _TYPE_SNAPSHOT or u == 1
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
    in_place = (res[_F_LOCAL] == local and res[_F_B_N0] >= 0 and res[_F_A_N0] >= 0
                and snapshot == (t0 == _TYPE_SNAPSHOT))  # fmt: skip
    if in_place:  # the levels were read as the frame was scanned: stamp and apply them
        n2 = res[_F_NEXT]
        for k in range(n, n2):
            rows[k]["ts_exch_ns"] = ts_exch
            rows[k]["ts_local_ns"] = ts_local_ns
            rows[k]["seq"] = u
        mark_batch_end(rows, n, n2, FLAG_BATCH_END)
        apply_rows(qty, state, rows, n, n2)
    else:
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
