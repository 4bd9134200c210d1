"""The HTML report renders in a real headless Chromium: no console error, every point drawn."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bot.cli import main
from tests.support.browser import Browser, chromium_path

# plotly's per-trace computed points (calcdata) and, for marker traces, the drawn markers
POINTS_JS = """
(() => {
  const out = {};
  for (const el of document.querySelectorAll("div.chart")) {
    const traces = {};
    el.calcdata.forEach((cd, i) => {
      const t = el._fullData[i];
      const markers = el.querySelectorAll(".trace")[i]?.querySelectorAll(".points path").length;
      traces[t.name] = {points: cd.length, markers: t.mode === "markers" ? markers : null};
    });
    out[el.id] = {expected: JSON.parse(el.dataset.points), drawn: traces,
                  svg: el.querySelectorAll(".main-svg").length};
  }
  return out;
})()
"""


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
        charts = browser.evaluate(POINTS_JS)
        assert browser.errors == []
        assert browser.requests == [page.resolve().as_uri()]  # offline: nothing else fetched
    assert set(charts) == {
        "chart-price", "chart-inventory", "chart-equity", "chart-pnl-split", "chart-spread"
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
    assert charts["chart-equity"]["expected"]["fees paid"] == stats["fills"]
    assert charts["chart-pnl-split"]["expected"] == {"PnL split": 5}
