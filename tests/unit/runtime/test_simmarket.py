"""The live synthetic market of ``mode: sim`` takes informed flow from its config section."""

from __future__ import annotations

import numpy as np

from bot.config.schema import SimMarketSection
from bot.core.dtypes import EventKind
from bot.data.generate import generate_chunks
from bot.runtime.simmarket import market_params, sim_spec


def _first_chunk(section: SimMarketSection) -> np.ndarray:
    """The first rows the sim market plays for ``section`` (seed 7, as ``sim.seed``)."""
    params = market_params(section, sim_spec(section, "sim", "BTCUSDT"))
    return next(generate_chunks(params, 7))


def _trade_edge(ev: np.ndarray, ahead: int = 20) -> float:
    """Mean of (trade sign) x (price move over the next ``ahead`` trades), in ticks."""
    trades = ev[(ev["kind"] == EventKind.TRADE_BUY) | (ev["kind"] == EventKind.TRADE_SELL)]
    sign = np.where(trades["kind"] == EventKind.TRADE_BUY, 1.0, -1.0)
    px = trades["price_tick"].astype(float)
    return float(np.mean(sign[:-ahead] * (px[ahead:] - px[:-ahead])))


def test_informed_share_makes_the_sim_markets_trades_predict_the_next_move() -> None:
    plain = _trade_edge(_first_chunk(SimMarketSection()))
    informed = _trade_edge(
        _first_chunk(SimMarketSection(informed_share=0.3, informed_impact_bps=0.2))
    )
    assert informed > 0.0
    assert informed > 3 * max(plain, 0.1)  # a maker these trades fill meets adverse selection
