"""Instrument specs from Binance's exchangeInfo endpoint (docs example)."""

from __future__ import annotations

import pytest

from bot.adapters.binance_usdm import parse_exchange_info
from bot.core.instruments import InstrumentError
from tests.support.shared import fixture_file

BODY = fixture_file("binance_usdm", "docs_exchangeInfo_response.json").read_bytes()


def test_docs_example() -> None:
    (spec,) = parse_exchange_info(BODY)
    assert (spec.venue, spec.symbol) == ("binance-usdm", "BLZUSDT")
    assert spec.tick_size == "0.0001"
    assert spec.lot_size == "1"
    assert spec.min_qty == "1"
    assert spec.min_notional == "5.0"
    assert parse_exchange_info(BODY, ["blzusdt"]) == [spec]


def test_unknown_symbol_and_malformed_body() -> None:
    with pytest.raises(InstrumentError, match="BTCUSDT"):
        parse_exchange_info(BODY, ["BTCUSDT"])
    with pytest.raises(InstrumentError):
        parse_exchange_info(b'{"symbols": 3}')
