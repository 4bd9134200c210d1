"""The order state machine: every edge, and the moves it refuses."""

from __future__ import annotations

import itertools

import pytest

from bot.core.dtypes import OrderFlag, OrderStatus, Side, VenueId
from bot.execution.orders import FINAL, LIVE, Order, apply_fill_status, can_move, transition

S = OrderStatus
ALL = [s for s in S if s != S.NONE]

# the table users rely on, written out independently of the module's
FORWARD = {
    (S.PENDING_NEW, s) for s in (S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL,
                                 S.CANCELLED, S.REJECTED, S.EXPIRED, S.UNKNOWN)
} | {
    (S.UNKNOWN, s) for s in (S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL,
                             S.CANCELLED, S.REJECTED, S.EXPIRED)
} | {
    (S.OPEN, s) for s in (S.PARTIALLY_FILLED, S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED)
} | {
    (S.PARTIALLY_FILLED, s) for s in (S.FILLED, S.PENDING_CANCEL, S.CANCELLED, S.EXPIRED)
} | {
    (S.PENDING_CANCEL, s)
    for s in (S.OPEN, S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED)
} | {(S.CANCELLED, S.FILLED), (S.EXPIRED, S.FILLED)}  # fmt: skip


def order(status: OrderStatus = S.PENDING_NEW, qty: int = 10) -> Order:
    return Order(
        coid=1, client_id="x", venue=VenueId.SIM, symbol="BTCUSDT", instrument=0,
        side=Side.BUY, flags=OrderFlag.NONE, price_tick=100, qty_lot=qty, status=status,
    )  # fmt: skip


@pytest.mark.parametrize(("old", "new"), list(itertools.product(ALL, ALL)))
def test_every_pair_of_statuses(old: OrderStatus, new: OrderStatus) -> None:
    o = order(old)
    moved = transition(o, new)
    assert moved == ((old, new) in FORWARD)
    assert o.status == (new if moved else old)


def test_final_statuses_never_return_to_live() -> None:
    for final in FINAL:
        for live in LIVE:
            assert not can_move(final, live)


def test_cancel_reject_returns_to_the_status_before_the_cancel() -> None:
    o = order(S.PARTIALLY_FILLED)
    transition(o, S.PENDING_CANCEL)
    assert o.before_cancel == S.PARTIALLY_FILLED
    assert transition(o, o.before_cancel)
    assert o.status == S.PARTIALLY_FILLED


def test_fill_after_cancel_counts_and_completes_the_order() -> None:
    o = order(S.CANCELLED, qty=10)
    o.filled_lot = 4
    assert not apply_fill_status(o)  # partial after cancel: size only
    assert o.status == S.CANCELLED
    o.filled_lot = 10
    assert apply_fill_status(o)
    assert o.status == S.FILLED


def test_partial_fill_keeps_a_cancel_in_flight() -> None:
    o = order(S.OPEN)
    transition(o, S.PENDING_CANCEL)
    o.filled_lot = 3
    assert not apply_fill_status(o)
    assert o.status == S.PENDING_CANCEL
    assert o.before_cancel == S.PARTIALLY_FILLED


def test_fill_of_an_unknown_order_proves_it_was_accepted() -> None:
    o = order(S.UNKNOWN)
    o.filled_lot = 3
    assert apply_fill_status(o)
    assert o.status == S.PARTIALLY_FILLED


def test_overfill_is_filled_and_leaves_nothing() -> None:
    o = order(S.OPEN, qty=5)
    o.filled_lot = 7
    assert apply_fill_status(o)
    assert o.status == S.FILLED
    assert o.leaves_lot == 0
