"""The statistics of a real backtest are sane on a 30-minute run and on a multi-day run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.cli import main
from bot.data.generate import GenerateParams, generate_file

# Whole 30-minute and four-day backtests: as plain Python (NUMBA_DISABLE_JIT) they take many
# minutes each; the statistics code they check is plain Python and runs in the JIT pass.
pytestmark = pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="needs the JIT")


@pytest.fixture(scope="module")
def half_hour(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("m30") / "m30.evt"
    generate_file(path, GenerateParams(events=30_000, duration_s=1800.0), seed=5)
    return path


@pytest.fixture(scope="module")
def four_days(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("m4d") / "m4d.evt"
    generate_file(path, GenerateParams(events=40_000, duration_s=4 * 86_400.0), seed=6)
    return path


def _run(capsys: pytest.CaptureFixture[str], config: Path, data: Path, *extra: str) -> str:
    code = main(["backtest", "--config", str(config), "--data", str(data), "--no-report", *extra])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def _check_common(s: dict) -> None:
    assert s["pnl_quote"] == pytest.approx(
        s["spread_capture_quote"] + s["inventory_pnl_quote"] - s["fees_quote"] - s["funding_quote"]
    )
    assert sum(s["rejects"]["risk"].values()) == s["risk_rejects"]
    venue = s["rejects"]["venue"]
    # order rejects the venue sent; the local count can only lag by what is still in flight
    order_rejects = venue["post_only"] + venue["no_liquidity"] + venue["too_many_orders"]
    assert s["venue_rejects"] <= order_rejects
    assert venue["unknown_order"] >= s["cancels_lost"] > 0
    assert 0 <= s["win_rate"] <= 1
    assert s["round_trips"] > 0


def test_a_30_minute_run_is_not_annualised(
    capsys: pytest.CaptureFixture[str], half_hour: Path, example_config: Path
) -> None:
    s = json.loads(_run(capsys, example_config, half_hour, "--json"))
    assert s["span_s"] == pytest.approx(1800, rel=0.01)
    assert (s["return_interval_s"], s["annualised"]) == (60.0, False)
    assert s["returns_n"] in (29, 30)
    assert abs(s["sharpe"]) < 10  # a per-minute figure; annualising 1 s returns gave ~1520
    _check_common(s)
    table = _run(capsys, example_config, half_hour)
    assert "per 1 min" in table
    assert "not annualised" in table
    assert "e+" not in table
    assert "e-0" not in table


def test_a_multi_day_run_annualises_daily_returns(
    capsys: pytest.CaptureFixture[str], four_days: Path, example_config: Path
) -> None:
    s = json.loads(_run(capsys, example_config, four_days, "--json"))
    assert (s["return_interval_s"], s["annualised"]) == (86_400.0, True)
    assert s["returns_n"] == 3
    _check_common(s)
    if s["max_drawdown"] > 0:
        span_years = s["span_s"] / (365 * 86_400)
        assert s["calmar"] == pytest.approx(s["return"] / span_years / s["max_drawdown"])
    table = _run(capsys, example_config, four_days)
    assert "annualised" in table
    assert "not annualised" not in table


def test_the_equity_split_over_time_ends_at_the_totals(
    four_days: Path, example_config: Path
) -> None:
    import numpy as np

    from bot.backtest import session
    from bot.backtest.report import pnl_split_at
    from bot.config.schema import load_config

    bt, s = session.run(load_config(example_config), session.load_data([four_days]))
    capture, fees = pnl_split_at(bt, np.array([np.iinfo(np.int64).max]))
    assert capture[0] == pytest.approx(s["spread_capture_quote"])
    assert fees[0] == pytest.approx(s["fees_quote"])
    fills = bt.venue.fill_rows()
    makers = fills[fills["liquidity"] == 1]
    assert (makers["ts_rest_ns"] <= makers["ts_exch_ns"]).all()
    assert (makers["ts_rest_ns"] >= int(bt.events["ts_exch_ns"][0])).all()
