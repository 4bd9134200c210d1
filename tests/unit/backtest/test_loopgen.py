"""The per-strategy loop: generated once, rewritten when a dependency changes, cached by numba."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.backtest import loopgen

ROOT = Path(__file__).resolve().parents[3]


def test_loop_source_points_at_the_strategy_and_tracks_its_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pkg = tmp_path / "mystrats"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    body = (ROOT / "strategies" / "fixed_spread.py").read_text()
    (pkg / "maker.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    import mystrats.maker as maker

    first = loopgen.loop_source(maker)
    assert "from mystrats.maker import (  # generated" in first
    assert "from strategies.fixed_spread import" not in first
    (pkg / "maker.py").write_text(body + "\n# edited\n")
    second = loopgen.loop_source(maker)
    assert first != second  # the dependency hash changed: numba will recompile the loop
    assert first.splitlines()[2:] == second.splitlines()[2:]


_PROBE = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    from tests.unit.backtest.helpers import ASK, BID, NEW, events, run_script
    bt = run_script(events([(0, BID, 100, 10), (0, ASK, 101, 10), (9000, ASK, 101, 9)]),
                    [(100, NEW, 1, 100, 1, 0, 0)])
    stats = bt.loop.run_loop.stats
    print(json.dumps({"hits": sum(stats.cache_hits.values()),
                      "misses": sum(stats.cache_misses.values())}))
    """
)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs the JIT")
def test_second_process_loads_the_loop_from_the_cache(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))

    def probe() -> dict[str, int]:
        out = subprocess.run(
            [sys.executable, "-c", _PROBE, str(ROOT)],
            env=env, capture_output=True, text=True, check=True, cwd=ROOT,
        )  # fmt: skip
        return json.loads(out.stdout.strip().splitlines()[-1])

    assert probe() == {"hits": 0, "misses": 1}  # compiled and written
    assert probe() == {"hits": 1, "misses": 0}  # a new process: loaded, not compiled
