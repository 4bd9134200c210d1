"""Pre-trade risk: each limit by hand, then random intent streams against the naive oracle."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.dtypes import OrderAction, OrderFlag, RiskReason, Side, empty_intents
from bot.core.risk import (
    check_intent,
    halt,
    make_limits,
    new_risk,
    on_amend,
    on_fill,
    on_order_closed,
    replace_limits,
)

from .naive import NaiveRisk

MID = 600_000.0  # 60,000.0 at tick 0.1
QPTL = 0.0001  # quote value of 1 tick x 1 lot (tick 0.1, lot 0.001)
LIMITS = dict(
    max_position_lot=10,
    max_order_lot=5,
    max_notional_quote=50.0,
    price_band_bps=50.0,
    max_open_orders=3,
    orders_per_s=2.0,
    burst=3.0,
)


def setup(**overrides: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    limits, state, counts = new_risk(1)
    limits[0] = make_limits(**{**LIMITS, **overrides})
    return limits, state, counts


def intent(
    action: int = OrderAction.NEW,
    side: int = Side.BUY,
    price: int = 600_000,
    qty: int = 1,
    flags: int = 0,
) -> np.ndarray:
    row = empty_intents(1)
    row["action"], row["side"], row["price_tick"], row["qty_lot"], row["flags"] = (
        action,
        side,
        price,
        qty,
        flags,
    )
    return row


def check(limits, state, counts, row, mid=MID, now=1_000) -> RiskReason:
    return RiskReason(check_intent(limits, state, counts, row, 0, mid, QPTL, now))


@pytest.mark.parametrize(
    ("row", "mid", "reason"),
    [
        (intent(qty=6), MID, RiskReason.MAX_ORDER_QTY),
        (intent(qty=0), MID, RiskReason.INVALID_ORDER),
        (intent(price=0), MID, RiskReason.INVALID_ORDER),
        (intent(side=0), MID, RiskReason.INVALID_ORDER),
        (intent(action=9), MID, RiskReason.INVALID_ORDER),
        (intent(), float("nan"), RiskReason.NO_REFERENCE_PRICE),
        (intent(price=603_100), MID, RiskReason.PRICE_BAND),  # 51.7 bps above mid
        (intent(price=597_000), MID, RiskReason.OK),  # exactly 50 bps below
    ],
)
def test_single_checks(row: np.ndarray, mid: float, reason: RiskReason) -> None:
    limits, state, counts = setup(max_notional_quote=1e9)
    assert check(limits, state, counts, row, mid) is reason
    assert counts[0, reason] == 1


def test_notional_uses_price_times_size_times_contract_value() -> None:
    limits, state, counts = setup()  # 1 lot at 60,000 = 60 quote > 50
    assert check(limits, state, counts, intent()) is RiskReason.MAX_NOTIONAL
    limits, state, counts = setup(max_notional_quote=60.0)
    assert check(limits, state, counts, intent()) is RiskReason.OK


def test_position_counts_open_orders_on_the_same_side() -> None:
    limits, state, counts = setup(max_notional_quote=1e9, max_open_orders=10, burst=10)
    assert check(limits, state, counts, intent(qty=5)) is RiskReason.OK
    assert check(limits, state, counts, intent(qty=5)) is RiskReason.OK
    assert check(limits, state, counts, intent(qty=1)) is RiskReason.MAX_POSITION
    # sells are checked against the short limit independently
    assert check(limits, state, counts, intent(side=Side.SELL, qty=5)) is RiskReason.OK
    on_fill(state, 0, 1, 5, True)  # one buy fills: position 5, open buys 5
    assert state[0]["position_lot"] == 5
    assert state[0]["open_buy_lot"] == 5
    on_order_closed(state, 0, 1, 5)  # the other buy is cancelled
    assert check(limits, state, counts, intent(qty=5)) is RiskReason.OK


def test_open_orders_and_amend() -> None:
    limits, state, counts = setup(max_notional_quote=1e9, burst=10)
    for _ in range(3):
        assert check(limits, state, counts, intent()) is RiskReason.OK
    assert check(limits, state, counts, intent()) is RiskReason.MAX_OPEN_ORDERS
    # an amend replaces an order, it does not add one
    assert check(limits, state, counts, intent(action=OrderAction.AMEND, qty=2)) is RiskReason.OK
    on_amend(state, 0, 1, 1, 2)
    assert state[0]["open_buy_lot"] == 4


def test_token_bucket_refills_with_time() -> None:
    limits, state, counts = setup(max_notional_quote=1e9, max_open_orders=100)
    now = 10**9
    assert [check(limits, state, counts, intent(), now=now) for _ in range(4)] == [
        RiskReason.OK,
        RiskReason.OK,
        RiskReason.OK,
        RiskReason.RATE_LIMIT,
    ]
    # 2 orders/s: half a second later one token is back
    assert check(limits, state, counts, intent(), now=now + 500_000_000) is RiskReason.OK
    assert check(limits, state, counts, intent(), now=now + 500_000_000) is RiskReason.RATE_LIMIT


def test_kill_switch_blocks_new_orders_but_never_cancels() -> None:
    limits, state, counts = setup(max_notional_quote=1e9, kill_switch=True)
    assert check(limits, state, counts, intent()) is RiskReason.KILL_SWITCH
    assert check(limits, state, counts, intent(action=OrderAction.CANCEL)) is RiskReason.OK
    assert check(limits, state, counts, intent(action=OrderAction.CANCEL_ALL)) is RiskReason.OK
    limits, state, counts = setup(max_notional_quote=1e9)
    halt(state)
    assert check(limits, state, counts, intent()) is RiskReason.KILL_SWITCH


def test_market_orders_use_mid_for_notional_and_skip_the_band() -> None:
    limits, state, counts = setup(max_notional_quote=1e9)
    row = intent(price=0, flags=OrderFlag.MARKET)
    assert check(limits, state, counts, row) is RiskReason.OK


def test_limits_are_replaced_between_events() -> None:
    limits, state, counts = setup(max_notional_quote=1e9)
    assert check(limits, state, counts, intent(qty=5)) is RiskReason.OK
    tighter = limits.copy()
    tighter[0] = make_limits(**{**LIMITS, "max_order_lot": 2, "max_notional_quote": 1e9})
    replace_limits(limits, tighter)
    assert check(limits, state, counts, intent(qty=3)) is RiskReason.MAX_ORDER_QTY
    with pytest.raises(ValueError, match="same shape"):
        replace_limits(limits, np.zeros(2, dtype=limits.dtype))


def test_bad_limits_are_rejected_naming_the_field() -> None:
    with pytest.raises(ValueError, match="max_order_lot"):
        make_limits(**{**LIMITS, "max_order_lot": 0})


intents = st.lists(
    st.tuples(
        st.sampled_from([1, 1, 1, 2, 3, 4, 7]),  # action (7 invalid)
        st.sampled_from([1, -1, 1, -1, 0]),
        st.integers(min_value=-5, max_value=1_210_000),
        st.integers(min_value=-1, max_value=8),
        st.booleans(),  # market
        st.sampled_from([MID, MID, 300_000.0, float("nan")]),
        st.integers(min_value=0, max_value=2_000_000_000),  # time step
        st.sampled_from([None, None, "fill", "close"]),  # what happens to the order next
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=200, deadline=None)
@given(stream=intents, kill=st.booleans())
def test_random_intent_streams_match_the_oracle(stream: list, kill: bool) -> None:
    limits, state, counts = setup(max_notional_quote=400.0, kill_switch=kill)
    naive = NaiveRisk(10, 5, 400.0, 50.0, 3, 2.0, 3.0, kill=kill)
    expected_counts = np.zeros_like(counts)
    now = 0
    for action, side, price, qty, market, mid, step, then in stream:
        now += step
        row = intent(action, side, price, qty, OrderFlag.MARKET if market else 0)
        got = check(limits, state, counts, row, mid, now)
        want = naive.check(action, side, price, qty, market, mid, QPTL, now)
        assert got == want
        expected_counts[0, want] += 1
        if got == RiskReason.OK and action == 1 and then is not None:
            if then == "fill":
                on_fill(state, 0, side, qty, True)
                naive.position += side * qty
            else:
                on_order_closed(state, 0, side, qty)
            naive.open_orders -= 1
            if side == 1:
                naive.open_buy -= qty
            else:
                naive.open_sell -= qty
        assert state[0]["position_lot"] == naive.position
        assert state[0]["open_buy_lot"] == naive.open_buy
        assert state[0]["open_sell_lot"] == naive.open_sell
        assert state[0]["open_orders"] == naive.open_orders
    assert (counts == expected_counts).all()
