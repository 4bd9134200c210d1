"""The loop is compiled once for every strategy: a new process, a new or an edited strategy all
load it from numba's cache, and an edited strategy recompiles only its own kernels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

_PROBE = textwrap.dedent(
    """
    import importlib, json, sys
    sys.path[:0] = [sys.argv[1], sys.argv[2]]
    from bot import numba_cache
    numba_cache.configure()
    import numpy as np
    from bot.backtest import _loop
    from bot.backtest.engine import Backtest, EngineOptions
    from tests.unit.backtest.helpers import ASK, BID, SPEC, events, limits
    maker = importlib.import_module("mystrats.maker")
    rows = []
    for k in range(200):  # a 1000 / 1002 market whose sizes change every 10 ms, for 2 s
        t = (k + 1) * 10_000_000  # a timer at 0 means "none": start after it
        rows += [(t, BID, 1000, 5 + k % 3), (t, ASK, 1002, 5 + k % 2)]
    opts = EngineOptions(lat_in_ns=np.array([1_000_000]), lat_out_ns=np.array([1_000_000]))
    bt = Backtest(events(rows), [SPEC], maker, maker.Params(interval_ms=50), [0], limits(), opts)
    bt.run()
    loop, decide = _loop.run_loop.stats, maker.decide.stats
    print(json.dumps({
        "loop_hits": sum(loop.cache_hits.values()),
        "loop_misses": sum(loop.cache_misses.values()),
        "decide_hits": sum(decide.cache_hits.values()),
        "decide_misses": sum(decide.cache_misses.values()),
        "counters": bt.counters(),
    }))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs the JIT")
def test_an_edited_strategy_recompiles_only_its_own_kernels(tmp_path: Path) -> None:
    pkg = tmp_path / "mystrats"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    maker = pkg / "maker.py"
    body = (ROOT / "strategies" / "fixed_spread.py").read_text()
    maker.write_text(body)
    # the suite's cache: the core is compiled at most once for the whole suite
    env = dict(os.environ, PYTHONPATH=str(ROOT))

    def probe() -> dict[str, object]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, str(ROOT), str(tmp_path)],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = probe()  # a strategy never seen: its kernels compile, the loop may be cached already
    assert first["decide_misses"] == 1
    counters = first["counters"]
    assert isinstance(counters, dict)
    assert counters["orders_sent"] > 0

    again = probe()  # a new process: everything loaded, nothing compiled
    assert (again["loop_misses"], again["decide_misses"]) == (0, 0)
    assert again["loop_hits"] == 1
    assert again["decide_hits"] >= 1
    assert again["counters"] == counters

    maker.write_text(body + "\n# edited\n")
    edited = probe()  # only the edited file's kernels compile; the loop comes from the cache
    assert (edited["loop_hits"], edited["loop_misses"]) == (1, 0)
    assert edited["decide_misses"] == 1
    assert edited["counters"] == counters
