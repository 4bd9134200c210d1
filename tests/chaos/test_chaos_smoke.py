"""The short seeded subset of ``make chaos`` that runs in ``make test``: one router run on each
of three venues (Binance USD-M, Bybit, OKX), every ground-truth check of ``Session.check``, and
one market-data run (the real Bybit feed: gaps, broken frames, outages, stalls)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.market import MarketSession
from tests.chaos.session import KITS, Session

pytestmark = pytest.mark.asyncio
SMOKE_SEEDS = [KITS.index(name) for name in ("binance-usdm", "bybit", "okx")]
MARKET_SEED = 14


@pytest.mark.parametrize("seed", SMOKE_SEEDS)
async def test_seeded_chaos_run_loses_nothing(tmp_path: Path, seed: int) -> None:
    session = Session(seed, tmp_path)
    out = await session.run()
    assert sum(out.faults.values()) > 1  # faults were injected, not only the final shutdown
    assert out.orders > 0
    assert out.violations == [], "\n".join([*out.violations, *session.trace])


async def test_seeded_market_data_run_shows_the_strategy_the_venues_book() -> None:
    session = MarketSession(MARKET_SEED)
    out = await session.run()
    assert sum(out.faults.values()) >= 4
    assert out.violations == [], "\n".join([*out.violations, *session.trace])
