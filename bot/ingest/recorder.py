"""Raw capture recorder: every received frame and REST body, gzip NDJSON, rotated and fsynced.

The format itself (header, lines, reading, replay) is ``bot.ingest.capture``; this module is the
live writer. A payload that is not valid UTF-8 is stored base64 so that nothing is lost or altered.

The loop never blocks on the disk: ``ws``/``rest`` append to an in-memory list, and
``CaptureRecorder.run`` writes batches from a worker thread (``asyncio.to_thread``). A file is
rotated when it exceeds ``rotate_bytes`` (uncompressed) or ``rotate_s``; a rotated file is flushed
and fsynced before the next one opens, and every file starts with its own header, so each file
replays on its own. On cancellation (SIGTERM) the remaining lines are written and the file is
closed and fsynced.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gzip
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bot.ingest.capture import FORMAT, VERSION, encode_line, header

__all__ = [
    "FORMAT",
    "VERSION",
    "AnchoredClock",
    "CaptureRecorder",
    "CaptureWriter",
    "encode_line",
    "header",
]


class CaptureWriter:
    """Synchronous writer of rotated capture files (call ``write`` from one thread at a time)."""

    def __init__(
        self,
        out_dir: str | Path,
        head: dict[str, Any],
        *,
        rotate_bytes: int = 256 << 20,
        rotate_s: float = 3600.0,
        compresslevel: int = 6,
    ) -> None:
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.head = head
        self.rotate_bytes = rotate_bytes
        self.rotate_s = rotate_s
        self.compresslevel = compresslevel
        self.files: list[Path] = []
        self.lines = 0
        self._raw: Any = None
        self._gz: gzip.GzipFile | None = None
        self._bytes = 0
        self._opened = 0.0

    def _open(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.out_dir / f"{self.head['venue']}-{stamp}-{len(self.files):04d}.ndjson.gz"
        self._raw = open(path, "xb")  # noqa: SIM115 (closed in _close)
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=self.compresslevel)
        self._gz.write(orjson.dumps(self.head) + b"\n")
        self._bytes = 0
        self._opened = time.monotonic()
        self.files.append(path)

    def _close(self) -> None:
        if self._gz is None:
            return
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        self._gz = None
        self._raw = None

    def write(self, lines: Sequence[bytes]) -> None:
        """Append encoded lines, rotating (with fsync) when the size or age limit is reached."""
        for line in lines:
            if self._gz is None:
                self._open()
            elif (
                self._bytes >= self.rotate_bytes or time.monotonic() - self._opened >= self.rotate_s
            ):
                self._close()
                self._open()
            assert self._gz is not None
            self._gz.write(line)
            self._bytes += len(line)
            self.lines += 1

    def flush(self) -> None:
        """Flush compressed data to the OS (a crash loses at most the gzip trailer)."""
        if self._gz is not None:
            self._gz.flush()
            self._raw.flush()

    def close(self) -> None:
        """Finish the current file (gzip trailer, fsync)."""
        self._close()


class AnchoredClock:
    """Wall-clock ns that never go back: wall time read once, then advanced by the monotonic
    clock, so a stepped system clock (NTP) cannot reorder a capture's ``ts``."""

    def __init__(self) -> None:
        self._wall0 = time.time_ns()
        self._mono0 = time.monotonic_ns()

    def __call__(self) -> int:
        """Return the current time in ns since the epoch (non-decreasing)."""
        return self._wall0 + time.monotonic_ns() - self._mono0


class CaptureRecorder:
    """The ``FrameTap`` the supervisor feeds; ``run`` moves lines to disk off the loop.

    ``clock`` is the receive clock the supervisor should stamp frames with (``AnchoredClock``).
    """

    def __init__(self, writer: CaptureWriter, *, flush_period_s: float = 0.2) -> None:
        self.clock = AnchoredClock()
        self.writer = writer
        self.flush_period_s = flush_period_s
        self._pending: list[bytes] = []
        # one disk thread, so batches reach the file in order; kept so shutdown can wait for it
        self._disk = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="capture")
        self._inflight: concurrent.futures.Future[None] | None = None
        self._inflight_batch: list[bytes] = []

    def ws(self, src: str, data: str | bytes, ts_local_ns: int) -> None:
        """Record one WebSocket frame."""
        self._pending.append(encode_line(ts_local_ns, "ws", src, data))

    def rest(self, src: str, body: bytes, ts_local_ns: int) -> None:
        """Record one REST response body (``src`` is the path and query)."""
        self._pending.append(encode_line(ts_local_ns, "rest", src, body))

    def _write_batch(self, batch: list[bytes]) -> None:
        self.writer.write(batch)
        self.writer.flush()

    async def run(self) -> None:
        """Write batches until cancelled; then write what is left and close the file."""
        try:
            while True:
                await asyncio.sleep(self.flush_period_s)
                if self._pending:
                    batch, self._pending = self._pending, []
                    self._inflight = self._disk.submit(self._write_batch, batch)
                    self._inflight_batch = batch
                    # shielded: cancelling a plain wrap_future cancels the disk future too when
                    # the thread has not picked it up yet, and that batch would be lost
                    await asyncio.shield(asyncio.wrap_future(self._inflight))
        finally:
            # Runs while cancelled: finish synchronously so nothing is lost on SIGTERM. A batch
            # whose await was cancelled is still being written by the disk thread: wait for it
            # first, or the rest would be written before it (or after the file is closed).
            lost: list[bytes] = []
            if self._inflight is not None:
                if self._inflight.cancel():  # not started yet: write it here, in order
                    lost = self._inflight_batch
                else:
                    with contextlib.suppress(OSError):
                        self._inflight.result()
            self._disk.shutdown(wait=True)
            batch, self._pending = lost + self._pending, []
            with contextlib.suppress(OSError):
                self.writer.write(batch)
            self.writer.close()
