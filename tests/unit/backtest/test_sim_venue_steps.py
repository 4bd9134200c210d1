"""The simulated venue used step by step (as the live ``sim`` venue will), and funding."""

from __future__ import annotations

import numpy as np
import pytest

from bot.backtest.engine import EngineOptions
from bot.backtest.sim_match import mid_tick
from bot.backtest.sim_types import A_FUNDING, I_POSITION, QueueModel, ResponseKind
from bot.backtest.sim_venue import SimVenue
from bot.core.dtypes import EventKind, OrderStatus
from tests.unit.backtest.helpers import ASK, BID, NEW, SELL_TRADE, SPEC, events, limits, scripted


def _venue(latency_ns: int = 1000) -> SimVenue:
    return SimVenue(
        1,
        quote_per_tick_lot=np.array([1e-4]),
        maker_fee=np.array([0.0]),
        taker_fee=np.array([0.0]),
        lat_in_ns=np.array([latency_ns]),
        lat_out_ns=np.array([latency_ns]),
        queue_model=QueueModel.RISK_AVERSE,
    )


def test_step_by_step_order_ack_fill_and_responses_in_time_order() -> None:
    v = _venue()
    for row in events([(0, BID, 100, 10), (0, ASK, 101, 10)]):
        v.market_event(row)
    v.send(now_ns=100, action=NEW, side=1, inst=0, client_order_id=7, price_tick=100, qty_lot=2)
    assert v.responses_until(10_000).shape[0] == 0  # nothing reached the venue yet
    v.process_until(1100)  # arrives at 1100: acked, resting behind 10 lots
    acks = v.responses_until(2100)
    assert [(r["kind"], r["status"], r["client_order_id"]) for r in acks] == [
        (ResponseKind.ORDER, OrderStatus.OPEN, 7)
    ]
    v.market_event(events([(3000, SELL_TRADE, 100, 11)])[0])  # 10 ahead, then 1 of ours
    assert v.responses_until(3999).shape[0] == 0  # the fill is still on its way
    fills = v.responses_until(4000)
    assert [(r["kind"], r["status"], r["qty_lot"], r["leaves_lot"]) for r in fills] == [
        (ResponseKind.FILL, OrderStatus.PARTIALLY_FILLED, 1, 1)
    ]
    assert v.iacct[0, I_POSITION] == 1
    assert mid_tick(v.xstate, 0) == pytest.approx(100.5)


def test_funding_is_charged_on_position_times_mark_times_rate() -> None:
    from bot.backtest.engine import Backtest

    ev = events(
        [
            (0, BID, 100, 10),
            (0, ASK, 101, 10),
            (2000, SELL_TRADE, 99, 50),  # fills our 4-lot buy at 100
            (3000, EventKind.MARK_PRICE, 120, 0),
            (4000, EventKind.FUNDING_RATE, 0, 0),  # aux set below: +0.01 %
            (9000, ASK, 101, 9),
        ]
    )
    ev[4]["aux"] = 100_000  # rate * 1e9
    opts = EngineOptions(lat_in_ns=np.array([1000]), lat_out_ns=np.array([1000]), funding=True)
    bt = Backtest(ev, [SPEC], scripted, [(100, NEW, 1, 100, 4, 0, 0)], [0], limits(), opts)
    bt.run()
    # long 4 lots, mark 120 ticks, 1e-4 quote per tick-lot: pays 4 * 120 * 1e-4 * 1e-4
    assert bt.venue.acct[0, A_FUNDING] == pytest.approx(4 * 120 * 1e-4 * 1e-4)
    off = Backtest(
        ev, [SPEC], scripted, [(100, NEW, 1, 100, 4, 0, 0)], [0], limits(),
        EngineOptions(lat_in_ns=np.array([1000]), lat_out_ns=np.array([1000])),
    )  # fmt: skip
    off.run()
    assert off.venue.acct[0, A_FUNDING] == 0.0


def test_measured_latencies_are_used_in_turn_and_never_reorder() -> None:
    v = SimVenue(
        1,
        quote_per_tick_lot=np.array([1e-4]),
        maker_fee=np.array([0.0]),
        taker_fee=np.array([0.0]),
        lat_in_ns=np.array([3000, 1000, 2000]),
        lat_out_ns=np.array([500]),
    )
    for row in events([(0, BID, 100, 10), (0, ASK, 101, 10)]):
        v.market_event(row)
    for k, t in enumerate((100, 200, 300)):
        v.send(now_ns=t, action=NEW, side=1, inst=0, client_order_id=k + 1, price_tick=99,
               qty_lot=1)  # fmt: skip
    # arrivals: 100 + 3000 = 3100; 200 + 1000 = 1200 -> held behind the first: 3100;
    # 300 + 2000 = 2300 -> 3100 as well (one ordered connection)
    assert list(v.req["ts_ns"][:3]) == [3100, 3100, 3100]
    v.process_until(3100)
    acks = v.responses_until(10_000)
    assert list(acks["client_order_id"]) == [1, 2, 3]
    assert list(acks["ts_ns"]) == [3600, 3600, 3600]


IOC_FLAG = 4
UNKNOWN_TRADE = EventKind.TRADE_UNKNOWN


def _fills_of(v: SimVenue, coid: int) -> int:
    rows = v.fill_rows()
    return int(rows["qty_lot"][rows["client_order_id"] == coid].sum())


def test_own_taking_consumes_the_level_until_the_feed_updates_it() -> None:
    v = _venue()
    for row in events([(0, BID, 100, 10), (0, ASK, 101, 3), (0, ASK, 102, 50)]):
        v.market_event(row)
    ioc = {"action": NEW, "side": 1, "inst": 0, "price_tick": 101, "flags": IOC_FLAG}
    v.send(now_ns=100, client_order_id=1, qty_lot=3, **ioc)
    v.send(now_ns=200, client_order_id=2, qty_lot=3, **ioc)
    v.process_until(5000)
    assert _fills_of(v, 1) == 3
    assert _fills_of(v, 2) == 0  # the 3 lots at 101 were ours already: nothing left to take
    v.market_event(events([(6000, ASK, 101, 3)])[0])  # the feed restates the level
    v.send(now_ns=6000, client_order_id=3, qty_lot=3, **ioc)
    v.process_until(8000)
    assert _fills_of(v, 3) == 3


@pytest.mark.parametrize(
    ("trade_px", "side", "order_px", "filled"),
    [
        (101, -1, 101, 2),  # at the best ask: a buyer took, our ask at 101 is reached
        (100, 1, 100, 2),  # at the best bid: a seller, our bid at 100 is reached
        (101, 1, 100, 0),  # a buy never fills a bid
        (100, -1, 101, 0),  # a sell never fills an ask
    ],
)
def test_unknown_side_trade_advances_queues_by_its_price(
    trade_px: int, side: int, order_px: int, filled: int
) -> None:
    v = _venue()
    for row in events([(0, BID, 100, 5), (0, ASK, 101, 5)]):
        v.market_event(row)
    v.send(now_ns=0, action=NEW, side=side, inst=0, client_order_id=9, price_tick=order_px,
           qty_lot=2)  # fmt: skip
    v.process_until(1000)  # rests behind 5 lots
    v.market_event(events([(2000, UNKNOWN_TRADE, trade_px, 7)])[0])
    assert _fills_of(v, 9) == filled


def test_unknown_side_trade_inside_the_spread_takes_the_side_of_the_mid() -> None:
    v = _venue()
    for row in events([(0, BID, 100, 5), (0, ASK, 110, 5)]):
        v.market_event(row)
    v.send(now_ns=0, action=NEW, side=-1, inst=0, client_order_id=1, price_tick=107, qty_lot=1)
    v.send(now_ns=0, action=NEW, side=1, inst=0, client_order_id=2, price_tick=103, qty_lot=1)
    v.process_until(1000)  # both inside the spread, first in their queues
    v.market_event(events([(2000, UNKNOWN_TRADE, 105, 1)])[0])  # at the mid: no side
    assert (_fills_of(v, 1), _fills_of(v, 2)) == (0, 0)
    v.market_event(events([(3000, UNKNOWN_TRADE, 107, 1)])[0])  # above the mid: a buy
    assert (_fills_of(v, 1), _fills_of(v, 2)) == (1, 0)
    v.market_event(events([(4000, UNKNOWN_TRADE, 103, 1)])[0])  # below the mid: a sell
    assert (_fills_of(v, 1), _fills_of(v, 2)) == (1, 1)
