"""``tickbot sweep`` writes an HTML report of the grid that renders in a real browser."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.browser import CHART_POINTS_JS, Browser, chromium_path


def _sweep(grid_text: str, market: Path, config: Path, tmp_path: Path) -> tuple[Path, Path]:
    grid = tmp_path / "grid.yaml"
    grid.write_text(grid_text)
    out = tmp_path / "sweep.csv"
    code = main(
        ["sweep", "--config", str(config), "--grid", str(grid), "--data", str(market),
         "--jobs", "1", "--rank-by", "pnl_quote", "--out", str(out)]
    )  # fmt: skip
    assert code == 0
    return out, out.with_suffix(".html")


def test_sweep_report_ranks_the_grid_and_maps_two_parameters(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    chromium_path()
    csv_path, page = _sweep(
        "strategy.params.offset_ticks: [1, 2, 4]\nbacktest.queue.model: [risk_averse, power]\n",
        market, example_config, tmp_path,
    )  # fmt: skip
    assert f"report: {page}" in capsys.readouterr().out.replace("\n", "")
    rows = list(csv.DictReader(csv_path.open()))
    text = page.read_text(encoding="utf-8")
    ranked = text[text.index('<table class="ranked">') :]
    ranked = ranked[: ranked.index("</table>")]
    # the table lists the combinations in the CSV's rank order
    offsets = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td><td>([^<]*)</td>", ranked)
    assert [(o[0], o[2]) for o in offsets] == [
        (r["rank"], r["strategy.params.offset_ticks"]) for r in rows
    ]
    with Browser() as browser:
        browser.open(page, "document.body.dataset.rendered === 'yes'")
        charts = browser.evaluate(CHART_POINTS_JS)
        assert browser.errors == []
        assert browser.requests == [page.resolve().as_uri()]
    assert list(charts) == ["sweep-heatmap-0"]
    drawn = charts["sweep-heatmap-0"]["drawn"]
    name = "backtest.queue.model x strategy.params.offset_ticks"
    assert drawn[name]["points"] == 6  # 2 x 3 cells, one per combination
    assert charts["sweep-heatmap-0"]["expected"] == {name: 6}


def test_a_one_parameter_sweep_gets_a_bar_per_value(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    _, page = _sweep("strategy.params.offset_ticks: [1, 3]\n", market, example_config, tmp_path)
    capsys.readouterr()
    text = page.read_text(encoding="utf-8")
    assert 'id="sweep-bar"' in text
    assert "data-points='{&quot;pnl_quote&quot;: 2}'" in text
    assert "strategy.params.offset_ticks: [1, 3]" in text  # the grid as given
