"""A scaffolded strategy package installs, passes its own tests and backtests by its name.

The whole path a user takes: ``tickbot new-strategy``, ``pip install`` of the package (a real
wheel build; offline: no dependencies, the venv's own setuptools), then ``tickbot strategies``
lists it and ``tickbot backtest`` runs it through its ``tickbot.strategies`` entry point. The
package goes into a folder on ``PYTHONPATH`` rather than the shared venv, so the suite's other
tests (and the generated references) never see a strategy this test installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

NAME = "scaffold_mm"
TIMEOUT_S = 1200


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=TIMEOUT_S
    )
    assert proc.returncode == 0, (args, proc.stdout[-3000:], proc.stderr[-3000:])
    return proc


@pytest.mark.slow
def test_scaffold_install_test_and_backtest_through_the_entry_point(tmp_path: Path) -> None:
    tickbot = [sys.executable, "-m", "bot.cli"]
    env = dict(os.environ)
    _run([*tickbot, "new-strategy", NAME, "--dir", str(tmp_path)], tmp_path, env)
    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
          "--disable-pip-version-check", "--target", str(site), str(tmp_path / NAME)],
         tmp_path, env)  # fmt: skip
    assert (site / f"tickbot_{NAME}" / "strategy.py").exists()
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)

    listed = json.loads(_run([*tickbot, "strategies", "--json"], tmp_path, env).stdout)
    mine = next(r for r in listed if r["name"] == NAME)
    assert mine["source"] == f"tickbot-{NAME.replace('_', '-')} 0.1.0"
    assert mine["module"] == f"tickbot_{NAME}.strategy"

    tests = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                  str(tmp_path / NAME / "tests")], tmp_path / NAME, env)  # fmt: skip
    assert " passed" in tests.stdout
    assert "failed" not in tests.stdout

    data = tmp_path / "data.evt"
    _run([*tickbot, "generate", "--seed", "3", "--events", "20000", "--duration-s", "30",
          "--out", str(data)], tmp_path, env)  # fmt: skip
    config = tmp_path / NAME / "examples" / f"{NAME}.yaml"
    out = _run([*tickbot, "backtest", "--config", str(config), "--data", str(data), "--json"],
               tmp_path, env).stdout  # fmt: skip
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["events"] == 20000
    assert stats["orders_sent"] > 0
    assert stats["fills"] > 0
