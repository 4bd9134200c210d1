"""Chunked merging of event streams and batch-end flags, against a plain sort."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, EventFlag
from bot.data.merge import external_sort, merge_streams, with_batch_ends


def _stream(rng: np.random.Generator, n: int, tag: int) -> np.ndarray:
    ev = np.zeros(n, dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = np.sort(rng.integers(0, max(1, n // 2), n))  # many equal times
    ev["aux"] = tag
    ev["seq"] = np.arange(n)
    return ev


def _chunks(ev: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    cuts = np.sort(rng.integers(0, ev.shape[0] + 1, 12))
    return np.split(ev, cuts)


def test_merge_equals_a_stable_sort_by_time_then_stream():
    rng = np.random.default_rng(8)
    streams = [_stream(rng, n, tag) for tag, n in enumerate((500, 1, 800, 0, 300))]
    merged = np.concatenate(list(merge_streams([_chunks(s, rng) for s in streams])))
    both = np.concatenate(streams)
    expected = both[np.argsort(both["ts_local_ns"], kind="stable")]
    assert np.array_equal(merged, expected)


def test_external_sort_orders_by_time_then_seq(tmp_path: Path):
    rng = np.random.default_rng(9)
    ev = np.zeros(5000, dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = rng.integers(0, 400, 5000)
    ev["seq"] = rng.permutation(5000)
    out = np.concatenate(list(external_sort(np.array_split(ev, 9), tmp_path, budget_rows=4096)))
    expected = ev[np.lexsort((ev["seq"], ev["ts_local_ns"]))]
    assert np.array_equal(out, expected)
    assert list(tmp_path.iterdir()) == []  # run files removed


def test_batch_end_marks_the_last_row_of_each_time_and_instrument_group():
    ev = np.zeros(7, dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = [1, 1, 2, 2, 2, 3, 3]
    ev["instrument"] = [0, 0, 0, 1, 1, 0, 0]
    expected = [0, 1, 1, 0, 1, 0, 1]
    for cuts in ([], [1], [2, 4], [1, 2, 3, 4, 5, 6]):
        out = np.concatenate(list(with_batch_ends(np.split(ev, cuts))))
        assert [int(bool(f & EventFlag.BATCH_END)) for f in out["flags"]] == expected
