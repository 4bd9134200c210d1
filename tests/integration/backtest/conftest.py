"""A small generated market shared by the backtest integration tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.data.generate import GenerateParams, generate_file

EXAMPLE = Path(__file__).resolve().parents[3] / "strategies" / "examples" / "fixed_spread.yaml"


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40,000 events over 120 s of a BTCUSDT-like market (seeded)."""
    path = tmp_path_factory.mktemp("market") / "market.evt"
    generate_file(path, GenerateParams(events=40_000, duration_s=120.0), seed=11)
    return path


@pytest.fixture
def example_config() -> Path:
    """The shipped fixed-spread example config."""
    return EXAMPLE
