"""Merging event files by local time (cross-venue backtests)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.backtest import merge
from bot.core.dtypes import EVENT_DTYPE
from bot.core.instruments import InstrumentSpec

A = InstrumentSpec(venue="binance-usdm", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
B = InstrumentSpec(venue="bybit", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")


def _rows(ts: list[int], inst: int, tag: int) -> np.ndarray:
    ev = np.zeros(len(ts), dtype=EVENT_DTYPE)
    ev["ts_local_ns"] = ts
    ev["ts_exch_ns"] = ts
    ev["instrument"] = inst
    ev["seq"] = tag
    ev["kind"] = 1
    return ev


def test_merge_orders_by_local_time_stably_and_remaps_instruments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(merge, "CHUNK_ROWS", 2)  # several chunks
    specs, remaps = merge.union_specs([[A], [B, A]])
    assert specs == [A, B]
    assert [list(m) for m in remaps] == [[0], [1, 0]]
    first = _rows([1, 5, 5, 9], 0, 1)
    second = _rows([2, 5, 10], 0, 2)
    second["instrument"] = [0, 1, 0]  # B, A, B in the second file's own ids
    out = merge.merge_events([first, second], remaps)
    assert list(out["ts_local_ns"]) == [1, 2, 5, 5, 5, 9, 10]
    assert list(out["seq"]) == [1, 2, 1, 1, 2, 1, 2]  # ties: the first file first
    assert list(out["instrument"]) == [0, 1, 0, 0, 0, 0, 1]


def test_merge_keeps_unknown_ids_out_of_range_for_the_engine_to_report() -> None:
    specs, remaps = merge.union_specs([[A]])
    bad = _rows([1, 2], 0, 1)
    bad["instrument"] = [0, 3]
    out = merge.merge_events([bad], remaps)
    assert list(out["instrument"]) == [0, 0xFFFFFFFF]
    assert len(specs) == 1
