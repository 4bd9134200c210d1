"""Imbalance taker on books whose lean does, or does not, predict the next move."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.backtest import session
from bot.backtest.engine import Backtest
from bot.core.dtypes import Liquidity
from tests.support.markets import START_NS

from .conftest import IMBALANCE_SEEDS, config

PARAMS: dict[str, Any] = {
    "levels": 5, "imbalance_threshold": 0.5, "micro_threshold_ticks": 0.2, "qty_lot": 2,
    "slippage_ticks": 1, "target_ticks": 6, "stop_ticks": 4, "max_hold_ms": 2000,
    "cooldown_ms": 1000,
}  # fmt: skip
SIM = [{"venue": "sim", "symbol": "BTCUSDT"}]
MS = 1_000_000
STEP_NS = 100 * MS  # one book message per 100 ms (markets.book_events default)
LATENCY_NS = 1 * MS  # market data and order entry both (config: entry_ms 1)
SPREAD_TICKS = 2


def _run(market: Path) -> tuple[Backtest, dict[str, Any]]:
    return session.run(config("imbalance_taker", PARAMS, SIM), session.load_data([market]))


def _round_trips(fills: np.ndarray) -> list[tuple[np.void, np.void]]:
    """Pair each fill that opens a position from flat with the fill that brings it back."""
    trips = []
    pos = 0
    entry = None
    for f in fills:
        if pos == 0:
            entry = f
        pos += int(f["side"]) * int(f["qty_lot"])
        if pos == 0:
            trips.append((entry, f))
    return trips


def _gross_ticks(trips: list[tuple[np.void, np.void]]) -> np.ndarray:
    """Price gained per lot on each round trip, ticks, before fees (the spread paid included)."""
    return np.array([int(e["side"]) * (int(x["price_tick"]) - int(e["price_tick"]))
                     for e, x in trips], dtype=np.float64)  # fmt: skip


def _run_and_check(market: dict[str, Any], name: str) -> tuple[np.ndarray, dict[str, Any]]:
    """Run on ``market[name]``, check what holds on any market (taker fills, entries with the
    lean, cooldown, holding time) and return the gross ticks of each round trip and the stats."""
    bt, stats = _run(market[name])
    lean = market["lean"]
    fills = bt.venue.fill_rows()
    assert (fills["liquidity"] == Liquidity.TAKER).all()
    trips = _round_trips(fills)
    assert len(trips) >= 50
    entries = np.array([int(e["ts_exch_ns"]) for e, _ in trips])
    exits = np.array([int(x["ts_exch_ns"]) for _, x in trips])
    for e, x in trips:
        assert int(e["qty_lot"]) == PARAMS["qty_lot"]
        assert int(x["side"]) == -int(e["side"])  # one IOC closes all of it
        # the book it decided on: the message received just before it sent the order
        step = (int(e["ts_exch_ns"]) - 2 * LATENCY_NS - START_NS) // STEP_NS
        assert np.sign(lean[step]) == int(e["side"])
        assert abs(lean[step]) > PARAMS["imbalance_threshold"] - 0.05
    cooldown = PARAMS["cooldown_ms"] * MS
    assert np.diff(entries).min() >= cooldown
    assert (entries[1:] - exits[:-1]).min() >= cooldown  # the exit starts a cooldown too
    assert (entries[1:] - exits[:-1]).min() < cooldown + STEP_NS  # and it did bind
    # out by the holding time: the timer wakes it at the deadline (fill seen + hold), the IOC
    # takes one more latency to reach the venue
    hold = exits - entries
    assert hold.max() <= PARAMS["max_hold_ms"] * MS + 2 * LATENCY_NS
    assert hold.max() >= PARAMS["max_hold_ms"] * MS  # some trips did run out of time
    return _gross_ticks(trips), stats


@pytest.mark.parametrize("seed", IMBALANCE_SEEDS)
def test_taker_wins_when_imbalance_predicts_the_move(
    imbalance_markets: dict[int, dict[str, Any]], seed: int
) -> None:
    gross, stats = _run_and_check(imbalance_markets[seed], "informative")
    # the drift after an episode is ~10 ticks: it keeps well over the 2-tick spread it pays
    assert gross.mean() > SPREAD_TICKS + 1.0
    assert (gross > 0).mean() > 0.75
    gross_quote = stats["pnl_quote"] + stats["fees_quote"]
    assert gross_quote > 0.0
    assert stats["pnl_quote"] < gross_quote  # taker fees were charged on top


@pytest.mark.parametrize("seed", IMBALANCE_SEEDS)
def test_taker_does_not_win_when_imbalance_carries_no_information(
    imbalance_markets: dict[int, dict[str, Any]], seed: int
) -> None:
    gross, stats = _run_and_check(imbalance_markets[seed], "uninformative")
    # mid to mid it gains nothing (within about three standard errors); it pays the spread
    edge = gross + SPREAD_TICKS
    assert abs(edge.mean()) < max(0.75, 3 * edge.std() / np.sqrt(len(edge)))
    assert gross.mean() < 0.0
    assert stats["pnl_quote"] + stats["fees_quote"] < 0.0
