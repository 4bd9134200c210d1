"""Queue position: trades and cancels at our level, by model, computed by hand."""

from __future__ import annotations

import pytest

from bot.backtest.sim_types import QueueModel
from bot.core.dtypes import Liquidity, Side
from tests.unit.backtest.helpers import (
    ASK,
    BID,
    NEW,
    SELL_TRADE,
    events,
    fills,
    run_script,
)

MAKER = Liquidity.MAKER

BOOK = [(0, BID, 100, 10), (0, ASK, 101, 10)]


def test_trades_consume_queue_ahead_then_fill_us() -> None:
    # we join behind 10 lots at 100 (order leaves at t=100, reaches the venue at t=1100)
    ev = events(
        [
            *BOOK,
            (2000, SELL_TRADE, 100, 6),  # ahead 10 -> 4
            (2001, BID, 100, 4),  # the venue's book after that trade: no double count
            (3000, SELL_TRADE, 100, 5),  # ahead 4 -> -1: 1 lot is ours
            (4000, SELL_TRADE, 100, 3),  # the last lot
            (5000, ASK, 101, 9),
        ]
    )
    bt = run_script(ev, [(100, NEW, 1, 100, 2, 0, 0)])
    assert fills(bt) == [(3000, Side.BUY, 100, 1, MAKER), (4000, Side.BUY, 100, 1, MAKER)]
    assert bt.pos_local[0] == 2


@pytest.mark.parametrize(
    ("model", "power", "filled"),
    [
        # ahead 10, back 30, 8 cancelled: risk-averse keeps 10 ahead -> trade 9 fills nothing
        (QueueModel.RISK_AVERSE, 1.0, 0),
        # proportional: P(from behind) = 30/40 -> ahead 10 - 0.25 * 8 = 8 -> trade 9 fills 1
        (QueueModel.PROBABILISTIC, 1.0, 1),
        # power 2: P = 900/1000 -> ahead 10 - 0.1 * 8 = 9.2 -> trade 9 leaves 0.2 ahead
        (QueueModel.PROBABILISTIC, 2.0, 0),
    ],
)
def test_cancels_advance_queue_by_model(model: QueueModel, power: float, filled: int) -> None:
    ev = events(
        [
            *BOOK,
            (2000, BID, 100, 40),  # 30 lots join behind us
            (3000, BID, 100, 32),  # 8 lots cancelled somewhere in the queue
            (4000, SELL_TRADE, 100, 9),
            (5000, ASK, 101, 9),
        ]
    )
    bt = run_script(ev, [(100, NEW, 1, 100, 5, 0, 0)], queue_model=model, power=power)
    got = sum(f[3] for f in fills(bt))
    assert got == filled


def test_cancel_at_the_front_probabilistic_power_moves_us_up_more_when_back_is_small() -> None:
    # ahead 10, back 2, 6 cancelled, power 1: P(behind) = 2/12; est = 10 - 5/6*6 + min(2-1, 0) = 5
    ev = events(
        [
            *BOOK,
            (2000, BID, 100, 12),
            (3000, BID, 100, 6),
            (4000, SELL_TRADE, 100, 6),  # ahead 5 -> -1: 1 lot fills
            (5000, ASK, 101, 9),
        ]
    )
    bt = run_script(
        ev, [(100, NEW, 1, 100, 5, 0, 0)], queue_model=QueueModel.PROBABILISTIC, power=1.0
    )
    assert fills(bt) == [(4000, Side.BUY, 100, 1, MAKER)]


def test_level_shrinking_below_our_estimate_caps_queue_ahead() -> None:
    ev = events(
        [
            *BOOK,
            (2000, BID, 100, 3),  # risk-averse: ahead min(10, 3) = 3
            (3000, SELL_TRADE, 100, 5),  # 3 ahead, then 2 of ours
            (5000, ASK, 101, 9),
        ]
    )
    bt = run_script(ev, [(100, NEW, 1, 100, 5, 0, 0)])
    assert fills(bt) == [(3000, Side.BUY, 100, 2, MAKER)]


def test_price_trading_through_fills_whole_order() -> None:
    ev = events([*BOOK, (2000, SELL_TRADE, 99, 1), (5000, ASK, 101, 9)])
    bt = run_script(ev, [(100, NEW, 1, 100, 4, 0, 0)])
    assert fills(bt) == [(2000, Side.BUY, 100, 4, MAKER)]


def test_opposite_best_moving_onto_our_price_fills_us() -> None:
    ev = events([*BOOK, (2000, ASK, 100, 7), (5000, ASK, 101, 9)])
    bt = run_script(ev, [(100, NEW, 1, 100, 4, 0, 0)])
    assert fills(bt) == [(2000, Side.BUY, 100, 4, MAKER)]
