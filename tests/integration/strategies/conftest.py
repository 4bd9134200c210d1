"""Purpose-built markets for the strategy backtests (session-scoped: generated once)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.config.schema import StrategyConfig, parse_config
from bot.core.dtypes import EventKind
from tests.support import markets

A_VENUE, B_VENUE = "binance-usdm", "bybit"


def config(name: str, params: dict[str, Any], instruments: list[dict[str, str]]) -> StrategyConfig:
    """Return a config with wide risk limits, 1 ms latency, no maker fee, 2 bps taker fee."""
    return parse_config(
        {
            "strategy": {"name": name, "params": params},
            "instruments": instruments,
            "risk": {
                "max_position_lot": 100, "max_order_lot": 50, "max_notional_quote": 1e6,
                "price_band_bps": 500, "max_open_orders": 20, "orders_per_s": 1000,
                "burst": 1000,
            },
            "backtest": {
                "latency": {"entry_ms": 1},
                "fees": {"maker_bps": 0, "taker_bps": 2},
                "sample_interval_ms": 500,
            },
        }
    )  # fmt: skip


@pytest.fixture(scope="session")
def ou_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10 minutes of a mean-reverting market (OU fair price, 6-tick spread, touch trades)."""
    fair = 600_000 + markets.ou_path(6000, 0.1, theta_per_s=0.2, sigma_ticks=4.0, seed=1)
    ev = markets.book_events(fair, half_spread_ticks=3, trade_prob=0.5, seed=2)
    return markets.write(tmp_path_factory.mktemp("ou") / "ou.evt", ev)


@pytest.fixture(scope="session")
def two_venues(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One random-walk fair price on two venues; ``b_dislocated`` is 400 ticks (6.7 bps) rich
    for 100 s in the middle, ``b_flat`` never is."""
    d = tmp_path_factory.mktemp("venues")
    fair = 600_000 + markets.ou_path(4000, 0.1, theta_per_s=0.0, sigma_ticks=3.0, seed=5)
    a = markets.book_events(fair, venue=A_VENUE, half_spread_ticks=3, trade_prob=0.2, seed=6)
    out = {"a": markets.write(d / "a.evt", a, venue=A_VENUE)}
    for name, offset in (("flat", None), ("dislocated", lambda i: 400 if 1500 <= i < 2500 else 0)):
        b = markets.book_events(
            fair, venue=B_VENUE, half_spread_ticks=3, trade_prob=0.2, seed=7,
            latency_ns=1_500_000, offset_ticks=offset,
        )  # fmt: skip
        out[f"b_{name}"] = markets.write(d / f"b_{name}.evt", b, venue=B_VENUE)
    return out


IMBALANCE_SEEDS = (11, 12)
IMBALANCE_LAG_STEPS = 3


@pytest.fixture(scope="session")
def imbalance_markets(tmp_path_factory: pytest.TempPathFactory) -> dict[int, dict[str, Any]]:
    """Per seed, 10 minutes of a 2-tick-wide book that leans in episodes (``lean``): in
    ``informative`` the fair price drifts towards the thin side 300 ms after the book leans
    (about 10 ticks an episode); in ``uninformative`` the book leans the same way but the fair
    price is a random walk of a similar volatility that ignores it."""
    d = tmp_path_factory.mktemp("imbalance")
    n = 6000
    out: dict[int, dict[str, Any]] = {}
    for seed in IMBALANCE_SEEDS:
        lean = markets.pressure_episodes(
            n, mean_gap_steps=30, length_steps=15, strength=0.7, noise=0.2, seed=seed
        )
        walk = markets.ou_path(n, 0.1, theta_per_s=0.0, sigma_ticks=1.5, seed=seed + 1)
        blind = markets.ou_path(n, 0.1, theta_per_s=0.0, sigma_ticks=2.0, seed=seed + 1)
        fairs = {
            "informative": 600_000 + walk + markets.lagged_drift(lean, IMBALANCE_LAG_STEPS, 1.0),
            "uninformative": 600_000 + blind,
        }
        out[seed] = {"lean": lean}
        for name, fair in fairs.items():
            ev = markets.book_events(
                fair, half_spread_ticks=1, lean=lean, trade_prob=0.3, seed=seed + 2
            )
            out[seed][name] = markets.write(d / f"{name}_{seed}.evt", ev)
    return out


TREND_PHASES_S = (90, 150, 150)
THETA, SIGMA, SEED = 0.05, 3.0, 21
"""Seconds of the flat start, the up-trend and the down-trend of ``trend_reversal``."""
QUIET_S = (30, 35)
"""A stretch of the flat start without trades (time bars: no bars there)."""


@pytest.fixture(scope="session")
def trend_reversal(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-minute market: flat, then +2 ticks/s for 150 s, then -2 ticks/s for 150 s (random
    walk of 2 ticks per root second on top), trades at the touch in ~40% of 100 ms steps,
    none during ``QUIET_S``."""
    flat, up, down = (10 * s for s in TREND_PHASES_S)
    segments = [(flat, 0.0), (up, 0.2), (down, -0.2)]
    path = markets.trend_path(segments, 0.1, theta_per_s=THETA, sigma_ticks=SIGMA, seed=SEED)
    ev = markets.book_events(600_000 + path, half_spread_ticks=1, trade_prob=0.4, seed=22)
    t = (ev["ts_exch_ns"] - markets.START_NS) / 1e9
    trade = (ev["kind"] == EventKind.TRADE_BUY) | (ev["kind"] == EventKind.TRADE_SELL)
    quiet = trade & (t >= QUIET_S[0]) & (t < QUIET_S[1])
    return markets.write(tmp_path_factory.mktemp("trend") / "trend.evt", ev[~quiet])
