"""Router scenarios on the ``sim`` venue: the order life cycle end to end, in real time."""

from __future__ import annotations

from pathlib import Path

from bot.core.dtypes import EventKind, OrderAction, OrderStatus, Side
from tests.support.asyncutil import eventually
from tests.unit.execution.simkit import book, intent, make_rig, trade

S = OrderStatus


async def test_submit_partial_fill_then_filled(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 10))
    await rig.router.start()
    assert rig.router.ready
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 5))
    assert coid > 0
    order = rig.router.orders[coid]
    assert rig.state[0]["open_buy_lot"] == 5
    assert rig.state[0]["open_orders"] == 1
    await eventually(lambda: order.status == S.OPEN, what="ack")
    rig.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 12))  # 10 ahead of us, then 2 of ours
    await eventually(lambda: order.status == S.PARTIALLY_FILLED, what="partial")
    assert order.filled_lot == 2
    assert rig.state[0]["position_lot"] == 2
    assert rig.state[0]["open_buy_lot"] == 3
    rig.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 3))
    await eventually(lambda: order.status == S.FILLED, what="filled")
    assert [int(f["qty_lot"]) for f in rig.rows.fills] == [2, 3]
    assert rig.rows.statuses(coid)[-1] == S.FILLED
    assert rig.state[0]["position_lot"] == 5
    assert rig.state[0]["open_buy_lot"] == 0
    assert rig.state[0]["open_orders"] == 0
    report = await rig.router.shutdown(deadline_s=5)
    assert report.ok
