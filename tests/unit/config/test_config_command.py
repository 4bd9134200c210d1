"""``tickbot config validate`` and ``tickbot config schema``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLES = sorted((Path(__file__).resolve().parents[3] / "strategies" / "examples").glob("*.yaml"))

BAD = """
strategy:
  name: avellaneda_stoikov
  params: {gamma_per_tick: -1, qty_lot: 0, typo: 3, model: weird}
instruments: [{venue: sim}]
risk: {max_position_lot: -5, max_order_lot: 1, max_notional_quote: 1, price_band_bps: 1,
       max_open_orders: 1, orders_per_s: 1, burst: 1, colour: red}
backtest: {latency: {entry_ms: -1}}
"""


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_is_valid(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["config", "validate", str(path)]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1
    assert out[0].endswith(f"OK ({path.stem})")


def test_every_error_is_printed_with_its_field_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(BAD)
    assert main(["config", "validate", str(f)]) == 2
    errors = {line.split(": ", 1)[1] for line in capsys.readouterr().err.strip().splitlines()}
    assert errors == {
        "strategy.params.gamma_per_tick: must be > 0, got -1",
        "strategy.params.qty_lot: must be > 0, got 0",
        "strategy.params.typo: unknown field",
        "strategy.params.model: Invalid enum value 'weird'",
        "instruments[0].symbol: required field missing",
        "risk.max_position_lot: must be >= 0, got -5",
        "risk.colour: unknown field",
        "backtest.latency.entry_ms: must be >= 0, got -1",
    }


def test_cross_field_checks_and_unknown_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = EXAMPLES[0].read_text().replace("min_spread_ticks: 2", "min_spread_ticks: 90")
    f = tmp_path / "cross.yaml"
    f.write_text(text)
    assert main(["config", "validate", str(f)]) == 2
    assert (
        "strategy.params: min_spread_ticks must be <= max_spread_ticks" in capsys.readouterr().err
    )
    f.write_text(text.replace("name: avellaneda_stoikov", "name: nope"))
    assert main(["config", "validate", str(f)]) == 2
    assert "strategy.name: unknown strategy 'nope'" in capsys.readouterr().err


def test_missing_file_and_bad_yaml_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "validate", str(tmp_path / "none.yaml")]) == 2
    f = tmp_path / "broken.yaml"
    f.write_text("strategy: [unclosed")
    assert main(["config", "validate", str(f)]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_schema_covers_every_strategy_and_forbids_unknown_keys(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["config", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    defs = schema["$defs"]
    variants = defs["StrategySection"]["oneOf"]
    names = {v["properties"]["name"]["const"] for v in variants}
    assert {"avellaneda_stoikov", "cross_venue_arb", "ema_rsi", "fixed_spread",
            "imbalance_taker"} <= names  # fmt: skip
    gamma = defs["avellaneda_stoikov.Params"]["properties"]["gamma_per_tick"]
    assert gamma["exclusiveMinimum"] == 0
    for name, body in defs.items():
        if body.get("type") == "object":
            assert body.get("additionalProperties") is False, name
