"""The HTML report renders in a real headless Chromium: no console error, every point drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.browser import CHART_POINTS_JS, Browser, chromium_path


def test_report_renders_offline_with_every_point(
    capsys: pytest.CaptureFixture[str], market: Path, example_config: Path, tmp_path: Path
) -> None:
    chromium_path()  # skip early, before the backtest, where Chromium is absent
    out_dir = tmp_path / "report"
    code = main(
        ["backtest", "--config", str(example_config), "--data", str(market), "--out",
         str(out_dir), "--json"]
    )  # fmt: skip
    stats = json.loads(capsys.readouterr().out)
    assert code == 0
    page = out_dir / "index.html"
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", text)  # plotly.js inline, not from a CDN
    assert not list(out_dir.glob("*.png"))  # PNGs only with --png
    assert "header sha256" in text
    assert "fixed_spread" in text  # the config as given
    with Browser() as browser:
        browser.open(page, "document.body.dataset.rendered === 'yes'")
        charts = browser.evaluate(CHART_POINTS_JS)
        assert browser.errors == []
        assert browser.requests == [page.resolve().as_uri()]  # offline: nothing else fetched
    assert set(charts) == {
        "chart-price", "chart-inventory", "chart-equity", "chart-pnl-split", "chart-spread",
        "chart-queue-wait",
    }  # fmt: skip
    for name, c in charts.items():
        assert c["svg"] > 0, name
        assert {t: d["points"] for t, d in c["drawn"].items()} == c["expected"], name
        for trace, d in c["drawn"].items():
            if d["markers"] is not None:
                assert d["markers"] == d["points"], (name, trace)
    samples = stats["samples"]
    assert charts["chart-inventory"]["expected"] == {"position": samples}
    price = charts["chart-price"]["expected"]
    assert price["our buys"] + price["our sells"] == stats["fills"]
    assert price["mid"] == samples
    assert set(charts["chart-equity"]["expected"].values()) == {samples}
    assert len(charts["chart-equity"]["expected"]) == 4  # PnL and its three parts
    # post-only quotes: every fill is a maker fill, each with its queue wait
    assert charts["chart-queue-wait"]["expected"] == {"queue wait": stats["fills"]}
    assert charts["chart-pnl-split"]["expected"] == {"PnL split": 5}
