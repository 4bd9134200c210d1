"""tardis.dev downloadable CSV: ``incremental_book_L2`` and ``trades`` to event rows.

Follows ``docs/input-data.md`` (tardis.dev CSV): timestamps are µs (both columns), rows are in
arrival order (``local_timestamp`` non-decreasing, checked), ``amount`` is the new absolute size
(0 deletes). Snapshot rule: a snapshot row that follows a non-snapshot row, or whose
``timestamp`` differs from the previous snapshot row's, starts a new snapshot; the book is
cleared (a ``BOOK_CLEAR`` row) before it. Rows of an instrument before its first snapshot are
skipped and counted. State is kept per instrument (grouped files mix symbols). Snapshot rows with
amount 0 are absent levels and are dropped. ``BATCH_END`` marks the last row of each
(``local_timestamp``, instrument) group (set by ``merge.with_batch_ends``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from bot.core.dtypes import EVENT_DTYPE
from bot.core.ticks import POW10, parse_units
from bot.data.csvscan import (
    DEFAULT_CHUNK_BYTES,
    ConvertError,
    ScanStatus,
    emit_row,
    iter_line_blocks,
    line_end,
    line_text,
    parse_bool,
    parse_int,
    scan_error,
    split_fields,
    units_status,
)
from bot.data.resolve import Resolver

BOOK_COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "is_snapshot",
    "side",
    "price",
    "amount",
)
TRADE_COLUMNS = (
    "exchange",
    "symbol",
    "timestamp",
    "local_timestamp",
    "id",
    "side",
    "price",
    "amount",
)
TARDIS_TYPES = {",".join(BOOK_COLUMNS): "incremental_book_L2", ",".join(TRADE_COLUMNS): "trades"}
_MAX_KEY = 128

# kernel state columns (per instrument)
_STARTED, _PREV_SNAP, _PREV_TS, _SKIPPED = range(4)


def tardis_type(header: bytes) -> str | None:
    """Return the tardis data type a header line belongs to, or None."""
    return TARDIS_TYPES.get(header.decode("utf-8", "replace").strip())


@njit(cache=True, nogil=True)
def _lookup(buf, start, end, keys, key_len, n_keys):
    """Return the index of ``buf[start:end]`` among the first ``n_keys`` keys, or -1."""
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
def _scan(
    buf,
    pos,
    line,
    r,
    trades,
    keys,
    key_len,
    n_keys,
    key_inst,
    tick_m,
    tick_e,
    lot_m,
    lot_e,
    venue,
    state,
    last_local,
    out,
    fs,
    fe,
    pow10,
):
    """Parse lines from ``pos``; return ``(rows, pos, line, status, field)``.

    Stops at the end of ``buf`` (OK), when ``out`` is full (OK with ``pos`` short of the end),
    or at the start of a line it cannot take (a status).
    """
    n = buf.shape[0]
    while pos < n:
        if r + 2 > out.shape[0]:
            return r, pos, line, 0, -1  # out is full: the caller continues with a new one
        end, nxt = line_end(buf, pos)
        if end == pos:
            pos, line = nxt, line + 1
            continue
        if split_fields(buf, pos, end, fs, fe) != 8:
            return r, pos, line, 2, -1
        k = _lookup(buf, pos, fe[1], keys, key_len, n_keys)
        if k < 0:
            return r, pos, line, 1, 1
        inst = key_inst[k]
        ts, ok = parse_int(buf, fs[2], fe[2])
        if not ok:
            return r, pos, line, 3, 2
        local, ok = parse_int(buf, fs[3], fe[3])
        if not ok:
            return r, pos, line, 3, 3
        ts *= 1000
        local *= 1000
        if local < last_local[0]:
            return r, pos, line, 6, 3
        last_local[0] = local
        price, st = parse_units(buf, fs[6], fe[6], tick_m[inst], tick_e[inst], pow10)
        if st != 0:
            return r, pos, line, units_status(st), 6
        qty, st = parse_units(buf, fs[7], fe[7], lot_m[inst], lot_e[inst], pow10)
        if st != 0:
            return r, pos, line, units_status(st), 7
        side0 = buf[fs[5]]
        side_len = fe[5] - fs[5]
        if trades:
            if side_len == 3 and side0 == 98:  # buy
                kind = 4
            elif side_len == 4 and side0 == 115:  # sell
                kind = 5
            elif side_len == 7 and side0 == 117:  # unknown
                kind = 6
            else:
                return r, pos, line, 5, 5
            trade_id, ok = parse_int(buf, fs[4], fe[4])
            if not ok:
                trade_id = 0  # GUIDs and empty ids are kept out of the integer field
            emit_row(out, r, kind, 2, venue[inst], inst, ts, local, price, qty, trade_id, trade_id)
            r += 1
        else:
            snap = parse_bool(buf, fs[4], fe[4])
            if snap < 0:
                return r, pos, line, 5, 4
            if side_len == 3 and side0 == 98:  # bid
                kind = 1
            elif side_len == 3 and side0 == 97:  # ask
                kind = 2
            else:
                return r, pos, line, 5, 5
            if snap == 1 and (state[inst, _PREV_SNAP] == 0 or ts != state[inst, _PREV_TS]):
                emit_row(out, r, 3, 1, venue[inst], inst, ts, local, 0, 0, 0, 0)
                r += 1
                state[inst, _STARTED] = 1
            state[inst, _PREV_SNAP] = snap
            state[inst, _PREV_TS] = ts
            if state[inst, _STARTED] == 0:
                state[inst, _SKIPPED] += 1
            elif not (snap == 1 and qty == 0):
                emit_row(out, r, kind, snap, venue[inst], inst, ts, local, price, qty, 0, 0)
                r += 1
        pos, line = nxt, line + 1
    return r, pos, line, 0, -1


@dataclass
class TardisReader:
    """Stream one tardis CSV file as event chunks (ordered by ``local_timestamp``)."""

    path: Path
    data_type: str
    resolver: Resolver
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    skipped_before_snapshot: int = 0
    rows: int = 0
    _keys: np.ndarray = field(init=False)
    _key_len: np.ndarray = field(init=False)
    _key_inst: np.ndarray = field(init=False)
    _n_keys: int = 0

    def __post_init__(self) -> None:
        self._keys = np.zeros((64, _MAX_KEY), dtype=np.uint8)
        self._key_len = np.zeros(64, dtype=np.int64)
        self._key_inst = np.zeros(64, dtype=np.int64)

    @property
    def columns(self) -> tuple[str, ...]:
        """Return the CSV columns of this file's data type."""
        return TRADE_COLUMNS if self.data_type == "trades" else BOOK_COLUMNS

    def _learn(self, key: bytes, path_line: str) -> None:
        text = key.decode("utf-8", "replace")
        exchange, _, symbol = text.partition(",")
        inst = self.resolver.resolve(symbol, path_line, exchange=exchange)
        if len(key) > _MAX_KEY or self._n_keys >= self._keys.shape[0]:
            raise ConvertError(f"{path_line}: too many or too long symbols in one file")
        self._keys[self._n_keys, : len(key)] = np.frombuffer(key, dtype=np.uint8)
        self._key_len[self._n_keys] = len(key)
        self._key_inst[self._n_keys] = inst
        self._n_keys += 1

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks; raise ``ConvertError`` naming file and line on bad input."""
        res = self.resolver
        state = np.zeros((len(res.specs), 4), dtype=np.int64)
        last_local = np.zeros(1, dtype=np.int64)
        fs, fe = np.zeros(8, np.int64), np.zeros(8, np.int64)
        trades = self.data_type == "trades"
        for buf, first_line, lines in iter_line_blocks(self.path, self.chunk_bytes, skip_lines=1):
            out = np.zeros(lines + 16, dtype=EVENT_DTYPE)
            pos, line, r = 0, first_line, 0
            while True:
                r, pos, line, status, fld = _scan(
                    buf, pos, line, r, trades, self._keys, self._key_len, self._n_keys,
                    self._key_inst, res.tick_mantissa, res.tick_exponent, res.lot_mantissa,
                    res.lot_exponent, res.venue, state, last_local, out, fs, fe, POW10,
                )  # fmt: skip
                if status == ScanStatus.NEED_SYMBOL:
                    raw = bytes(buf[pos : pos + 4096]).split(b"\n", 1)[0].split(b",")
                    self._learn(b",".join(raw[:2]), f"{self.path}:{line}")
                    continue
                if status != ScanStatus.OK:
                    raise self._error(line, line_text(buf, pos), status, fld)
                if pos >= buf.shape[0]:
                    break
                self.rows += r  # out is full (snapshot resets add rows): hand it over
                yield out[:r]
                out = np.zeros(lines + 16, dtype=EVENT_DTYPE)
                r = 0
            self.rows += r
            if r:
                yield out[:r]
        self.skipped_before_snapshot = int(state[:, _SKIPPED].sum())

    def _error(self, line: int, text: str, status: int, fld: int) -> ConvertError:
        grid = ""
        if fld in (6, 7):
            fields = text.split(",")
            key = ",".join(fields[:2]).encode()
            inst = next(
                (
                    int(self._key_inst[k])
                    for k in range(self._n_keys)
                    if bytes(self._keys[k, : self._key_len[k]]) == key
                ),
                0,
            )
            grid = self.resolver.grid_text(inst, price=fld == 6)
        return scan_error(self.path, line, text, status, fld, self.columns, grid)
