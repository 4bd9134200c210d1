"""BitMEX ``orderBookL2`` sync: ``partial``, then ``insert``/``update``/``delete`` keyed by id.

Rules (docs/venues.md): ignore a symbol's rows until its ``partial``, which replaces the book.
Rows are keyed by (side, id); an ``insert`` brings price and size, an ``update`` a new size, a
``delete`` removes the row. Update and delete rows from before mid-2023 carry no price, so the
price of every id is remembered from its partial/insert row (never derived from the id: BitMEX
made ids arbitrary in 2023). BitMEX has no sequence numbers or checksum: an update or delete of
an unknown id, an insert of a known id, or a crossed book means a message was lost or reordered,
and the book is resynced (unsubscribe + subscribe brings a new ``partial``).

``l2_message`` does all of it for one frame in one numba call, without a Python object per
row: it scans the JSON, keeps the id -> price map (``bot.adapters.wire.idmap``), converts
prices and sizes exactly, writes and applies the rows and checks every touched book for
crossing. Frames may carry rows of several symbols: each book's outcome lands in its sync row
(``SY_OUTCOME``), and a book that failed keeps none of its rows.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

from bot.adapters.wire import idmap
from bot.adapters.wire.jsonscan import (
    apply_rows,
    member_key,
    parse_int,
    skip_ws,
    value_end,
    write_row,
)
from bot.adapters.wire.layout import (
    N_COMMON,
    PHASE_SYNCED,
    SY_INST,
    SY_LOT_E,
    SY_LOT_M,
    SY_PHASE,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.adapters.wire.scalars import kernel_iso_to_ns
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
    VENUE_BITMEX,
)
from bot.core.ticks import POW10, parse_units

SY_BID_IDS = N_COMMON
"""Live ids on the bid side of the book (the id map's count)."""
SY_ASK_IDS = N_COMMON + 1
SY_OUTCOME = N_COMMON + 2
"""What the last frame did to this book (``Outcome``)."""
SY_BAD_ID = N_COMMON + 3
"""The id that made the book fail (for the log line)."""
SY_LAST_ROW = N_COMMON + 4
"""Index of the book's last row in this frame (scratch of ``l2_message``)."""
N_SY = N_COMMON + 5


class FrameStatus(IntEnum):
    """What ``l2_message`` made of a frame as a whole (``res[R_STATUS]``)."""

    DONE = 0
    """An ``orderBookL2`` frame: every book it touched says its ``Outcome``."""
    NOT_BOOK = 1
    """Valid JSON object of another table (or a reply): the slow path classifies it."""
    REJECTED = 2
    """The scanner could not read it: the strict slow path decides."""


class Outcome(IntEnum):
    """Per book (``table[local, SY_OUTCOME]``): what the frame did to it."""

    UNTOUCHED = 0
    APPLIED = 1
    UNSYNCED = 2
    """Rows before the book's partial: dropped."""
    UNKNOWN_ID = 3
    """Update/delete of an unknown id or insert of a known one: a lost or reordered message."""
    MALFORMED = 4
    """A row the book cannot take (missing price/size, unknown side, off-grid, bad time)."""
    CROSSED = 5
    """Applied, but the book is crossed or locked afterwards."""
    FULL = 6
    """The id map of the book is full: grow it and resync."""


class Action(IntEnum):
    """``action`` of an ``orderBookL2`` frame."""

    NONE = -1
    PARTIAL = 0
    INSERT = 1
    UPDATE = 2
    DELETE = 3


_DONE = int(FrameStatus.DONE)
_NOT_BOOK = int(FrameStatus.NOT_BOOK)
_REJECTED = int(FrameStatus.REJECTED)
_UNTOUCHED = int(Outcome.UNTOUCHED)
_APPLIED = int(Outcome.APPLIED)
_UNSYNCED = int(Outcome.UNSYNCED)
_UNKNOWN_ID = int(Outcome.UNKNOWN_ID)
_MALFORMED = int(Outcome.MALFORMED)
_CROSSED = int(Outcome.CROSSED)
_FULL = int(Outcome.FULL)
_NONE = int(Action.NONE)
_PARTIAL = int(Action.PARTIAL)
_INSERT = int(Action.INSERT)
_UPDATE = int(Action.UPDATE)
_DELETE = int(Action.DELETE)

R_STATUS = 0
R_SNAPSHOT = 1
_R_ACTION = 2
_R_DATA_S = 3
_R_DATA_E = 4
_R_FILTER_S = 5
_R_FILTER_E = 6
_R_TABLE = 7
_R_FIELDS = 8
"""``res[_R_FIELDS:]`` is the scratch one row's fields are read into."""

NOTE_ATTENTION = 1
"""Bit of ``l2_message``'s note: a book's outcome needs the feed (a failure, a partial)."""
NOTE_REFUSED = 2
"""Bit of the note: rows the book could not apply cleanly."""

_BID = 0
_ASK = 1
_SIDE_KINDS = (BOOK_BID, BOOK_ASK)
_QUOTE = 34
_BACKSLASH = 92
_COMMA = 44
_LBRACKET = 91
_RBRACKET = 93
_LBRACE = 123
_RBRACE = 125
_NULL_N = 110
"""``n``: the first byte of ``null`` (a row field that is absent)."""

_TABLE = np.frombuffer(b"orderBookL2", dtype=np.uint8).copy()
_TABLE_25 = np.frombuffer(b"_25", dtype=np.uint8).copy()
_ACTIONS = (b"partial", b"insert", b"update", b"delete")
_ACTION_BYTES = np.zeros((len(_ACTIONS), 8), dtype=np.uint8)
for _k, _name in enumerate(_ACTIONS):
    _ACTION_BYTES[_k, : len(_name)] = np.frombuffer(_name, dtype=np.uint8)
_ACTION_LENS = np.array([len(a) for a in _ACTIONS], dtype=np.int64)
_SIDE_BUY = np.frombuffer(b"Buy", dtype=np.uint8).copy()
_SIDE_SELL = np.frombuffer(b"Sell", dtype=np.uint8).copy()
_TABLE_KEY = np.frombuffer(b"table", dtype=np.uint8).copy()
_ACTION_KEY = np.frombuffer(b"action", dtype=np.uint8).copy()
_FILTER_KEY = np.frombuffer(b"filter", dtype=np.uint8).copy()
_DATA_KEY = np.frombuffer(b"data", dtype=np.uint8).copy()
_SYMBOL_KEY = np.frombuffer(b"symbol", dtype=np.uint8).copy()
_ID_KEY = np.frombuffer(b"id", dtype=np.uint8).copy()
_SIDE_KEY = np.frombuffer(b"side", dtype=np.uint8).copy()
_SIZE_KEY = np.frombuffer(b"size", dtype=np.uint8).copy()
_PRICE_KEY = np.frombuffer(b"price", dtype=np.uint8).copy()
_TIMESTAMP_KEY = np.frombuffer(b"timestamp", dtype=np.uint8).copy()
"""Constant byte tables (never mutated, safe to freeze into the kernels)."""


@njit(cache=True, nogil=True, inline="always")
def _is(buf: np.ndarray, s: int, e: int, word: np.ndarray) -> bool:
    if e - s != word.shape[0]:
        return False
    for k in range(word.shape[0]):  # noqa: SIM110
        if buf[s + k] != word[k]:
            return False
    return True


@njit(cache=True, nogil=True)
def _action(buf: np.ndarray, s: int, e: int) -> int:
    for a in range(_ACTION_LENS.shape[0]):
        length = _ACTION_LENS[a]
        if e - s != length:
            continue
        same = True
        for k in range(length):
            if buf[s + k] != _ACTION_BYTES[a, k]:
                same = False
                break
        if same:
            return a
    return _NONE


@njit(cache=True, nogil=True)
def _is_book_table(buf: np.ndarray, s: int, e: int) -> bool:
    n = _TABLE.shape[0]
    if e - s < n or not _is(buf, s, s + n, _TABLE):
        return False
    return e - s == n or _is(buf, s + n, e, _TABLE_25)


@njit(cache=True, nogil=True)
def _filter_symbol(buf: np.ndarray, s: int, e: int, res: np.ndarray) -> bool:
    """Record the span of ``filter.symbol`` (a string) if the filter object has one."""
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != _LBRACE:
        return False
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == _RBRACE:
        return True
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return False
        ve = value_end(buf, vs, e)
        if ve < 0:
            return False
        if _is(buf, ks, ke, _SYMBOL_KEY) and buf[vs] == _QUOTE:
            res[_R_FILTER_S] = vs + 1
            res[_R_FILTER_E] = ve - 1
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, e)
            continue
        return i < e and buf[i] == _RBRACE
    return False


# fields of one row, as spans in ``_RowFields`` scratch (an int64 array of _N_FIELDS)
_F_SYM_S = 0
_F_SYM_E = 1
_F_ID = 2
_F_SIDE = 3
_F_SIZE_S = 4
_F_SIZE_E = 5
_F_PRICE_S = 6
_F_PRICE_E = 7
_F_TS_S = 8
_F_TS_E = 9
_F_HAS_ID = 10
_N_FIELDS = 11
_SIDE_UNKNOWN = 2
N_RES = _R_FIELDS + _N_FIELDS


@njit(cache=True, nogil=True, inline="always")
def _escaped(buf: np.ndarray, s: int, e: int) -> bool:
    for k in range(s, e):  # noqa: SIM110
        if buf[k] == _BACKSLASH:
            return True
    return False


@njit(cache=True, nogil=True)
def _number_span(buf: np.ndarray, vs: int, ve: int, f: np.ndarray, fs: int) -> None:
    """Record a number (bare or quoted) at ``f[fs], f[fs + 1]``; ``null`` leaves it absent."""
    if buf[vs] == _NULL_N:
        return
    if buf[vs] == _QUOTE:
        f[fs] = vs + 1
        f[fs + 1] = ve - 1
    else:
        f[fs] = vs
        f[fs + 1] = ve


@njit(cache=True, nogil=True)
def _row_fields(buf: np.ndarray, i: int, e: int, f: np.ndarray) -> int:
    """Read one row object at ``i`` into ``f``; return the index after it, or -1."""
    for k in range(_N_FIELDS):
        f[k] = -1
    f[_F_HAS_ID] = 0
    if i >= e or buf[i] != _LBRACE:
        return -1
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == _RBRACE:
        return i + 1
    while i < e:
        ks, ke, vs = member_key(buf, i, e)
        if ks < 0:
            return -1
        ve = value_end(buf, vs, e)
        if ve < 0:
            return -1
        is_str = buf[vs] == _QUOTE
        if is_str and _escaped(buf, vs + 1, ve - 1):
            return -1  # an escape in a value: the strict decoder reads it
        if _is(buf, ks, ke, _SYMBOL_KEY):
            if not is_str:
                return -1
            f[_F_SYM_S] = vs + 1
            f[_F_SYM_E] = ve - 1
        elif _is(buf, ks, ke, _ID_KEY):
            value, ok = parse_int(buf, vs, ve)
            if not ok or value < 0:
                return -1
            f[_F_ID] = value
            f[_F_HAS_ID] = 1
        elif _is(buf, ks, ke, _SIDE_KEY):
            if not is_str:
                return -1
            if _is(buf, vs + 1, ve - 1, _SIDE_BUY):
                f[_F_SIDE] = _BID
            elif _is(buf, vs + 1, ve - 1, _SIDE_SELL):
                f[_F_SIDE] = _ASK
            else:
                f[_F_SIDE] = _SIDE_UNKNOWN
        elif _is(buf, ks, ke, _SIZE_KEY):
            _number_span(buf, vs, ve, f, _F_SIZE_S)
        elif _is(buf, ks, ke, _PRICE_KEY):
            _number_span(buf, vs, ve, f, _F_PRICE_S)
        elif is_str and _is(buf, ks, ke, _TIMESTAMP_KEY):
            f[_F_TS_S] = vs + 1
            f[_F_TS_E] = ve - 1
        i = skip_ws(buf, ve, e)
        if i < e and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == _RBRACE:
            if f[_F_SYM_S] < 0 or f[_F_HAS_ID] == 0 or f[_F_SIDE] < 0:
                return -1  # symbol, id and side are required (the strict decoder agrees)
            return i + 1
        return -1
    return -1


@njit(cache=True, nogil=True)
def _fail(sync: np.ndarray, local: int, outcome: int, bad_id: int) -> None:
    sync[local, SY_OUTCOME] = outcome
    sync[local, SY_BAD_ID] = bad_id


@njit(cache=True, nogil=True)
def _row(
    buf: np.ndarray, f: np.ndarray, action: int, sync: np.ndarray, ids: np.ndarray,
    rows: np.ndarray, n: int, ts_local_ns: int, max_live: int,
) -> int:  # fmt: skip
    """Apply one row's id-map change and write its event row; return the new row count."""
    local = symbol_row(buf, f[_F_SYM_S], f[_F_SYM_E], sync)
    if local < 0:
        return n  # another symbol's row: not ours
    outcome = sync[local, SY_OUTCOME]
    if outcome != _UNTOUCHED and outcome != _APPLIED:
        return n  # this book already failed in this frame
    snapshot = action == _PARTIAL
    if not snapshot and sync[local, SY_PHASE] != PHASE_SYNCED:
        sync[local, SY_OUTCOME] = _UNSYNCED
        return n
    inst = sync[local, SY_INST]
    flags = FLAG_SNAPSHOT if snapshot else 0
    if outcome == _UNTOUCHED:
        sync[local, SY_OUTCOME] = _APPLIED
        if snapshot:
            if n >= rows.shape[0]:
                _fail(sync, local, _FULL, 0)
                return n
            idmap.clear(ids, local)
            sync[local, SY_BID_IDS] = 0
            sync[local, SY_ASK_IDS] = 0
            write_row(rows, n, BOOK_CLEAR, flags, VENUE_BITMEX, inst, 0, ts_local_ns, 0, 0, 0)
            sync[local, SY_LAST_ROW] = n
            n += 1
    row_id = f[_F_ID]
    side = f[_F_SIDE]
    if side == _SIDE_UNKNOWN:
        _fail(sync, local, _MALFORMED, row_id)
        return n
    ts_exch_ns = 0
    if f[_F_TS_S] >= 0:
        ts_exch_ns = kernel_iso_to_ns(buf, f[_F_TS_S], f[_F_TS_E])
        if ts_exch_ns < 0:
            _fail(sync, local, _MALFORMED, row_id)
            return n
    count_col = SY_BID_IDS if side == _BID else SY_ASK_IDS
    slot = idmap.find(ids, local, side, row_id)
    size = 0
    if action != _DELETE:
        if f[_F_SIZE_S] < 0:
            _fail(sync, local, _MALFORMED, row_id)
            return n
        size, st = parse_units(buf, f[_F_SIZE_S], f[_F_SIZE_E], sync[local, SY_LOT_M],
                               sync[local, SY_LOT_E], POW10)  # fmt: skip
        if st != 0:
            _fail(sync, local, _MALFORMED, row_id)
            return n
    if action == _PARTIAL or action == _INSERT:  # noqa: SIM109 (numba)
        if slot >= 0:
            _fail(sync, local, _UNKNOWN_ID, row_id)
            return n
        if f[_F_PRICE_S] < 0:
            _fail(sync, local, _MALFORMED, row_id)
            return n
        price, st = parse_units(buf, f[_F_PRICE_S], f[_F_PRICE_E], sync[local, SY_TICK_M],
                                sync[local, SY_TICK_E], POW10)  # fmt: skip
        if st != 0 or price == 0:
            _fail(sync, local, _MALFORMED, row_id)
            return n
        if sync[local, count_col] >= max_live:
            _fail(sync, local, _FULL, row_id)
            return n
        free = -1 - slot
        ids[local, side, free, idmap.KEY] = row_id
        ids[local, side, free, idmap.VALUE] = price
        sync[local, count_col] += 1
    else:
        if slot < 0:
            _fail(sync, local, _UNKNOWN_ID, row_id)
            return n
        price = ids[local, side, slot, idmap.VALUE]
        if action == _DELETE:
            idmap.remove(ids, local, side, slot)
            sync[local, count_col] -= 1
    if n >= rows.shape[0]:
        _fail(sync, local, _FULL, row_id)
        return n
    write_row(rows, n, _SIDE_KINDS[side], flags, VENUE_BITMEX, inst, ts_exch_ns, ts_local_ns,
              price, size, 0)  # fmt: skip
    rows[n]["aux"] = row_id
    sync[local, SY_LAST_ROW] = n
    return n + 1


@njit(cache=True, nogil=True)
def _data(
    buf: np.ndarray, s: int, e: int, action: int, sync: np.ndarray, ids: np.ndarray,
    rows: np.ndarray, n: int, ts_local_ns: int, f: np.ndarray, max_live: int,
) -> tuple[int, int]:  # fmt: skip
    """Process the ``data`` array at ``s``; return ``(new_n, index after it)`` (-1: syntax)."""
    i = skip_ws(buf, s, e)
    if i >= e or buf[i] != _LBRACKET:
        return n, -1
    i = skip_ws(buf, i + 1, e)
    if i < e and buf[i] == _RBRACKET:
        return n, i + 1
    while i < e:
        i = _row_fields(buf, i, e, f)
        if i < 0:
            return n, -1
        n = _row(buf, f, action, sync, ids, rows, n, ts_local_ns, max_live)
        i = skip_ws(buf, i, e)
        if i < e and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, e)
            continue
        if i < e and buf[i] == _RBRACKET:
            return n, i + 1
        return n, -1
    return n, -1


@njit(cache=True, nogil=True)
def _envelope(
    buf: np.ndarray, end: int, sync: np.ndarray, ids: np.ndarray, rows: np.ndarray, n: int,
    ts_local_ns: int, res: np.ndarray, f: np.ndarray, max_live: int,
) -> int:  # fmt: skip
    """Scan the top-level object; rows are processed as soon as ``data`` is reached with the
    table and action known (else its span is kept for later). Return the new row count."""
    i = skip_ws(buf, 0, end)
    if i >= end or buf[i] != _LBRACE:
        return n
    i = skip_ws(buf, i + 1, end)
    while i < end:
        ks, ke, vs = member_key(buf, i, end)
        if ks < 0:
            return n
        is_data = _is(buf, ks, ke, _DATA_KEY)
        if is_data and buf[vs] == _LBRACKET and res[_R_TABLE] == 1 and res[_R_ACTION] != _NONE:
            n, ve = _data(buf, vs, end, res[_R_ACTION], sync, ids, rows, n, ts_local_ns, f,
                          max_live)  # fmt: skip
            if ve < 0:
                return n
            res[_R_DATA_S] = -2  # done
        else:
            ve = value_end(buf, vs, end)
            if ve < 0:
                return n
            is_str = buf[vs] == _QUOTE
            if is_str and _is(buf, ks, ke, _TABLE_KEY):
                res[_R_TABLE] = 1 if _is_book_table(buf, vs + 1, ve - 1) else 0
                if res[_R_TABLE] == 0:
                    res[R_STATUS] = _NOT_BOOK
                    return n
            elif is_str and _is(buf, ks, ke, _ACTION_KEY):
                res[_R_ACTION] = _action(buf, vs + 1, ve - 1)
                if res[_R_ACTION] == _NONE:
                    return n
            elif buf[vs] == _LBRACE and _is(buf, ks, ke, _FILTER_KEY):
                if not _filter_symbol(buf, vs, ve, res):
                    return n
            elif is_data:  # before the table or the action
                res[_R_DATA_S] = vs
                res[_R_DATA_E] = ve
        i = skip_ws(buf, ve, end)
        if i < end and buf[i] == _COMMA:
            i = skip_ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == _RBRACE and skip_ws(buf, i + 1, end) == end:
            res[R_STATUS] = _DONE
        return n
    return n


@njit(cache=True, nogil=True)
def _compact(rows: np.ndarray, n0: int, n: int, sync: np.ndarray) -> int:
    """Drop the rows of books that failed in this frame; return the new row count."""
    out = n0
    for k in range(n0, n):
        inst = rows[k]["instrument"]
        keep = True
        for local in range(sync.shape[0]):
            if sync[local, SY_INST] == inst:
                keep = sync[local, SY_OUTCOME] == _APPLIED
                break
        if keep:
            if out != k:
                _copy_row(rows, k, out)
            _set_last_row(sync, inst, out)
            out += 1
    return out


@njit(cache=True, nogil=True, inline="always")
def _copy_row(rows: np.ndarray, src: int, dst: int) -> None:
    r = rows[src]
    write_row(rows, dst, r["kind"], r["flags"], r["venue"], r["instrument"], r["ts_exch_ns"],
              r["ts_local_ns"], r["price_tick"], r["qty_lot"], r["seq"])  # fmt: skip
    rows[dst]["aux"] = r["aux"]


@njit(cache=True, nogil=True, inline="always")
def _set_last_row(sync: np.ndarray, inst: int, row: int) -> None:
    """Record ``row`` as the last row of the book of instrument ``inst``."""
    for local in range(sync.shape[0]):
        if sync[local, SY_INST] == inst:
            sync[local, SY_LAST_ROW] = row
            return


@njit(cache=True, nogil=True)
def l2_message(
    buf: np.ndarray,
    rows: np.ndarray,
    n: int,
    sync: np.ndarray,
    ids: np.ndarray,
    qty: np.ndarray,
    state: np.ndarray,
    ts_local_ns: int,
    res: np.ndarray,
) -> tuple[int, int, int]:
    """Scan, id-map, convert and apply one ``orderBookL2`` frame.

    Return ``(rows, FrameStatus, note)``. For DONE each book's ``Outcome`` is in
    ``sync[local, SY_OUTCOME]``; ``note`` has ``NOTE_ATTENTION`` when a book needs the feed
    (a failure, or a partial applied) and ``NOTE_REFUSED`` when rows were refused. Rows of
    failed books are removed; every applied book's last row carries BATCH_END. ``res`` is
    scratch of ``N_RES`` (one call's spans and the row fields, so one array crosses the call).
    """
    end = len(buf)
    fields = res[_R_FIELDS:]
    for k in range(N_RES):
        res[k] = 0
    res[R_STATUS] = _REJECTED
    res[_R_ACTION] = _NONE
    res[_R_TABLE] = -1
    res[_R_DATA_S] = -1
    res[_R_FILTER_S] = -1
    for local in range(sync.shape[0]):
        sync[local, SY_OUTCOME] = _UNTOUCHED
    max_live = ids.shape[2] >> idmap.MAX_LOAD_SHIFT
    n0 = n
    n = _envelope(buf, end, sync, ids, rows, n, ts_local_ns, res, fields, max_live)
    status = res[R_STATUS]
    if status == _DONE and (res[_R_TABLE] != 1 or res[_R_ACTION] == _NONE):
        status = _NOT_BOOK if res[_R_TABLE] == -1 else _REJECTED
    if status == _DONE and res[_R_DATA_S] == -1:
        status = _REJECTED  # no data array
    if status == _DONE and res[_R_DATA_S] >= 0:  # data came before table/action
        n, ve = _data(buf, res[_R_DATA_S], res[_R_DATA_E], res[_R_ACTION], sync, ids, rows, n,
                      ts_local_ns, fields, max_live)  # fmt: skip
        if ve < 0:
            status = _REJECTED
    res[R_STATUS] = status
    if status != _DONE:
        for local in range(sync.shape[0]):
            sync[local, SY_OUTCOME] = _UNTOUCHED
        return n0, status, 0  # the id maps may have moved: the slow path resyncs or replays
    action = res[_R_ACTION]
    snapshot = action == _PARTIAL
    res[R_SNAPSHOT] = 1 if snapshot else 0
    if snapshot and res[_R_FILTER_S] >= 0:  # an empty partial still clears the filter's book
        local = symbol_row(buf, res[_R_FILTER_S], res[_R_FILTER_E], sync)
        if local >= 0 and sync[local, SY_OUTCOME] == _UNTOUCHED and n < rows.shape[0]:
            idmap.clear(ids, local)
            sync[local, SY_BID_IDS] = 0
            sync[local, SY_ASK_IDS] = 0
            write_row(rows, n, BOOK_CLEAR, FLAG_SNAPSHOT, VENUE_BITMEX, sync[local, SY_INST], 0,
                      ts_local_ns, 0, 0, 0)  # fmt: skip
            sync[local, SY_OUTCOME] = _APPLIED
            sync[local, SY_LAST_ROW] = n
            n += 1
    failed = False
    for local in range(sync.shape[0]):
        outcome = sync[local, SY_OUTCOME]
        if outcome != _UNTOUCHED and outcome != _APPLIED:
            failed = True
    if failed:
        n = _compact(rows, n0, n, sync)
    for local in range(sync.shape[0]):
        if sync[local, SY_OUTCOME] == _APPLIED:
            last = sync[local, SY_LAST_ROW]
            rows[last]["flags"] = rows[last]["flags"] | FLAG_BATCH_END
    refused = apply_rows(qty, state, rows, n0, n)
    attention = 0
    for local in range(sync.shape[0]):
        outcome = sync[local, SY_OUTCOME]
        if outcome == _UNTOUCHED:
            continue
        if outcome == _APPLIED:
            inst = sync[local, SY_INST]
            state[inst, ST_LAST_TS] = ts_local_ns
            check = check_book(state, inst)
            if check == CHECK_CROSSED or check == CHECK_LOCKED:  # noqa: SIM109 (numba)
                sync[local, SY_OUTCOME] = _CROSSED
                attention += 1
            elif snapshot:
                sync[local, SY_PHASE] = PHASE_SYNCED
                attention += 1
        else:
            attention += 1
    note = (NOTE_ATTENTION if attention else 0) | (NOTE_REFUSED if refused else 0)
    return n, _DONE, note
