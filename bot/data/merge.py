"""Chunked merging and sorting of event streams with bounded memory.

A *stream* is an iterator of ``EVENT_DTYPE`` chunks ordered by ``ts_local_ns`` (replay order).

* ``merge_streams`` interleaves several streams by ``ts_local_ns``; ties go to the earlier
  stream (``by_seq=True``: to the lower ``seq``, then the earlier stream), and each stream's own
  order is kept. Only rows below the *horizon* (the smallest last timestamp buffered by a live
  stream) are emitted, so nothing later can sort before them; memory holds about one chunk per
  stream.
* ``external_sort`` sorts an unordered stream by (``ts_local_ns``, ``seq``): each chunk is sorted
  and, when there is more than one, spilled to a run file; the runs are then merged.
* ``with_batch_ends`` flags the last row of every (``ts_local_ns``, instrument) group with
  ``EventFlag.BATCH_END``, holding one row back across chunk boundaries.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, EventFlag

_EMPTY = np.zeros(0, dtype=EVENT_DTYPE)


def _sort(rows: np.ndarray, by_seq: bool) -> np.ndarray:
    if by_seq:
        return rows[np.lexsort((rows["seq"], rows["ts_local_ns"]))]
    return rows[np.argsort(rows["ts_local_ns"], kind="stable")]


def merge_streams(
    streams: list[Iterable[np.ndarray]], by_seq: bool = False
) -> Iterator[np.ndarray]:
    """Yield the rows of all ``streams`` in one replay order (see the module docstring)."""
    if len(streams) == 1 and not by_seq:
        yield from (c for c in streams[0] if c.shape[0])
        return
    its = [iter(s) for s in streams]
    bufs = [_EMPTY] * len(its)
    live = [True] * len(its)

    def pull(i: int) -> None:
        for chunk in its[i]:
            if chunk.shape[0]:
                bufs[i] = np.concatenate((bufs[i], chunk)) if bufs[i].shape[0] else chunk
                return
        live[i] = False

    for i in range(len(its)):
        pull(i)
    while True:
        active = [i for i in range(len(its)) if live[i]]
        if not active:
            rest = [b for b in bufs if b.shape[0]]
            if rest:
                yield _sort(np.concatenate(rest), by_seq) if len(rest) > 1 else rest[0]
            return
        horizon = min(int(bufs[i]["ts_local_ns"][-1]) for i in active)
        parts = []
        for i, buf in enumerate(bufs):
            cut = int(np.searchsorted(buf["ts_local_ns"], horizon, side="left"))
            if cut:
                parts.append(buf[:cut])
                bufs[i] = buf[cut:]
        if parts:
            merged = np.concatenate(parts) if len(parts) > 1 else parts[0]
            yield _sort(merged, by_seq) if len(parts) > 1 or by_seq else merged
        for i in active:
            if bufs[i].shape[0] == 0 or int(bufs[i]["ts_local_ns"][-1]) == horizon:
                pull(i)


def _read_run(path: Path, rows: int) -> Iterator[np.ndarray]:
    with open(path, "rb") as f:
        while True:
            chunk = np.fromfile(f, dtype=EVENT_DTYPE, count=rows)
            if chunk.shape[0] == 0:
                return
            yield chunk


def external_sort(
    chunks: Iterable[np.ndarray], tmp_dir: Path, budget_rows: int = 1 << 20
) -> Iterator[np.ndarray]:
    """Yield the rows of ``chunks`` sorted by (``ts_local_ns``, ``seq``), spilling runs to disk.

    A single chunk is sorted in memory; more are sorted one by one into run files under
    ``tmp_dir`` (removed afterwards) and merged, reading each run ``budget_rows / runs`` at a time.
    """
    it = iter(chunks)
    first = next(it, None)
    if first is None:
        return
    second = next(it, None)
    if second is None:
        yield _sort(first, by_seq=True)
        return
    with tempfile.TemporaryDirectory(prefix=".tickbot-runs-", dir=tmp_dir) as work:
        runs: list[Path] = []
        for n, chunk in enumerate(itertools.chain((first, second), it)):
            run = Path(work) / f"run-{n:06d}.bin"
            _sort(chunk, by_seq=True).tofile(run)
            runs.append(run)
        read_rows = max(4096, budget_rows // max(1, len(runs)))
        yield from merge_streams([_read_run(r, read_rows) for r in runs], by_seq=True)


def with_batch_ends(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Flag the last row of each (``ts_local_ns``, instrument) group with ``BATCH_END``."""
    held = _EMPTY
    for chunk in chunks:
        if chunk.shape[0] == 0:
            continue
        rows = np.concatenate((held, chunk)) if held.shape[0] else chunk.copy()
        local, inst = rows["ts_local_ns"], rows["instrument"]
        ends = (local[1:] != local[:-1]) | (inst[1:] != inst[:-1])
        rows["flags"][:-1][ends] |= np.uint8(EventFlag.BATCH_END)
        held = rows[-1:]
        if rows.shape[0] > 1:
            yield rows[:-1]
    if held.shape[0]:
        held = held.copy()
        held["flags"] |= np.uint8(EventFlag.BATCH_END)
        yield held
