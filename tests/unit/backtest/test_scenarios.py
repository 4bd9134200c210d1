"""Hand-computed engine scenarios: fills, rejects, slippage, latency, races, accounting."""

from __future__ import annotations

import numpy as np
import pytest

from bot.backtest.sim_types import QueueModel, VenueReject
from bot.backtest.stats import check_identity, compute_stats, pnl_parts
from bot.core.dtypes import Liquidity, OrderStatus, RiskReason, Side
from tests.unit.backtest.helpers import (
    ASK,
    BID,
    BUY_TRADE,
    CANCEL,
    IOC,
    MARKET,
    NEW,
    POST_ONLY,
    QPTL,
    SELL_TRADE,
    events,
    fills,
    run_script,
)

MAKER, TAKER = Liquidity.MAKER, Liquidity.TAKER
BOOK = [(0, BID, 100, 10), (0, ASK, 101, 10)]
END = (9000, ASK, 101, 10)


def test_partial_fills_leave_the_order_partially_filled() -> None:
    ev = events(
        [
            *BOOK,
            (2000, BID, 100, 2),  # 8 cancelled ahead: risk-averse ahead = 2
            (3000, SELL_TRADE, 100, 4),  # 2 ahead, 2 ours
            (4000, SELL_TRADE, 100, 1),  # 1 more
            END,
        ]
    )
    bt = run_script(ev, [(100, NEW, 1, 100, 5, 0, 0)])
    assert fills(bt) == [(3000, Side.BUY, 100, 2, MAKER), (4000, Side.BUY, 100, 1, MAKER)]
    live = bt.view[bt.view["status"] != 0]
    assert len(live) == 1
    assert live[0]["status"] == OrderStatus.PARTIALLY_FILLED
    assert live[0]["filled_lot"] == 3
    assert bt.pos_local[0] == 3
    # risk still reserves the 2 open lots and the order slot
    assert bt.rstate[0]["open_buy_lot"] == 2
    assert bt.rstate[0]["open_orders"] == 1
    assert bt.rstate[0]["position_lot"] == 3


def test_post_only_that_would_cross_is_rejected_and_releases_risk() -> None:
    ev = events([*BOOK, END])
    bt = run_script(ev, [(100, NEW, 1, 101, 1, POST_ONLY, 0)])
    assert fills(bt) == []
    c = bt.counters()
    assert c["venue_rejects"] == 1
    assert bt.rstate[0]["open_orders"] == 0
    assert bt.rstate[0]["open_buy_lot"] == 0
    assert (bt.view["status"] == 0).all()
    assert int(VenueReject.POST_ONLY) == 64


def test_post_only_that_does_not_cross_rests() -> None:
    ev = events([*BOOK, END])
    bt = run_script(ev, [(100, NEW, 1, 100, 1, POST_ONLY, 0)])
    assert bt.counters()["venue_rejects"] == 0
    assert bt.view[0]["status"] == OrderStatus.OPEN


@pytest.mark.parametrize(
    ("flags", "price", "expected"),
    [
        # IOC limit 103: 2 @ 101, 3 @ 102, the rest (104 is beyond the limit) expires
        (IOC, 103, [(1100, Side.BUY, 101, 2, TAKER), (1100, Side.BUY, 102, 3, TAKER)]),
        # market: walks on to 104
        (
            MARKET,
            0,
            [
                (1100, Side.BUY, 101, 2, TAKER),
                (1100, Side.BUY, 102, 3, TAKER),
                (1100, Side.BUY, 104, 2, TAKER),
            ],
        ),
    ],
)
def test_taker_walks_the_book_with_slippage_and_fees(
    flags: int, price: int, expected: list[tuple[int, ...]]
) -> None:
    ev = events([(0, BID, 99, 10), (0, ASK, 101, 2), (0, ASK, 102, 3), (0, ASK, 104, 5), END])
    bt = run_script(ev, [(100, NEW, 1, price, 7, flags, 0)], taker_fee=0.0005)
    assert fills(bt) == expected
    notional_tl = sum(px * q for _, _, px, q, _ in expected)
    fees = notional_tl * QPTL * 0.0005
    parts = pnl_parts(bt)
    assert parts["fees_quote"] == pytest.approx(fees)
    assert parts["cash_quote"] == pytest.approx(-notional_tl * QPTL - fees)
    # the order is gone (filled or the rest expired) and risk holds no reservation
    assert (bt.view["status"] == 0).all()
    assert bt.rstate[0]["open_buy_lot"] == 0
    assert bt.rstate[0]["position_lot"] == sum(q for *_, q, _ in expected)


def test_order_cannot_fill_on_events_before_it_reaches_the_venue() -> None:
    # sent at local 100; 1000 ns each way -> at the venue from 1100
    ev = events(
        [
            *BOOK,
            (500, SELL_TRADE, 99, 50),  # trades through 100 before our order arrives
            (1050, SELL_TRADE, 99, 50),  # still before
            (1200, SELL_TRADE, 99, 50),  # after: fills us completely
            END,
        ]
    )
    bt = run_script(ev, [(100, NEW, 1, 100, 3, 0, 0)])
    assert fills(bt) == [(1200, Side.BUY, 100, 3, MAKER)]
    fill = bt.venue.fill_rows()[0]
    assert fill["ts_local_ns"] == 2200  # and we hear of it 1000 ns later


def test_feed_latency_delays_what_the_strategy_sees() -> None:
    # the venue has its book from t=0, but it reaches us only at t=5000
    ev = events([(0, BID, 100, 10, 5000), (0, ASK, 102, 10, 5000), (9000, ASK, 102, 9)])
    script = [(100, NEW, 1, 101, 1, POST_ONLY, 0), (6000, NEW, 1, 101, 1, POST_ONLY, 0)]
    bt = run_script(ev, script)
    # at 100 we have no book yet: risk has no reference price and refuses, counted
    assert bt.counters()["risk_rejects"] == 1
    assert bt.rcounts[0, RiskReason.NO_REFERENCE_PRICE] == 1
    # at 6000 we see the book; the order goes out and rests
    assert bt.counters()["orders_sent"] == 1
    assert bt.view[0]["status"] == OrderStatus.OPEN


def test_cancel_that_loses_the_race_to_a_fill() -> None:
    ev = events(
        [
            *BOOK,
            (2500, SELL_TRADE, 99, 50),  # fills our order at the venue
            END,
        ]
    )
    # NEW at 100 (venue 1100); CANCEL of order 1 sent at 2000, reaches the venue at 3000
    bt = run_script(ev, [(100, NEW, 1, 100, 2, 0, 0), (2000, CANCEL, 0, 0, 0, 0, 1)])
    assert fills(bt) == [(2500, Side.BUY, 100, 2, MAKER)]
    c = bt.counters()
    assert c["cancels_sent"] == 1
    assert c["cancels_lost"] == 1
    assert bt.pos_local[0] == 2
    assert (bt.view["status"] == 0).all()
    assert bt.rstate[0]["open_orders"] == 0


def test_cancel_in_time_cancels() -> None:
    ev = events([*BOOK, (5000, SELL_TRADE, 99, 50), END])
    bt = run_script(ev, [(100, NEW, 1, 100, 2, 0, 0), (2000, CANCEL, 0, 0, 0, 0, 1)])
    assert fills(bt) == []
    assert bt.counters()["cancels_lost"] == 0
    assert (bt.view["status"] == 0).all()
    assert bt.rstate[0]["open_orders"] == 0
    assert bt.rstate[0]["open_buy_lot"] == 0


def test_accounting_identity_and_hand_computed_pnl() -> None:
    # buy 4 @ 100 (maker), sell 3 @ 104 (maker), mark at the end: mid (102 + 104) / 2 = 103
    ev = events(
        [
            *BOOK,
            (2000, SELL_TRADE, 99, 50),  # fills the buy
            (3000, ASK, 104, 5),
            (3001, ASK, 101, 0),  # ask now 104
            (5000, BID, 102, 5),
            (6000, BUY_TRADE, 105, 50),  # trades through our ask at 104
            (9000, BID, 100, 0),
        ]
    )
    bt = run_script(
        ev,
        [(100, NEW, 1, 100, 4, 0, 0), (4000, NEW, -1, 104, 3, 0, 0)],
        maker_fee=-0.0001,
    )
    assert fills(bt) == [(2000, Side.BUY, 100, 4, MAKER), (6000, Side.SELL, 104, 3, MAKER)]
    p = pnl_parts(bt)
    assert p["realised_pnl_quote"] == pytest.approx((104 - 100) * 3 * QPTL)
    assert p["unrealised_pnl_quote"] == pytest.approx((103 - 100) * 1 * QPTL)
    fees = -0.0001 * (100 * 4 + 104 * 3) * QPTL
    assert p["fees_quote"] == pytest.approx(fees)
    assert check_identity(bt) == pytest.approx(0.0, abs=1e-12)
    stats = compute_stats(bt)
    assert stats["maker_share"] == 1.0
    assert stats["fill_ratio"] == 1.0
    assert stats["pnl_quote"] == pytest.approx((3 * 4 + 1 * 3) * QPTL - fees)


def test_queue_model_choice_changes_results_only_through_cancels() -> None:
    ev = events([*BOOK, (3000, SELL_TRADE, 100, 11), END])
    a = run_script(ev, [(100, NEW, 1, 100, 2, 0, 0)], queue_model=QueueModel.RISK_AVERSE)
    b = run_script(ev, [(100, NEW, 1, 100, 2, 0, 0)], queue_model=QueueModel.PROBABILISTIC)
    assert fills(a) == fills(b) == [(3000, Side.BUY, 100, 1, MAKER)]
    assert np.array_equal(a.venue.fill_rows(), b.venue.fill_rows())


def test_amend_down_keeps_queue_priority_and_a_new_price_requeues() -> None:
    AMEND_ = 3
    ev = events(
        [
            *BOOK,
            (2000, BID, 100, 30),  # 20 lots join behind our 5-lot bid at 100
            (2500, BID, 99, 10),  # a level at 99 appears
            (6000, SELL_TRADE, 100, 12),  # 10 ahead of us at 100, then ours
            (7000, SELL_TRADE, 99, 12),  # 10 ahead of the re-queued order at 99
            END,
        ]
    )
    # order 1: 5 @ 100, amended to 3 @ 100 (keeps its place); order 2: 5 @ 100 moved to 99
    script = [
        (100, NEW, 1, 100, 5, 0, 0),
        (150, NEW, 1, 100, 5, 0, 0),
        (3000, AMEND_, 1, 100, 3, 0, 1),
        (3000, AMEND_, 1, 99, 5, 0, 2),
    ]
    bt = run_script(ev, script)
    assert bt.counters()["amends_sent"] == 2
    assert fills(bt) == [
        # at 100: 10 ahead of the amended order (it kept its place), then 2 of its 3 lots
        (6000, Side.BUY, 100, 2, MAKER),
        # at 99: the moved order joined behind 10 lots: 2 of its 5
        (7000, Side.BUY, 99, 2, MAKER),
        # and that trade at 99 went through 100: the rest of the amended order fills
        (7000, Side.BUY, 100, 1, MAKER),
    ]
    live = bt.view[bt.view["status"] != 0]
    assert list(live["client_order_id"]) == [2]
    assert live[0]["price_tick"] == 99
    assert live[0]["filled_lot"] == 2
    # risk reservations followed the amends: only the moved order's 3 lots stay reserved
    assert bt.rstate[0]["open_buy_lot"] == 3
    assert bt.rstate[0]["position_lot"] == 5


def test_cancel_all_cancels_every_order_of_the_instrument() -> None:
    CANCEL_ALL = 4
    ev = events([*BOOK, END])
    script = [
        (100, NEW, 1, 100, 1, 0, 0),
        (100, NEW, -1, 101, 1, 0, 0),
        (2000, CANCEL_ALL, 0, 0, 0, 0, 0),
    ]
    bt = run_script(ev, script)
    assert (bt.view["status"] == 0).all()
    assert bt.rstate[0]["open_orders"] == 0
    assert bt.venue.vs[4] == 0  # no active orders at the venue
    assert fills(bt) == []


def test_strategy_is_woken_once_per_message_after_its_last_row() -> None:
    # three messages: a two-row snapshot, a two-row diff (one level moves: delete, then add)
    # and a trade; only rows flagged BATCH_END close a message
    ev = events([(0, BID, 100, 10), (0, ASK, 101, 10), (1000, ASK, 101, 0),
                 (1000, ASK, 102, 10), (2000, SELL_TRADE, 100, 1)])  # fmt: skip
    ev["flags"] = [1, 1 | 2, 0, 2, 2]  # SNAPSHOT, SNAPSHOT | BATCH_END, -, BATCH_END, BATCH_END
    bt = run_script(ev, [])
    # mid-message the book is half-applied (here one-sided): the strategy must never see it
    assert bt.counters()["decide_calls"] == 3
