"""Merge several event files by local receive time, streaming, into one memory-mapped array.

A cross-venue backtest replays two (or more) venues' files as one stream, ordered as the bot
would have received them. The merge runs in chunks through a numba kernel into a temporary
file that is unlinked at once (the mapping keeps it alive until the backtest drops it); read and
written pages are released after each chunk, so memory stays flat whatever the file sizes.
Ties keep file order (stable). Instrument ids are remapped into the union of the files' specs.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.backtest.engine import release_pages
from bot.backtest.sim_types import kernel
from bot.core.dtypes import EVENT_DTYPE
from bot.core.instruments import InstrumentSpec

CHUNK_ROWS = 1 << 20


@kernel
def _merge_chunk(srcs, remaps, pos, out, start, count) -> int:
    """Write up to ``count`` rows from the heads of ``srcs`` (earliest local time first)."""
    k = len(srcs)
    written = 0
    while written < count:
        best = -1
        best_ts = 0
        for j in range(k):
            p = pos[j]
            if p < srcs[j].shape[0]:
                ts = srcs[j][p]["ts_local_ns"]
                if best < 0 or ts < best_ts:
                    best = j
                    best_ts = ts
        if best < 0:
            break
        row = out[start + written]
        src = srcs[best][pos[best]]
        row["kind"] = src["kind"]
        row["flags"] = src["flags"]
        row["venue"] = src["venue"]
        inst = src["instrument"]
        remap = remaps[best]
        # an id beyond the file's specs stays out of range: the engine reports it
        row["instrument"] = remap[inst] if inst < remap.shape[0] else 0xFFFFFFFF
        row["ts_exch_ns"] = src["ts_exch_ns"]
        row["ts_local_ns"] = src["ts_local_ns"]
        row["price_tick"] = src["price_tick"]
        row["qty_lot"] = src["qty_lot"]
        row["seq"] = src["seq"]
        row["aux"] = src["aux"]
        pos[best] += 1
        written += 1
    return written


def union_specs(
    spec_lists: Sequence[Sequence[InstrumentSpec]],
) -> tuple[list[InstrumentSpec], list[np.ndarray]]:
    """Return the union of specs (first seen first) and each file's id remap into it."""
    specs: list[InstrumentSpec] = []
    keys: dict[tuple[str, str], int] = {}
    remaps = []
    for lst in spec_lists:
        remap = np.zeros(len(lst), dtype=np.uint32)
        for i, spec in enumerate(lst):
            if spec.key not in keys:
                keys[spec.key] = len(specs)
                specs.append(spec)
            remap[i] = keys[spec.key]
        remaps.append(remap)
    return specs, remaps


def merge_events(
    arrays: Sequence[np.ndarray], remaps: Sequence[np.ndarray], tmp_dir: str | Path | None = None
) -> np.ndarray:
    """Return the rows of ``arrays`` merged by local time, as a memory map (flushed)."""
    total = sum(a.shape[0] for a in arrays)
    fd, name = tempfile.mkstemp(prefix="tickbot-merge-", suffix=".evt", dir=tmp_dir)
    try:
        os.ftruncate(fd, total * EVENT_DTYPE.itemsize)
        out = np.memmap(name, dtype=EVENT_DTYPE, mode="r+", shape=(total,))
    finally:
        os.close(fd)
        os.unlink(name)  # the mapping keeps the data; nothing is left behind on exit
    srcs = tuple(np.asarray(a).view(np.ndarray) for a in arrays)
    maps = tuple(np.ascontiguousarray(m, dtype=np.uint32) for m in remaps)
    pos = np.zeros(len(srcs), dtype=np.int64)
    start = 0
    while start < total:
        n = _merge_chunk(srcs, maps, pos, out, start, min(CHUNK_ROWS, total - start))
        if n == 0:
            break
        out.flush()
        release_pages(out, start + n)
        for a, p in zip(arrays, pos, strict=True):
            release_pages(a, int(p))
        start += n
    return out
