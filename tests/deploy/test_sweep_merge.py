"""``tickbot sweep --merge DIR``: the shards of an Indexed Job, merged, are the local sweep."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from bot.cli import main
from bot.data.generate import GenerateParams, generate_file

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "strategies" / "examples" / "fixed_spread.yaml"
GRID = "strategy.params.offset_ticks: [1, 2, 4]\nbacktest.queue.model: [risk_averse, power]\n"
SHARDS = 3


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("market") / "market.evt"
    generate_file(path, GenerateParams(events=20_000, duration_s=60.0), seed=5)
    return path


def _sweep(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["sweep", *args])
    out, err = capsys.readouterr()
    assert not err, err
    return code, out


TIMING = "events_per_s"
"""Throughput of each backtest: a wall-clock measurement, the one column runs may differ in."""


def _rows(path: Path) -> list[dict[str, str]]:
    """The CSV's rows without the timing column (checked to be a rate, then dropped)."""
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        assert float(r.pop(TIMING)) > 0
    return rows


def _table(out: str) -> str:
    """The printed table and failures, without the CSV path (which the console may wrap)."""
    return out.split("csv: ", 1)[0]


def test_merged_shards_equal_the_local_sweep(
    capsys: pytest.CaptureFixture[str], market: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    common = ["--config", str(CONFIG), "--grid", str(grid), "--data", str(market), "--jobs", "1"]
    local = tmp_path / "local.csv"
    code, local_out = _sweep(capsys, *common, "--out", str(local))
    assert code == 0
    shards = tmp_path / "shards"
    for i in range(SHARDS):
        out = shards / f"shard-{i}.csv"
        assert (
            _sweep(capsys, *common, "--index", str(i), "--of", str(SHARDS), "--out", str(out))[0]
            == 0
        )
    code, merged_out = _sweep(capsys, "--merge", str(shards))
    assert code == 0
    merged = shards / "merged.csv"
    assert merged.read_text().splitlines()[0] == local.read_text().splitlines()[0]
    assert _rows(merged) == _rows(local)
    assert len(_rows(local)) == 6  # every combination, ranked
    assert [r["rank"] for r in _rows(merged)] == ["1", "2", "3", "4", "5", "6"]
    assert _table(merged_out) == _table(local_out)
    # merging again ignores its own output
    before = merged.read_bytes()
    assert _sweep(capsys, "--merge", str(shards))[0] == 0
    assert merged.read_bytes() == before


def test_missing_shard_is_a_user_error(
    capsys: pytest.CaptureFixture[str], market: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID)
    shards = tmp_path / "shards"
    out = shards / "shard-0.csv"
    code = main(["sweep", "--config", str(CONFIG), "--grid", str(grid), "--data", str(market),
                 "--jobs", "1", "--index", "0", "--of", "2", "--out", str(out)])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    assert main(["sweep", "--merge", str(shards)]) == 2
    err = capsys.readouterr().err
    assert "combinations missing: [1, 3]" in err
    assert len(err.strip().splitlines()) == 1


def test_merge_of_nothing_and_missing_options_are_user_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["sweep", "--merge", str(tmp_path)]) == 2
    assert "no shard CSV files" in capsys.readouterr().err
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    assert main(["sweep", "--merge", str(tmp_path)]) == 2
    assert "not a tickbot sweep CSV" in capsys.readouterr().err
    assert main(["sweep", "--grid", "g.yaml"]) == 2
    assert "--config, --data required" in capsys.readouterr().err
