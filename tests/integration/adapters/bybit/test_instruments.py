"""Instrument specs from Bybit's instruments-info endpoint (docs example)."""

from __future__ import annotations

import pytest

from bot.adapters.bybit import parse_instruments_info
from bot.core.instruments import InstrumentError
from tests.support.shared import fixture_file


def test_docs_example() -> None:
    (spec,) = parse_instruments_info(
        fixture_file("bybit", "docs_instruments_info_linear.json").read_bytes()
    )
    assert (spec.venue, spec.symbol) == ("bybit", "BTCUSDT")
    assert spec.tick_size == "0.10"
    assert spec.tick.to_units("65557.7") == 655577
    assert spec.lot_size == "0.001"
    assert spec.min_qty == "0.001"
    assert spec.min_notional == "5"


def test_missing_symbol_and_errors() -> None:
    body = fixture_file("bybit", "docs_instruments_info_linear.json").read_bytes()
    with pytest.raises(InstrumentError, match="ETHUSDT"):
        parse_instruments_info(body, ["ETHUSDT"])
    with pytest.raises(InstrumentError):
        parse_instruments_info(b'{"retCode":10001,"retMsg":"bad","result":{"list":[]}}')
    with pytest.raises(InstrumentError):
        parse_instruments_info(b"<html>")
