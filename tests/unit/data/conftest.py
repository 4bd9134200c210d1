"""Shared fixtures of the data tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from bot.core.instruments import InstrumentSpec, parse_specs
from tests.support.shared import shared_path

SPECS = [
    {"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.001"},
    {"venue": "binance-usdm", "symbol": "ETHUSDT", "tick_size": "0.01", "lot_size": "0.001"},
    {"venue": "sim", "symbol": "BTC-PERPETUAL", "tick_size": "0.5", "lot_size": "10"},
]


@pytest.fixture
def fixtures() -> Path:
    """Return the folder of real public data samples (skips when ``../shared`` is absent)."""
    return shared_path("data-formats", "samples")


@pytest.fixture
def specs() -> list[InstrumentSpec]:
    """Return BTCUSDT (id 0), ETHUSDT (id 1) and BTC-PERPETUAL (id 2)."""
    return parse_specs(SPECS)


@pytest.fixture
def specs_file(tmp_path: Path) -> Path:
    """Return a JSON specs file holding ``SPECS``."""
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps(SPECS))
    return path


def write_csv(path: Path, lines: list[str]) -> Path:
    """Write CSV lines (gzip when the name ends in .gz) and return the path."""
    data = ("\n".join(lines) + "\n").encode()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path.write_bytes(data)
    return path
