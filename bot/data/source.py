"""An input file's first line (read once), its header, and its lines as int64 tables.

``read_first`` opens a file once to classify it: a UTF-8 byte-order mark is dropped, an empty
file is an error that says so, and a corrupt compressed stream is one line of error text.
``TableSource`` streams the file's lines through ``bot.data.table.scan_table`` in bounded
blocks, resolving symbols to instrument ids as they appear (and leaving out the symbols that
``--symbols`` does not name, counted).
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bot.core.ticks import POW10
from bot.data.csvscan import (
    BOM,
    DEFAULT_CHUNK_BYTES,
    ConvertError,
    ScanStatus,
    iter_line_blocks,
    line_text,
    open_text_binary,
    scan_error,
)
from bot.data.resolve import Resolver
from bot.data.table import MAX_FIELDS, OUT_FIRST, Col, col_arrays, scan_table

READ_ERRORS = (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error)
"""What reading a damaged file can raise (``zlib.error``: a corrupt deflate stream)."""
_MAX_LINE = 1 << 16
_MAX_KEYS = 4096
_MAX_KEY_BYTES = 128


@dataclass(frozen=True)
class FirstLine:
    """The first line of an input, read once and shared by every format's test."""

    path: Path
    raw: bytes
    """Without BOM and line end."""

    @property
    def text(self) -> str:
        """Return the line as text."""
        return self.raw.decode("utf-8", "replace").strip()

    @property
    def fields(self) -> list[str]:
        """Return the comma-separated fields, stripped."""
        return [f.strip() for f in self.text.split(",")]

    @property
    def is_header(self) -> bool:
        """Return whether the line is a header (its first byte is not a digit or a sign)."""
        return not self.text[:1].isdigit()

    @property
    def names(self) -> list[str]:
        """Return the header's column names, lower-cased (empty without a header)."""
        return [f.lower() for f in self.fields] if self.is_header else []

    def position(self, name: str) -> int:
        """Return the header position of column ``name``, or -1."""
        names = self.names
        return names.index(name) if name in names else -1


def read_first(path: Path) -> FirstLine:
    """Return the first line of ``path``; raise ``ConvertError`` for empty or unreadable files."""
    if path.is_dir():
        raise ConvertError(f"{path}: is a directory, not a data file")
    with open_text_binary(path) as f:
        try:
            line = f.readline(_MAX_LINE)
            while line.strip() in (b"", BOM) and line:
                line = f.readline(_MAX_LINE)
        except READ_ERRORS as e:
            raise ConvertError(f"{path}: corrupt or truncated input ({e})") from None
    raw = line.removeprefix(BOM).rstrip(b"\r\n")
    if not raw.strip():
        raise ConvertError(f"{path}: the file is empty (no header, no rows)")
    return FirstLine(path, raw)


@dataclass
class Counts:
    """What a conversion did besides writing rows, reported per input."""

    other_symbols: int = 0
    """Rows of symbols that ``--symbols`` left out."""
    reordered: int = 0
    """Rows whose local time was below an earlier row's and which were moved into order."""
    clamped: int = 0
    """Rows later than the reorder window allows, kept in place with their local time raised."""
    duplicate_trades: int = 0
    zero_trades: int = 0
    skipped_before_snapshot: int = 0
    stale: int = 0
    """Book updates older than the snapshot they follow (already in it)."""
    gaps: int = 0
    """Sequence gaps (the book is marked invalid until the next snapshot)."""

    def notes(self) -> list[str]:
        """Return the non-zero counters as text."""
        texts = {
            "other_symbols": "rows of symbols not selected by --symbols skipped",
            "reordered": "rows reordered by local time",
            "clamped": "rows later than the reorder window (kept, time raised)",
            "duplicate_trades": "duplicate trades (same id) dropped",
            "zero_trades": "zero-quantity trades dropped",
            "skipped_before_snapshot": "rows before the first snapshot skipped",
            "stale": "updates already in the snapshot skipped",
            "gaps": "sequence gaps (book invalid until the next snapshot)",
        }
        return [f"{getattr(self, k)} {v}" for k, v in texts.items() if getattr(self, k)]


@dataclass
class TableSource:
    """Stream a CSV file as int64 tables of the requested columns (see ``bot.data.table``)."""

    first: FirstLine
    cols: list[Col]
    positions: list[int]
    """File position of each column."""
    resolver: Resolver
    counts: Counts
    ncols: int
    key: tuple[int, int] | None = None
    """First and last position of the fields naming the instrument (adjacent exchange,symbol,
    or the symbol alone), or None for files of one instrument (``fixed_inst``)."""
    exchange_pos: int = -1
    """Position of the exchange field when it is not part of ``key``."""
    fixed_inst: int = 0
    symbols: frozenset[str] | None = None
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    rows: int = 0
    _keys: np.ndarray = field(init=False)
    _key_len: np.ndarray = field(init=False)
    _key_inst: np.ndarray = field(init=False)
    _n_keys: int = 0

    def __post_init__(self) -> None:
        if self.ncols > MAX_FIELDS:
            raise ConvertError(f"{self.first.path}:1: more than {MAX_FIELDS} columns")
        self._keys = np.zeros((_MAX_KEYS, _MAX_KEY_BYTES), dtype=np.uint8)
        self._key_len = np.zeros(_MAX_KEYS, dtype=np.int64)
        self._key_inst = np.zeros(_MAX_KEYS, dtype=np.int64)

    @property
    def path(self) -> Path:
        """Return the input path."""
        return self.first.path

    def names(self) -> tuple[str, ...]:
        """Return the file's column names (header, else the format's own)."""
        if self.first.is_header:
            return tuple(self.first.fields)
        names = [f"field {i + 1}" for i in range(self.ncols)]
        for c, p in zip(self.cols, self.positions, strict=True):
            names[p] = c.name
        return tuple(names)

    def _learn(self, fields: list[bytes], where: str) -> None:
        assert self.key is not None
        lo, hi = self.key
        raw = b",".join(fields[lo : hi + 1])
        text = raw.decode("utf-8", "replace")
        exchange, _, symbol = text.partition(",")
        if lo == hi:
            symbol = text
            pos = self.exchange_pos
            exchange = fields[pos].decode("utf-8", "replace") if 0 <= pos < len(fields) else ""
        if self.symbols is not None and symbol not in self.symbols:
            inst = -1
        else:
            inst = self.resolver.resolve(symbol, where, exchange=exchange or None)
        if len(raw) > _MAX_KEY_BYTES or self._n_keys >= _MAX_KEYS:
            raise ConvertError(f"{where}: too many or too long symbols in one file")
        self._keys[self._n_keys, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
        self._key_len[self._n_keys] = len(raw)
        self._key_inst[self._n_keys] = inst
        self._n_keys += 1

    def tables(self) -> Iterator[np.ndarray]:
        """Yield int64 tables ``[rows, 2 + len(cols)]``; rows of left-out symbols are counted."""
        meta, enum_text, enum_len, enum_col, enum_value = col_arrays(self.cols, self.positions)
        res = self.resolver
        fs = np.zeros(MAX_FIELDS, np.int64)
        fe = np.zeros(MAX_FIELDS, np.int64)
        key_lo, key_hi = self.key if self.key is not None else (-1, -1)
        skip = 1 if self.first.is_header else 0
        try:
            for buf, first_line, lines in iter_line_blocks(self.path, self.chunk_bytes, skip):
                out = np.zeros((lines + 1, OUT_FIRST + len(self.cols)), dtype=np.int64)
                pos, line, r = 0, first_line, 0
                while True:
                    r, pos, line, status, fld = scan_table(
                        buf,
                        pos,
                        line,
                        r,
                        self.ncols,
                        key_lo,
                        key_hi,
                        self.fixed_inst,
                        self._keys,
                        self._key_len,
                        self._n_keys,
                        self._key_inst,
                        meta,
                        enum_text,
                        enum_len,
                        enum_col,
                        enum_value,
                        res.tick_mantissa,
                        res.tick_exponent,
                        res.lot_mantissa,
                        res.lot_exponent,
                        out,
                        fs[: self.ncols],
                        fe[: self.ncols],
                        POW10,
                    )
                    if status == ScanStatus.NEED_SYMBOL:
                        fields = line_text(buf, pos).encode().split(b",")
                        self._learn(fields, f"{self.path}:{line}")
                        continue
                    if status != ScanStatus.OK:
                        raise self._error(buf, pos, line, status, fld)
                    if pos >= buf.shape[0] or r >= out.shape[0]:
                        break
                table = out[:r]
                keep = table[:, 0] >= 0
                if not keep.all():
                    self.counts.other_symbols += int((~keep).sum())
                    table = table[keep]
                self.rows += table.shape[0]
                yield table
        except READ_ERRORS as e:
            raise ConvertError(f"{self.path}: corrupt or truncated input ({e})") from None

    def _error(self, buf: np.ndarray, pos: int, line: int, status: int, fld: int) -> ConvertError:
        text = line_text(buf, pos)
        grid = ""
        if status == ScanStatus.OFF_GRID:
            price = any(
                p == fld and c.grid == 0 for c, p in zip(self.cols, self.positions, strict=True)
            )
            inst = self.fixed_inst
            if self.key is not None:
                raw = b",".join(text.encode().split(b",")[self.key[0] : self.key[1] + 1])
                for k in range(self._n_keys):
                    if bytes(self._keys[k, : self._key_len[k]]) == raw:
                        inst = int(self._key_inst[k])
            grid = self.resolver.grid_text(max(inst, 0), price=price)
        return scan_error(self.path, line, text, status, fld, self.names(), grid)
