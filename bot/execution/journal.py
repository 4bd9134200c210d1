"""The order journal: an append-only log of every intent, request and venue answer.

Format (``docs/journal.md``): UTF-8 text files ``journal-NNNNNN.jsonl``, one record per line as
``<crc32 of the JSON, 8 hex digits> <JSON object>\\n``. Why orjson lines with a CRC rather than
msgspec structs: the records are heterogeneous and operators read them with ``grep`` and
``jq`` in an incident, orjson encodes a dict in about a microsecond, and the CRC tells a torn or
corrupted line (power loss mid-write) from a valid one, which JSON parsing alone cannot always
do. Every record has ``seq`` (increasing across files and restarts), ``t`` (its type) and
``ts`` (wall-clock ns).

``append`` only encodes and queues the line (it never touches the disk), so the router calls
it on the event loop right before writing a request. A writer thread writes and fsyncs the
queue every ``fsync_interval_s``: a record is durable within that bounded delay, and the window
is covered by reconciliation, which recognises our orders by their run id. When a file passes
``rotate_bytes`` the next one starts with a ``snapshot`` record of the in-flight state, so
replay reads only the newest file that starts with a valid snapshot and those after it; older
files beyond ``keep_files`` are deleted.

A torn last line (no newline, or a CRC mismatch) is skipped and counted, never fatal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bot.config.trading import ExecutionSection

log = logging.getLogger(__name__)

FILE_PREFIX = "journal-"
FILE_SUFFIX = ".jsonl"
_FILE_RE = re.compile(r"^journal-(\d{6})\.jsonl$")
_CRC_LEN = 8
DEFAULT_ROTATE_BYTES = 64 << 20
DEFAULT_FSYNC_INTERVAL_S = 0.02
DEFAULT_KEEP_FILES = 8

Record = dict[str, Any]
SnapshotFn = Callable[[], Record]
"""Returns the fields of a ``snapshot`` record (the router's in-flight state)."""


class JournalError(OSError):
    """The journal directory cannot be used (the message names the path and the cause)."""


def encode_line(record: Record) -> bytes:
    """Return one journal line (CRC, space, JSON, newline)."""
    body = orjson.dumps(record)
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode_line(line: bytes) -> Record | None:
    """Return the record of one line (without its newline), or None if torn or corrupt."""
    if len(line) < _CRC_LEN + 2 or line[_CRC_LEN] != 0x20:
        return None
    body = line[_CRC_LEN + 1 :]
    try:
        crc = int(line[:_CRC_LEN], 16)
    except ValueError:
        return None
    if zlib.crc32(body) != crc:
        return None
    try:
        rec = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return rec if isinstance(rec, dict) else None


def journal_files(directory: Path) -> list[Path]:
    """Return the journal files in ``directory``, oldest first."""
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _FILE_RE.match(p.name))]
    return [p for _, p in sorted(found)]


@dataclass
class Replay:
    """What a journal directory holds: its valid records in order, and what was skipped."""

    records: list[Record] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    torn: int = 0
    """Lines skipped: torn (no newline) or failing their CRC."""
    last_seq: int = 0


def _read_file(path: Path, out: Replay) -> list[Record]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline, else a torn line
    if tail:
        out.torn += 1
        log.warning("journal %s: torn last record skipped (%d bytes)", path.name, len(tail))
    recs = []
    for i, line in enumerate(lines):
        rec = decode_line(line)
        if rec is None:
            out.torn += 1
            log.warning("journal %s: line %d fails its CRC, skipped", path.name, i + 1)
            continue
        recs.append(rec)
    return recs


def replay(directory: str | Path) -> Replay:
    """Read ``directory``: the newest file that starts with a snapshot, and every later one."""
    out = Replay()
    files = journal_files(Path(directory))
    per_file = []
    for path in files:
        try:
            per_file.append((path, _read_file(path, out)))
        except OSError as e:
            raise JournalError(f"{path}: cannot read ({e.strerror})") from None
    start = 0
    for k in range(len(per_file) - 1, -1, -1):
        recs = per_file[k][1]
        if recs and recs[0].get("t") == "snapshot":
            start = k
            break
    for path, recs in per_file[start:]:
        out.files.append(path)
        out.records.extend(recs)
    for _, recs in per_file:
        for rec in recs:
            out.last_seq = max(out.last_seq, int(rec.get("seq", 0)))
    return out


class _Rotate:
    """Queue marker: close the current file and open the next one."""


_ROTATE = _Rotate()


class Journal:
    """The writer side: ``append`` on the loop, a thread writes and fsyncs in batches."""

    def __init__(
        self,
        directory: str | Path,
        *,
        rotate_bytes: int = DEFAULT_ROTATE_BYTES,
        fsync_interval_s: float = DEFAULT_FSYNC_INTERVAL_S,
        keep_files: int = DEFAULT_KEEP_FILES,
        wall_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        if rotate_bytes < 4096:
            raise ValueError(f"journal rotate_bytes must be >= 4096, got {rotate_bytes}")
        if not 0 < fsync_interval_s <= 1.0:
            raise ValueError(f"journal fsync interval must be in (0, 1] s, got {fsync_interval_s}")
        if keep_files < 2:
            raise ValueError(f"journal keep_files must be >= 2, got {keep_files}")
        self.directory = Path(directory)
        self.rotate_bytes = rotate_bytes
        self.fsync_interval_s = fsync_interval_s
        self.keep_files = keep_files
        self._wall_ns = wall_ns
        self._snapshot: SnapshotFn = dict
        self._queue: list[tuple[int, bytes] | _Rotate] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._seq = 0
        self._durable_seq = 0
        self._file_bytes = 0
        self._file_index = 0
        self._fd: int | None = None
        self._thread: threading.Thread | None = None
        self._closing = False
        self.error: OSError | None = None
        """The writer thread's I/O error, if any (the router halts trading on it)."""
        self.records_written = 0
        self.fsyncs = 0
        self.rotations = 0

    @classmethod
    def from_section(cls, directory: str | Path, section: ExecutionSection) -> Journal:
        """Return a journal in ``directory`` sized by the run config's ``execution`` section."""
        return cls(
            directory,
            rotate_bytes=section.journal_rotate_bytes,
            fsync_interval_s=section.journal_fsync_interval_ms / 1000.0,
            keep_files=section.journal_keep_files,
        )

    @property
    def seq(self) -> int:
        """Return the sequence number of the last appended record."""
        return self._seq

    def open(self, snapshot: SnapshotFn, last_seq: int = 0) -> None:
        """Start a new file (after the replayed ones) with a snapshot, and the writer thread."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise JournalError(f"{self.directory}: cannot create ({e.strerror})") from None
        if not os.access(self.directory, os.W_OK):
            raise JournalError(f"{self.directory}: not writable")
        files = journal_files(self.directory)
        last = _FILE_RE.match(files[-1].name) if files else None
        self._file_index = int(last.group(1)) if last is not None else 0
        self._seq = self._durable_seq = last_seq
        self._snapshot = snapshot
        self._open_next()
        self._file_bytes = 0
        self.append("snapshot", snapshot())
        self._thread = threading.Thread(target=self._run, name="tickbot-journal", daemon=True)
        self._thread.start()

    def append(self, kind: str, fields: Record) -> int:
        """Queue one record of type ``kind``; return its seq. Never blocks on the disk."""
        self._seq += 1
        rec = {"seq": self._seq, "t": kind, "ts": self._wall_ns()}
        rec.update(fields)
        line = encode_line(rec)
        with self._lock:
            self._queue.append((self._seq, line))
        self._file_bytes += len(line)
        if self._file_bytes >= self.rotate_bytes and kind != "snapshot":
            self._rotate()
        return self._seq

    def _rotate(self) -> None:
        with self._lock:
            self._queue.append(_ROTATE)
        self._file_bytes = 0
        self.rotations += 1
        self.append("snapshot", self._snapshot())

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Block until everything appended so far is fsynced; return False on timeout."""
        target = self._seq
        deadline = time.monotonic() + timeout_s
        with self._cond:
            self._cond.notify_all()
            while self._durable_seq < target and self.error is None:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return self._durable_seq >= target
                self._cond.wait(left)
        return self._durable_seq >= target

    def close(self, timeout_s: float = 5.0) -> bool:
        """Flush, stop the writer thread and close the file; return whether all was written."""
        ok = self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout_s)
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None
        return ok

    # writer thread -------------------------------------------------------------------------
    def _open_next(self) -> None:
        self._file_index += 1
        path = self.directory / f"{FILE_PREFIX}{self._file_index:06d}{FILE_SUFFIX}"
        try:
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as e:
            raise JournalError(f"{path}: cannot open ({e.strerror})") from None

    def _run(self) -> None:
        """Every ``fsync_interval_s`` (or when flushed): write the queue and fsync it."""
        while True:
            with self._cond:
                if not self._closing:
                    self._cond.wait(self.fsync_interval_s)
                batch, self._queue = self._queue, []
                closing = self._closing
            target = 0
            try:
                target = self._write(batch)
            except OSError as e:
                log.error("journal write failed: %s", e.strerror)
                with self._cond:
                    self.error = e
                    self._cond.notify_all()
                return
            with self._cond:
                self._durable_seq = max(self._durable_seq, target)
                self._cond.notify_all()
                if closing and not self._queue:
                    return

    def _write(self, batch: list[tuple[int, bytes] | _Rotate]) -> int:
        """Write ``batch`` (rotating where marked); return the last seq written."""
        chunk: list[bytes] = []
        last = 0
        for item in batch:
            if isinstance(item, _Rotate):
                self._write_chunk(chunk)
                chunk = []
                if self._fd is not None:
                    os.close(self._fd)
                self._open_next()
                self._prune()
            else:
                last = item[0]
                chunk.append(item[1])
        self._write_chunk(chunk)
        return last

    def _write_chunk(self, chunk: list[bytes]) -> None:
        if not chunk or self._fd is None:
            return
        data = b"".join(chunk)
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        os.fsync(self._fd)
        self.records_written += len(chunk)
        self.fsyncs += 1

    def _prune(self) -> None:
        files = journal_files(self.directory)
        for path in files[: max(0, len(files) - self.keep_files)]:
            with contextlib.suppress(OSError):
                path.unlink()


def iter_records(directory: str | Path) -> Iterator[Record]:
    """Yield the replayable records of ``directory`` (``replay(directory).records``)."""
    yield from replay(directory).records
