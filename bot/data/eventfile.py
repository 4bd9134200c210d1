"""The tickbot event file: a JSON header followed by raw, memory-mappable ``EVENT_DTYPE`` rows.

Layout (all integers little-endian; see ``docs/event-file-format.md``)::

    offset 0   8 bytes   magic b"TBEVENTS"
    offset 8   u32       header length H in bytes (UTF-8 JSON, padded with spaces)
    offset 12  u32       0 (reserved)
    offset 16  H bytes   JSON header: format, version, schema_version, dtype, data_offset, count,
                         instruments, source, time_range, created_at, data_crc32, ...
    data_offset          count * 56 bytes of EVENT_DTYPE rows, replay order (ts_local_ns
                         non-decreasing); data_offset is a multiple of 4096 (page aligned)

A writer reserves room for the header, streams rows after it, and rewrites the header at close
with the final count, time range and CRC-32. It writes to a hidden temporary name in the target
directory and renames on success, so a crash never leaves a half-written file under the real name.
"""

from __future__ import annotations

import datetime as dt
import json
import mmap
import os
import struct
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, SCHEMA_VERSION
from bot.core.instruments import InstrumentError, InstrumentSpec, parse_specs, specs_to_builtins

MAGIC = b"TBEVENTS"
FORMAT_NAME = "tickbot-events"
FORMAT_VERSION = 1
"""Version of the container layout (preamble + header + rows); the row layout has its own
``schema_version`` (``bot.core.dtypes.SCHEMA_VERSION``)."""
PREAMBLE = struct.Struct("<8sII")
DATA_ALIGN = 4096
_HEADER_SLACK = 256
_I64_MAX = (1 << 63) - 1


class EventFileError(ValueError):
    """An event file is missing, truncated, corrupt, or of another format or version."""


def dtype_description(dtype: np.dtype = EVENT_DTYPE) -> dict[str, Any]:
    """Return a JSON-able description of a structured dtype (names, formats, offsets, size)."""
    names = list(dtype.names or ())
    return {
        "names": names,
        "formats": [dtype.fields[n][0].str for n in names],  # type: ignore[index]
        "offsets": [int(dtype.fields[n][1]) for n in names],  # type: ignore[index]
        "itemsize": int(dtype.itemsize),
    }


def _now_utc() -> str:
    """Return the creation time: ``SOURCE_DATE_EPOCH`` when set (reproducible), else now."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = (
        dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC)
        if epoch is not None and epoch.isdigit()
        else dt.datetime.now(tz=dt.UTC)
    )
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _header_dict(
    instruments: list[InstrumentSpec],
    source: str,
    created_at: str,
    count: int,
    time_range: Mapping[str, list[int] | None],
    crc: int,
    data_offset: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "schema_version": SCHEMA_VERSION,
        "dtype": dtype_description(),
        "byte_order": "little",
        "data_offset": data_offset,
        "count": count,
        "order": "ts_local_ns",
        "time_range": time_range,
        "data_crc32": crc,
        "instruments": specs_to_builtins(instruments),
        "source": source,
        "created_at": created_at,
        **extra,
    }


def _encode_header(header: dict[str, Any], capacity: int) -> bytes:
    raw = json.dumps(header, sort_keys=False, separators=(",", ":")).encode()
    if len(raw) > capacity:
        raise EventFileError(f"header of {len(raw)} bytes exceeds its reserved {capacity} bytes")
    return raw + b" " * (capacity - len(raw))


class EventFileWriter:
    """Stream event rows into a new event file; the file appears under ``path`` at ``close``.

    Use as a context manager: on an exception the temporary file is removed and nothing is
    renamed. ``extra`` adds keys to the header (e.g. generator parameters, converter counters).
    """

    def __init__(
        self,
        path: str | Path,
        instruments: list[InstrumentSpec],
        source: str,
        *,
        created_at: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        if not instruments:
            raise EventFileError("an event file needs at least one instrument spec")
        self.path = Path(path)
        self.instruments = list(instruments)
        self.source = source
        self.created_at = created_at or _now_utc()
        self.extra = dict(extra or {})
        self.count = 0
        self._crc = 0
        self._exch = [_I64_MAX, -_I64_MAX]
        self._local = [_I64_MAX, -_I64_MAX]
        self._last_local = -_I64_MAX
        widest = {"ts_exch_ns": [-_I64_MAX, -_I64_MAX], "ts_local_ns": [-_I64_MAX, -_I64_MAX]}
        probe = self._header(
            count=_I64_MAX, time_range=widest, crc=0xFFFFFFFF, data_offset=_I64_MAX
        )
        self._capacity = len(json.dumps(probe, separators=(",", ":")).encode()) + _HEADER_SLACK
        self._data_offset = -(-(PREAMBLE.size + self._capacity) // DATA_ALIGN) * DATA_ALIGN
        self._capacity = self._data_offset - PREAMBLE.size
        self._tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)  # like --out DIR elsewhere
            self._file = open(self._tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        except OSError as e:
            raise EventFileError(f"{self.path}: cannot create ({e.strerror})") from None
        self._file.write(b"\0" * self._data_offset)
        self._closed = False

    def _header(
        self, count: int, time_range: Mapping[str, list[int] | None], crc: int, data_offset: int
    ) -> dict[str, Any]:
        return _header_dict(
            self.instruments,
            self.source,
            self.created_at,
            count,
            time_range,
            crc,
            data_offset,
            self.extra,
        )

    def write(self, chunk: np.ndarray) -> None:
        """Append rows (``EVENT_DTYPE``, ``ts_local_ns`` non-decreasing across all writes)."""
        if self._closed:
            raise EventFileError(f"{self.path}: writer is closed")
        if chunk.dtype != EVENT_DTYPE:
            raise EventFileError(f"rows must have EVENT_DTYPE, got {chunk.dtype}")
        if chunk.shape[0] == 0:
            return
        chunk = np.ascontiguousarray(chunk)
        local = chunk["ts_local_ns"]
        if local[0] < self._last_local or (local.shape[0] > 1 and np.any(local[1:] < local[:-1])):
            raise EventFileError(
                f"{self.path}: rows must be in replay order (ts_local_ns non-decreasing); "
                f"row {self.count + _first_decrease(local, self._last_local)} goes back in time"
            )
        top = int(chunk["instrument"].max())
        if top >= len(self.instruments):
            raise EventFileError(
                f"{self.path}: instrument id {top} but the header lists "
                f"{len(self.instruments)} instrument(s)"
            )
        raw = chunk.view(np.uint8)
        self._file.write(raw.data)
        self._crc = zlib.crc32(raw.data, self._crc)
        exch = chunk["ts_exch_ns"]
        self._exch = [min(self._exch[0], int(exch.min())), max(self._exch[1], int(exch.max()))]
        self._local = [min(self._local[0], int(local[0])), max(self._local[1], int(local[-1]))]
        self._last_local = int(local[-1])
        self.count += chunk.shape[0]

    def close(self) -> Path:
        """Write the final header and move the file into place; return its path."""
        if self._closed:
            return self.path
        empty = self.count == 0
        time_range: dict[str, list[int] | None] = {
            "ts_exch_ns": None if empty else self._exch,
            "ts_local_ns": None if empty else self._local,
        }
        header = self._header(self.count, time_range, self._crc, self._data_offset)
        try:
            self._file.seek(0)
            self._file.write(PREAMBLE.pack(MAGIC, self._capacity, 0))
            self._file.write(_encode_header(header, self._capacity))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.abort()
            raise EventFileError(f"{self.path}: cannot write ({e.strerror})") from None
        self._closed = True
        return self.path

    def abort(self) -> None:
        """Discard the partial file (nothing appears under ``path``)."""
        self._closed = True
        self._file.close()
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> EventFileWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _first_decrease(local: np.ndarray, before: int) -> int:
    if local[0] < before:
        return 0
    return int(np.argmax(local[1:] < local[:-1])) + 1


def write_event_file(
    path: str | Path,
    events: np.ndarray,
    instruments: list[InstrumentSpec],
    source: str,
    **kwargs: Any,
) -> Path:
    """Write ``events`` to a new event file at ``path`` in one go; return the path."""
    with EventFileWriter(path, instruments, source, **kwargs) as writer:
        writer.write(events)
    return writer.path


@dataclass
class EventFile:
    """An opened event file: its header, instrument specs and the read-only memory-mapped rows."""

    path: Path
    header: dict[str, Any]
    instruments: list[InstrumentSpec]
    events: np.ndarray
    """``np.memmap`` of ``EVENT_DTYPE`` in read-only mode (an empty array when count is 0)."""

    def iter_chunks(
        self, start: int = 0, stop: int | None = None, rows: int = 1 << 20
    ) -> Iterator[np.ndarray]:
        """Yield rows ``[start, stop)`` as owned arrays of up to ``rows``, read (not mapped).

        Scanning a large file this way keeps the resident set at one chunk; touching every page
        of ``events`` would map the whole file into it.
        """
        stop = self.events.shape[0] if stop is None else min(stop, self.events.shape[0])
        size = EVENT_DTYPE.itemsize
        with open(self.path, "rb") as f:
            f.seek(self.header["data_offset"] + start * size)
            for first in range(start, stop, rows):
                count = min(rows, stop - first)
                chunk = np.fromfile(f, dtype=EVENT_DTYPE, count=count)
                if chunk.shape[0] != count:
                    raise _fail(self.path, "truncated while reading")
                yield chunk

    def release(self, start: int, stop: int) -> None:
        """Drop the mapped pages of rows ``[start, stop)`` from memory (``MADV_DONTNEED``).

        A long replay over ``events`` can call this behind its cursor to keep the resident set
        bounded; the rows stay readable (the pages are read again from the file on access).
        """
        mapped = getattr(self.events, "_mmap", None)
        if mapped is None or stop <= start or not hasattr(mmap, "MADV_DONTNEED"):
            return
        base = self.header["data_offset"] % mmap.ALLOCATIONGRANULARITY
        first = base + start * EVENT_DTYPE.itemsize
        last = base + stop * EVENT_DTYPE.itemsize
        first -= first % mmap.PAGESIZE
        last -= last % mmap.PAGESIZE
        if last > first:
            mapped.madvise(mmap.MADV_DONTNEED, first, last - first)

    def verify(self, chunk_rows: int = 1 << 20) -> None:
        """Recompute the CRC-32 of the rows; raise ``EventFileError`` if it does not match."""
        crc = 0
        for part in self.iter_chunks(rows=chunk_rows):
            crc = zlib.crc32(part.view(np.uint8).data, crc)
        if crc != self.header["data_crc32"]:
            raise EventFileError(
                f"{self.path}: corrupt: event data CRC-32 {crc:08x} does not match the "
                f"header's {self.header['data_crc32']:08x}"
            )


def _fail(path: Path, what: str) -> EventFileError:
    return EventFileError(f"{path}: {what}")


def _read_header(path: Path) -> tuple[dict[str, Any], int]:
    try:
        with open(path, "rb") as f:
            pre = f.read(PREAMBLE.size)
            size = os.fstat(f.fileno()).st_size
            if len(pre) < PREAMBLE.size or pre[:8] != MAGIC:
                raise _fail(path, "not a tickbot event file (bad magic bytes)")
            _, length, _ = PREAMBLE.unpack(pre)
            raw = f.read(length)
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except IsADirectoryError:
        raise _fail(path, "is a directory, not an event file") from None
    except OSError as e:
        raise _fail(path, f"cannot read ({e.strerror})") from None
    if len(raw) < length:
        raise _fail(path, "truncated inside the header")
    try:
        header = json.loads(raw.decode().rstrip(" \0"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _fail(path, "corrupt header (not valid JSON)") from None
    if not isinstance(header, dict):
        raise _fail(path, "corrupt header (not a JSON object)")
    return header, size


def _check_header(path: Path, header: dict[str, Any], size: int) -> int:
    if header.get("format") != FORMAT_NAME:
        raise _fail(path, f"not a tickbot event file (format {header.get('format')!r})")
    if header.get("version") != FORMAT_VERSION:
        raise _fail(
            path,
            f"event file format version {header.get('version')!r}; "
            f"this tickbot reads version {FORMAT_VERSION}",
        )
    if header.get("schema_version") != SCHEMA_VERSION:
        raise _fail(
            path,
            f"event schema version {header.get('schema_version')!r}; this tickbot reads "
            f"schema version {SCHEMA_VERSION} (convert the data again)",
        )
    if header.get("dtype") != dtype_description() or header.get("byte_order") != "little":
        raise _fail(path, "event row layout in the header does not match EVENT_DTYPE")
    count, offset = header.get("count"), header.get("data_offset")
    if not isinstance(count, int) or not isinstance(offset, int) or count < 0:
        raise _fail(path, "corrupt header (count or data_offset missing)")
    if offset % DATA_ALIGN or offset < PREAMBLE.size:
        raise _fail(path, f"corrupt header (data_offset {offset} not aligned)")
    expected = offset + count * EVENT_DTYPE.itemsize
    if size < expected:
        held = max(0, size - offset) // EVENT_DTYPE.itemsize
        raise _fail(path, f"truncated: header says {count} events, file holds {held}")
    if size > expected:
        raise _fail(path, f"corrupt: {size - expected} bytes after the last event")
    return count


def read_event_file(path: str | Path, *, verify: bool = False) -> EventFile:
    """Open an event file read-only; raise ``EventFileError`` with a one-line reason if bad.

    ``verify=True`` also checks the CRC-32 of all rows (reads the whole file).
    """
    path = Path(path)
    header, size = _read_header(path)
    count = _check_header(path, header, size)
    try:
        instruments = parse_specs(header.get("instruments"), source=f"{path} header")
    except InstrumentError as e:
        raise _fail(path, f"corrupt instrument specs: {e}") from None
    if not instruments:
        raise _fail(path, "corrupt header (no instruments)")
    if count == 0:
        events: np.ndarray = np.zeros(0, dtype=EVENT_DTYPE)
        events.flags.writeable = False
    else:
        events = np.memmap(
            path, dtype=EVENT_DTYPE, mode="r", offset=header["data_offset"], shape=(count,)
        )
    opened = EventFile(path=path, header=header, instruments=instruments, events=events)
    if verify:
        opened.verify()
    return opened
