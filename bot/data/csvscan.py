"""Streaming CSV input for the converters: bounded byte chunks of whole lines, numba field helpers.

Files are read in blocks of ``chunk_bytes`` (plain, ``.gz`` or a ``.zip`` holding one CSV, as
Binance publishes them); each block handed to a parser ends on a line boundary, so a parser never
sees half a line and memory stays bounded by the block size whatever the file size. Parsers are
numba kernels over the bytes (``bot.core.ticks.parse_units`` converts prices and sizes exactly);
they stop at the first bad line and return a status, which ``ScanError`` turns into a message
naming the file, line, value and grid.
"""

from __future__ import annotations

import gzip
import zipfile
import zlib
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path
from typing import IO

import numpy as np
from numba import njit

DEFAULT_CHUNK_BYTES = 8 << 20
BOM = b"\xef\xbb\xbf"
"""The UTF-8 byte-order mark some editors write at the start of a CSV."""


class ScanStatus(IntEnum):
    """Why a parser kernel stopped."""

    OK = 0
    NEED_SYMBOL = 1
    """The line names an instrument the kernel has not been told about yet."""
    FIELD_COUNT = 2
    BAD_NUMBER = 3
    OFF_GRID = 4
    BAD_VALUE = 5
    TIME_BACKWARDS = 6
    NEGATIVE = 7
    OVERFLOW = 8


class ConvertError(ValueError):
    """Input data cannot be converted (names file and line); the CLI shows it as one line."""


def open_text_binary(path: Path) -> IO[bytes] | gzip.GzipFile:
    """Open a plain, gzip or single-member zip file for binary reading."""
    try:
        if path.suffix == ".gz":
            return gzip.open(path, "rb")
        if path.suffix == ".zip":
            archive = zipfile.ZipFile(path)
            members = [m for m in archive.namelist() if not m.endswith("/")]
            if len(members) != 1:
                raise ConvertError(f"{path}: expected one CSV in the zip, found {len(members)}")
            return archive.open(members[0])
        return open(path, "rb")
    except FileNotFoundError:
        raise ConvertError(f"{path}: no such file") from None
    except (OSError, zipfile.BadZipFile) as e:
        raise ConvertError(f"{path}: cannot open ({e})") from None


def read_first_line(path: Path) -> bytes:
    """Return the first line of a (possibly compressed) file, without its line end."""
    with open_text_binary(path) as f:
        try:
            line = f.readline(1 << 16).removeprefix(BOM)
        except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error) as e:
            raise ConvertError(f"{path}: cannot read ({e})") from None
    return line.rstrip(b"\r\n")


def iter_line_blocks(
    path: Path, chunk_bytes: int = DEFAULT_CHUNK_BYTES, skip_lines: int = 0
) -> Iterator[tuple[np.ndarray, int, int]]:
    """Yield ``(bytes as uint8 array, number of its first line, lines in it)`` of whole lines.

    Line numbers start at 1. ``skip_lines`` drops a header. The array is a view of the block
    read (no copy), so a block costs about twice ``chunk_bytes``.
    """
    line_no = 1
    carry = b""
    with open_text_binary(path) as f:
        for _ in range(skip_lines):
            f.readline(1 << 20)
            line_no += 1
        while True:
            try:
                block = f.read(chunk_bytes)
            except (OSError, EOFError, zipfile.BadZipFile, gzip.BadGzipFile, zlib.error) as e:
                raise ConvertError(f"{path}: corrupt or truncated input ({e})") from None
            if not block:
                break
            if line_no == 1 + skip_lines and not carry and block.startswith(BOM):
                block = block[len(BOM) :]  # a UTF-8 byte-order mark is not data
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            lines = data.count(b"\n", 0, cut)
            yield np.frombuffer(data, dtype=np.uint8, count=cut), line_no, lines
            line_no += lines
            del data
    if carry.strip():
        yield np.frombuffer(carry + b"\n", dtype=np.uint8), line_no, 1


def line_text(buf: np.ndarray, pos: int) -> str:
    """Return the line starting at byte ``pos`` of ``buf`` (for error messages)."""
    raw = bytes(buf[pos : pos + 4096])
    return raw.split(b"\n", 1)[0].rstrip(b"\r").decode("utf-8", "replace")


def field_text(line: str, index: int) -> str:
    """Return field ``index`` of a CSV line (or the whole line when it has fewer fields)."""
    fields = line.split(",")
    return fields[index] if 0 <= index < len(fields) else line


def scan_error(
    path: Path, line_no: int, line: str, status: int, field: int, names: tuple[str, ...], grid: str
) -> ConvertError:
    """Build the one-line error for a kernel's stop status."""
    name = names[field] if 0 <= field < len(names) else f"field {field + 1}"
    value = field_text(line, field)
    where = f"{path}:{line_no}"
    if status == ScanStatus.FIELD_COUNT:
        return ConvertError(f"{where}: expected {len(names)} fields, got {line!r}")
    if status == ScanStatus.OFF_GRID:
        return ConvertError(f"{where}: {name} {value!r} is not on the grid {grid}")
    if status == ScanStatus.TIME_BACKWARDS:
        return ConvertError(f"{where}: {name} {value!r} goes back in time (rows must be ordered)")
    if status == ScanStatus.NEGATIVE:
        return ConvertError(f"{where}: {name} {value!r} is negative")
    if status == ScanStatus.OVERFLOW:
        return ConvertError(f"{where}: {name} {value!r} is out of range")
    return ConvertError(f"{where}: bad {name} {value!r}")


@njit(cache=True, nogil=True)
def split_fields(buf: np.ndarray, start: int, end: int, fs: np.ndarray, fe: np.ndarray) -> int:
    """Record the comma-separated fields of ``buf[start:end]`` in ``fs``/``fe``; return count.

    Returns ``fs.shape[0] + 1`` when the line has more fields than ``fs`` holds.
    """
    n = 0
    s = start
    for i in range(start, end + 1):
        if i == end or buf[i] == 44:
            if n >= fs.shape[0]:
                return fs.shape[0] + 1
            fs[n] = s
            fe[n] = i
            n += 1
            s = i + 1
    return n


@njit(cache=True, nogil=True)
def parse_int(buf: np.ndarray, start: int, end: int) -> tuple[int, bool]:
    """Parse a non-negative decimal integer; return ``(value, ok)``."""
    if end <= start or end - start > 18:
        return 0, False
    value = 0
    for i in range(start, end):
        c = int(buf[i])  # a Python int without the JIT: uint8 arithmetic would wrap
        if c < 48 or c > 57:
            return 0, False
        value = value * 10 + (c - 48)
    return value, True


@njit(cache=True, nogil=True)
def parse_bool(buf: np.ndarray, start: int, end: int) -> int:
    """Return 1 for true/True, 0 for false/False, -1 otherwise."""
    n = end - start
    if n == 4 and (buf[start] == 116 or buf[start] == 84) and buf[start + 3] == 101:
        return 1
    if n == 5 and (buf[start] == 102 or buf[start] == 70) and buf[start + 4] == 101:
        return 0
    return -1


@njit(cache=True, nogil=True)
def line_end(buf: np.ndarray, pos: int) -> tuple[int, int]:
    """Return ``(content end, next line start)`` of the line at ``pos`` (strips ``\\r``)."""
    n = buf.shape[0]
    i = pos
    while i < n and buf[i] != 10:
        i += 1
    nxt = i + 1
    if i > pos and buf[i - 1] == 13:
        i -= 1
    return i, nxt


@njit(cache=True, nogil=True)
def emit_row(out, r, kind, flags, venue, inst, ts, local, price, qty, seq, aux):
    """Write event row ``out[r]`` field by field (no temporary objects)."""
    row = out[r]
    row["kind"] = kind
    row["flags"] = flags
    row["venue"] = venue
    row["instrument"] = inst
    row["ts_exch_ns"] = ts
    row["ts_local_ns"] = local
    row["price_tick"] = price
    row["qty_lot"] = qty
    row["seq"] = seq
    row["aux"] = aux


@njit(cache=True, nogil=True)
def units_status(status: int) -> int:
    """Map a ``parse_units`` ParseStatus to a ScanStatus."""
    if status == 4:
        return 4  # OFF_GRID
    if status == 5:
        return 7  # NEGATIVE
    if status == 3:
        return 8  # OVERFLOW
    return 3  # BAD_NUMBER
