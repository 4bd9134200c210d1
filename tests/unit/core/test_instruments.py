"""Instrument specs: loading, validation errors that name the field, table arrays."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.core.instruments import InstrumentError, InstrumentTable, load_specs, parse_specs

GOOD = {
    "venue": "binance-usdm",
    "symbol": "BTCUSDT",
    "tick_size": "0.1",
    "lot_size": "0.001",
    "min_qty": "0.001",
    "min_notional": "100",
    "maker_fee_rate": "-0.00005",
    "taker_fee_rate": "0.0005",
}


def test_yaml_and_json_load_the_same_specs(tmp_path: Path) -> None:
    (tmp_path / "i.json").write_text(json.dumps([GOOD]))
    (tmp_path / "i.yaml").write_text(
        "instruments:\n  - " + "\n    ".join(f'{k}: "{v}"' for k, v in GOOD.items()) + "\n"
    )
    assert load_specs(tmp_path / "i.json") == load_specs(tmp_path / "i.yaml")
    spec = load_specs(tmp_path / "i.json")[0]
    assert spec.tick.to_units("60000.1") == 600001
    assert spec.quote_per_tick_lot() == pytest.approx(0.0001)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"venue": "ftx"}, "[0].venue: unknown venue 'ftx'"),
        ({"tick_size": "0"}, "[0].tick_size"),
        ({"lot_size": "abc"}, "[0].lot_size"),
        ({"min_qty": "0.0015"}, "[0].min_qty"),
        ({"taker_fee_rate": "5"}, "[0].taker_fee_rate"),
        ({"tick_sz": "0.1"}, "tick_sz"),
    ],
)
def test_errors_name_the_bad_field(change: dict[str, str], message: str) -> None:
    with pytest.raises(InstrumentError) as info:
        parse_specs([{**GOOD, **change}], source="specs")
    assert message in str(info.value)


def test_duplicates_and_missing_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InstrumentError, match="duplicate instrument binance-usdm:BTCUSDT"):
        parse_specs([GOOD, GOOD])
    with pytest.raises(InstrumentError, match="cannot read"):
        load_specs(tmp_path / "missing.yaml")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(InstrumentError, match="not valid JSON"):
        load_specs(tmp_path / "bad.json")


def test_table_ids_and_arrays() -> None:
    other = {**GOOD, "venue": "bybit", "maker_fee_rate": "0.0002"}
    table = InstrumentTable.of(parse_specs([GOOD, other]))
    assert table.id_of("bybit", "BTCUSDT") == 1
    with pytest.raises(InstrumentError, match="unknown instrument okx:BTCUSDT"):
        table.id_of("okx", "BTCUSDT")
    maker, taker = table.fee_rates()
    assert list(maker) == [-0.00005, 0.0002]
    assert list(taker) == [0.0005, 0.0005]
    assert list(table.venue_ids()) == [1, 2]
