"""Helpers shared by the benchmark modules: timing, result rows, machine description."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def result(
    name: str,
    samples: list[float] | np.ndarray,
    unit: str,
    baseline_name: str | None = None,
    baseline_median: float | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Return one result row with median and p99 of ``samples``."""
    arr = np.asarray(samples, dtype=np.float64)
    row: dict[str, Any] = {
        "name": name,
        "median": float(np.median(arr)),
        "p99": float(np.percentile(arr, 99)),
        "unit": unit,
        "baseline": None,
    }
    if baseline_name is not None and baseline_median is not None:
        row["baseline"] = {"name": baseline_name, "median": float(baseline_median)}
    row.update(extra)
    return row


def time_blocks(fn: Callable[[int], None], n_blocks: int, per_block: int) -> np.ndarray:
    """Call ``fn(block)`` for each block; return ns per item of every block."""
    out = np.empty(n_blocks, dtype=np.float64)
    clock = time.perf_counter_ns
    for b in range(n_blocks):
        t0 = clock()
        fn(b)
        out[b] = (clock() - t0) / per_block
    return out


def machine() -> dict[str, Any]:
    """Describe the machine the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    import numba

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }
