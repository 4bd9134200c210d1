"""``tickbot backtest`` and ``tickbot sweep`` end to end on generated data."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from bot.cli import main

TIMING_KEYS = {"compile_s", "run_s", "events_per_s", "wall_s", "report"}


def _backtest(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["backtest", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_backtest_json_and_report(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "report"
    code, out, err = _backtest(
        capsys, "--config", str(example_config), "--data", str(market), "--out", str(out_dir),
        "--json", "--png",
    )  # fmt: skip
    assert code == 0, err
    stats = json.loads(out)
    for key in (
        "events", "events_per_s", "compile_s", "pnl_quote", "realised_pnl_quote",
        "unrealised_pnl_quote", "fees_quote", "return", "sharpe", "sortino", "max_drawdown",
        "turnover", "fill_ratio", "maker_share", "mean_queue_wait_s", "inventory_q05_lot",
        "inventory_q95_lot", "orders_sent", "cancels_sent",
    ):  # fmt: skip
        assert key in stats
    assert stats["events"] == 40_000
    assert stats["events_per_s"] > 0
    assert stats["orders_sent"] > 100  # quotes both sides every 100 ms for 120 s
    assert stats["fills"] > 0
    assert stats["maker_share"] == 1.0  # post-only quotes never take
    # rebates: the config pays -0.5 bp on maker fills
    assert stats["fees_quote"] < 0
    assert stats["pnl_quote"] == pytest.approx(
        stats["realised_pnl_quote"] + stats["unrealised_pnl_quote"] - stats["fees_quote"],
        abs=1e-6,
    )
    # risk bounds inventory
    assert stats["inventory_max_lot"] <= 500
    assert stats["inventory_min_lot"] >= -500
    for name in ("equity.png", "inventory.png", "price_fills.png", "spread.png"):
        png = out_dir / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert name in (out_dir / "index.html").read_text()
    with (out_dir / "fills.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == stats["fills"]
    assert {r["liquidity"] for r in rows} == {"maker"}
    assert json.loads((out_dir / "stats.json").read_text())["fills"] == stats["fills"]


def test_backtest_is_deterministic(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    results = []
    for k in range(2):
        out_dir = tmp_path / f"r{k}"
        code, out, err = _backtest(
            capsys, "--config", str(example_config), "--data", str(market), "--out",
            str(out_dir), "--json",
        )  # fmt: skip
        assert code == 0, err
        stats = {k: v for k, v in json.loads(out).items() if k not in TIMING_KEYS}
        results.append(
            (stats, (out_dir / "fills.csv").read_bytes(), (out_dir / "series.csv").read_bytes())
        )
    assert results[0] == results[1]


def test_summary_table_without_json(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    code, out, _ = _backtest(
        capsys, "--config", str(example_config), "--data", str(market), "--no-report"
    )
    assert code == 0
    assert "events/s (warm)" in out
    assert "fills (maker share)" in out


def _config_with(tmp_path: Path, example: Path, **changes: object) -> Path:
    raw = yaml.safe_load(example.read_text())
    for dotted, value in changes.items():
        node = raw
        *parents, leaf = dotted.split("__")
        for p in parents:
            node = node[p]
        node[leaf] = value
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("missing_data", "no such file"),
        ("corrupt_data", "not a tickbot event file"),
        ("truncated_data", "truncated"),
        ("unknown_instrument", "unknown instrument sim:ETHUSDT"),
        ("bad_queue_model", "bad queue model"),
        ("bad_latency", "bad duration"),
        ("bad_param", "strategy.params.offset_ticks"),
        ("unknown_field", "unknown field"),
        ("missing_config", "no such file"),
        ("unknown_strategy", "unknown strategy"),
    ],
)
def test_user_errors_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str],
    market: Path,
    example_config: Path,
    tmp_path: Path,
    case: str,
    needle: str,
) -> None:
    config, data, extra = str(example_config), str(market), ["--no-report"]
    if case == "missing_data":
        data = str(tmp_path / "nope.evt")
    elif case == "corrupt_data":
        bad = tmp_path / "bad.evt"
        bad.write_bytes(b"garbage" * 100)
        data = str(bad)
    elif case == "truncated_data":
        cut = tmp_path / "cut.evt"
        cut.write_bytes(market.read_bytes()[:-1000])
        data = str(cut)
    elif case == "unknown_instrument":
        config = str(_config_with(tmp_path, example_config, instruments=[
            {"venue": "sim", "symbol": "ETHUSDT"}]))  # fmt: skip
    elif case == "bad_queue_model":
        extra += ["--queue-model", "fifo"]
    elif case == "bad_latency":
        extra += ["--latency", "5xs"]
    elif case == "bad_param":
        config = str(_config_with(tmp_path, example_config, strategy__params__offset_ticks=-3))
    elif case == "unknown_field":
        config = str(_config_with(tmp_path, example_config, risk__max_positon_lot=3))
    elif case == "missing_config":
        config = str(tmp_path / "missing.yaml")
    elif case == "unknown_strategy":
        config = str(_config_with(tmp_path, example_config, strategy__name="nonesuch"))
    code, _out, err = _backtest(capsys, "--config", config, "--data", data, *extra)
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_sweep_ranks_and_shards(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("strategy.params.offset_ticks: [1, 4]\nbacktest.queue.model: [risk_averse]\n")
    out = tmp_path / "sweep.csv"
    code = main(
        ["sweep", "--config", str(example_config), "--grid", str(grid), "--data", str(market),
         "--jobs", "1", "--rank-by", "pnl_quote", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["rank"] for r in rows] == ["1", "2"]
    assert {r["strategy.params.offset_ticks"] for r in rows} == {"1", "4"}
    assert float(rows[0]["pnl_quote"]) >= float(rows[1]["pnl_quote"])
    # a tighter quote trades more
    by_offset = {r["strategy.params.offset_ticks"]: int(r["fills"]) for r in rows}
    assert by_offset["1"] > by_offset["4"]
    shard = tmp_path / "shard.csv"
    code = main(
        ["sweep", "--config", str(example_config), "--grid", str(grid), "--data", str(market),
         "--jobs", "1", "--index", "1", "--of", "2", "--out", str(shard)]
    )  # fmt: skip
    assert code == 0
    rows = list(csv.DictReader(shard.open()))
    assert [r["combination"] for r in rows] == ["1"]
    assert rows[0]["strategy.params.offset_ticks"] == "4"
    capsys.readouterr()


def test_sweep_bad_shard_is_a_user_error(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("strategy.params.offset_ticks: [1]\n")
    code = main(
        ["sweep", "--config", str(example_config), "--grid", str(grid), "--data", str(market),
         "--index", "2", "--of", "2"]
    )  # fmt: skip
    assert code == 2
    assert "--index" in capsys.readouterr().err


def test_sweep_on_two_processes_matches_one(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    grid = tmp_path / "grid.yaml"
    grid.write_text("strategy.params.offset_ticks: [1, 3]\n")
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"sweep-{jobs}.csv"
        code = main(
            ["sweep", "--config", str(example_config), "--grid", str(grid), "--data",
             str(market), "--jobs", jobs, "--out", str(out)]
        )  # fmt: skip
        assert code == 0
        rows = list(csv.DictReader(out.open()))
        outs.append([(r["strategy.params.offset_ticks"], r["pnl_quote"], r["fills"]) for r in rows])
    assert outs[0] == outs[1]
    capsys.readouterr()


def test_two_files_of_two_venues_backtest_as_one_stream(
    capsys: pytest.CaptureFixture[str], example_config: Path, tmp_path: Path
) -> None:
    from bot.data.generate import GenerateParams, generate_file

    a = generate_file(tmp_path / "a.evt", GenerateParams(events=20_000, duration_s=60), seed=1)
    b = generate_file(
        tmp_path / "b.evt", GenerateParams(events=20_000, duration_s=60, venue="bybit"), seed=2
    )
    both = [{"venue": "sim", "symbol": "BTCUSDT"}, {"venue": "bybit", "symbol": "BTCUSDT"}]
    config = _config_with(tmp_path, example_config, instruments=both)
    code, out, err = _backtest(
        capsys, "--config", str(config), "--data", str(a), str(b), "--no-report", "--json"
    )
    assert code == 0, err
    stats = json.loads(out)
    assert stats["events"] == 40_000
    assert stats["fills"] > 0


def test_without_the_report_extra_the_data_files_are_still_written(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    market: Path,
    example_config: Path,
    tmp_path: Path,
) -> None:
    """The container image has no plotly/matplotlib: a backtest there still writes its results."""
    from bot.backtest import report

    missing = {"plotly", "matplotlib"}
    monkeypatch.setattr(report, "has_package", lambda name: name not in missing)
    out_dir = tmp_path / "report"
    args = ("--config", str(example_config), "--data", str(market), "--out", str(out_dir))
    code, out, err = _backtest(capsys, *args, "--json")
    assert code == 0, err
    assert "HTML report skipped" in err
    assert "tickbot[report]" in err
    assert not (out_dir / "index.html").exists()
    stats = json.loads(out)
    assert json.loads((out_dir / "stats.json").read_text())["fills"] == stats["fills"]
    assert (out_dir / "fills.csv").is_file()
    assert (out_dir / "series.csv").is_file()
    # Asking for PNGs without matplotlib is a user error: one line, exit 2, nothing written.
    png_dir = tmp_path / "png"
    code, out, err = _backtest(capsys, *args[:-1], str(png_dir), "--png")
    assert code == 2
    assert err.strip().count("\n") == 0
    assert "matplotlib" in err
    assert not png_dir.exists()


def test_a_sweep_without_the_report_extra_writes_its_csv(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    market: Path,
    example_config: Path,
    tmp_path: Path,
) -> None:
    """A sweep shard in the container (no plotly) still writes the ranked CSV it is run for."""
    from bot.backtest import report

    monkeypatch.setattr(report, "has_package", lambda name: name != "plotly")
    grid = tmp_path / "grid.yaml"
    grid.write_text("strategy.params.offset_ticks: [1, 4]\n")
    out = tmp_path / "sweep.csv"
    code = main(
        ["sweep", "--config", str(example_config), "--grid", str(grid), "--data", str(market),
         "--jobs", "1", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "HTML report skipped" in err
    assert len(list(csv.DictReader(out.open()))) == 2
    assert not out.with_suffix(".html").exists()
