"""The router's scenarios on every venue: the real adapter and user stream against the venue's
loopback order venue (``tests/support/order_venue.py``), through ``bot.execution.Router``.

Each scenario of issue 10 runs for every kit (the six venues, Binance and Bybit over both REST
and WebSocket order entry): submit -> partial -> fill (duplicate pushes counted once); a cancel
racing a fill; unknown outcomes (timeout, dropped ack, 5xx, 429) held in risk and settled by
query; a restart with open orders reconciled from the journal; a user-stream reconnect
reconciling what was missed; shutdown cancelling everything within its deadline; the dead-man
switch armed and refreshed (and firing where the venue accepts a short window).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.dtypes import OrderAction, OrderStatus, Side
from bot.execution import AccountSettings
from bot.execution.journal import replay
from tests.support.asyncutil import eventually
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES, VenueKit
from tests.support.router_rig import LoopbackRig, crash, intent, loopback_rig

pytestmark = pytest.mark.asyncio
S = OrderStatus
SETTLE_S = 30.0
"""Deadline of settling by query: back-off 0.2 s doubling, after a venue's Retry-After."""
FAST = AccountSettings(
    dead_man_timeout_s=60.0, request_timeout_s=1.0, not_found_after_s=0.3
)  # a short router deadline makes the silent faults (timeout, dropped ack) unknown quickly


@pytest.fixture(params=sorted(KIT_FACTORIES))
def kit(request: pytest.FixtureRequest) -> VenueKit:
    return KIT_FACTORIES[request.param]()


@pytest.fixture
async def server(kit: VenueKit) -> AsyncIterator[OrderVenueServer]:
    async with OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters}) as s:
        yield s


async def started(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer, settings: AccountSettings = FAST
) -> LoopbackRig:
    rig = loopback_rig(tmp_path / "journal", kit, server, settings=settings)
    await rig.router.start()
    assert rig.router.ready
    return rig


def buy(rig: LoopbackRig, price: str | None = None, qty: str | None = None) -> int:
    px = rig.ticks(price or rig.kit.price)
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, px, rig.lots(qty or rig.kit.qty)), px)
    assert coid > 0
    return coid


async def close_adapters(rig: LoopbackRig) -> None:
    """What the OS does to a killed process's sockets."""
    if rig.stream is not None:
        await rig.stream.close()
    await rig.entry.close()


async def test_submit_partial_then_fill_counts_each_fill_once(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    rig = await started(tmp_path, kit, server)
    coid = buy(rig)
    order = rig.router.orders[coid]
    qty = rig.lots(kit.qty)
    assert rig.state[0]["open_buy_lot"] == qty
    await eventually(lambda: order.status == S.OPEN, what="ack")
    server.duplicate_fills = True  # every fill pushed twice
    dup = rig.router.counters.duplicate_fills
    server.fill(order.client_id, "0.004")
    await eventually(lambda: order.status == S.PARTIALLY_FILLED, what="partial")
    await eventually(lambda: rig.router.counters.duplicate_fills == dup + 1, what="dup dropped")
    assert order.filled_lot == rig.lots("0.004")
    assert rig.state[0]["position_lot"] == rig.lots("0.004")
    server.fill(order.client_id, "0.006")
    await eventually(lambda: order.status == S.FILLED, what="filled")
    await eventually(lambda: rig.router.counters.duplicate_fills == dup + 2, what="dup dropped")
    assert [int(f["qty_lot"]) for f in rig.rows.fills] == [rig.lots("0.004"), rig.lots("0.006")]
    assert [int(f["leaves_lot"]) for f in rig.rows.fills] == [rig.lots("0.006"), 0]
    assert rig.state[0]["position_lot"] == qty
    assert rig.state[0]["open_buy_lot"] == 0
    assert rig.state[0]["open_orders"] == 0
    statuses = rig.rows.statuses(coid)
    assert statuses[-1] == S.FILLED
    assert statuses == sorted(statuses, key=[S.OPEN, S.PARTIALLY_FILLED, S.FILLED].index)
    assert (await rig.router.shutdown(deadline_s=10)).ok


async def test_cancel_racing_a_fill_never_resurrects_the_order(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    rig = await started(tmp_path, kit, server)
    coid = buy(rig)
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.OPEN, what="ack")
    server.hold_stream()  # the venue fills it; the push is still on its way
    server.fill(order.client_id, kit.qty)
    rig.send(intent(OrderAction.CANCEL, coid=coid))
    assert order.status == S.PENDING_CANCEL
    await eventually(lambda: order.status == S.FILLED, SETTLE_S, "filled, learned by query")
    assert rig.state[0]["open_orders"] == 0
    server.release_stream()  # the late fill and order pushes
    await eventually(lambda: len(rig.rows.fills) == 1, what="the fill, once")
    assert rig.state[0]["position_lot"] == rig.lots(kit.qty)
    assert order.status == S.FILLED
    assert S.CANCELLED not in rig.rows.statuses(coid)
    assert (await rig.router.shutdown(deadline_s=10)).ok


@pytest.mark.parametrize("fault", ["timeout", "drop_ack", "http_500", "disconnect", "http_429"])
async def test_unknown_outcome_is_held_in_risk_and_settled_by_query(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer, fault: str
) -> None:
    rig = await started(tmp_path, kit, server)
    qty = rig.lots(kit.qty)
    unknown, settled = rig.router.counters.unknown_outcomes, rig.router.counters.unknown_settled
    server.fault("new", fault)
    coid = buy(rig)
    order = rig.router.orders[coid]
    await eventually(
        lambda: rig.router.counters.unknown_outcomes == unknown + 1, SETTLE_S, "unknown"
    )
    if order.status == S.UNKNOWN:  # a fast stream push may already have told
        assert rig.state[0]["open_buy_lot"] == qty  # the exposure still counts
        assert rig.state[0]["open_orders"] == 1
    placed = fault == "drop_ack"  # the venue took it but the answer was lost
    final = S.OPEN if placed else S.REJECTED
    await eventually(lambda: order.status == final, SETTLE_S, f"settled as {final.name}")
    assert rig.router.counters.unknown_settled >= settled + (0 if placed else 1)
    assert (order.client_id in server.orders) is placed
    assert rig.state[0]["open_buy_lot"] == (qty if placed else 0)
    assert S.REJECTED not in rig.rows.statuses(coid)[:-1]  # never rejected before proof
    assert server.calls["new"] == 1  # never resent
    assert (await rig.router.shutdown(deadline_s=10)).ok
    assert not [o for o in server.orders.values() if o.status in ("NEW", "PARTIALLY_FILLED")]


async def test_restart_reconciles_open_orders_from_the_journal(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    first = await started(tmp_path, kit, server)
    a = buy(first, price="100.4")
    b = buy(first)
    await eventually(
        lambda: all(first.router.orders[c].status == S.OPEN for c in (a, b)), what="acks"
    )
    cid_a, cid_b = first.router.orders[a].client_id, first.router.orders[b].client_id
    await crash(first)
    await close_adapters(first)
    server.fill(cid_b, kit.qty)  # while the bot is down: pushed to nobody
    second = await started(tmp_path, kit, server)
    restored = {o.client_id: o for o in second.router.orders.values()}
    assert restored[cid_a].status == S.OPEN  # still resting: tracked, not an orphan
    assert restored[cid_b].status == S.FILLED  # learned from the venue
    qty = second.lots(kit.qty)
    assert second.state[0]["position_lot"] == qty
    assert second.state[0]["open_buy_lot"] == qty
    assert second.state[0]["open_orders"] == 1
    disc = second.router.counters.discrepancies
    assert disc["orphan_cancelled"] == 0
    assert disc["vanished"] == 0
    c = buy(second, price="100.3")
    assert c > max(a, b)  # the counter continues: no id is reused
    await eventually(lambda: second.router.orders[c].status == S.OPEN, what="ack")
    report = await second.router.shutdown(deadline_s=10)
    assert report.ok
    assert server.orders[cid_a].status == "CANCELED"
    assert server.orders[second.router.orders[c].client_id].status == "CANCELED"


async def test_stream_reconnect_reconciles_what_was_missed(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    rig = await started(tmp_path, kit, server)
    coid = buy(rig)
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.OPEN, what="ack")
    server.fill(order.client_id, "0.004")  # delivered by the stream
    await eventually(lambda: order.status == S.PARTIALLY_FILLED, what="partial")
    runs = rig.router.counters.reconciliations
    connections = server.stream_connections
    server.drop_streams()
    server.fill(order.client_id, "0.006")  # pushed to nobody
    await eventually(lambda: server.stream_connections > connections, 10, "reconnected")
    await eventually(lambda: rig.router.counters.reconciliations > runs, 10, "reconciled")
    await eventually(lambda: order.status == S.FILLED, 10, "filled via reconciliation")
    missed = rig.router.counters.discrepancies
    await eventually(lambda: missed["missed_fill"] == 1, 10, "the missed fill applied")
    assert rig.state[0]["position_lot"] == rig.lots(kit.qty)  # each fill once, either source
    await eventually(lambda: rig.router.ready, what="ready again")
    assert (await rig.router.shutdown(deadline_s=10)).ok


async def test_shutdown_cancels_everything_within_the_deadline(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    rig = await started(tmp_path, kit, server)
    coids = [buy(rig, price=p) for p in ("100.1", "100.2", "100.3")]
    await eventually(lambda: all(rig.router.orders[c].status == S.OPEN for c in coids), what="acks")
    report = await rig.router.shutdown(deadline_s=5)
    assert report.ok
    assert report.open_left == 0
    assert report.elapsed_s < 5
    assert all(rig.router.orders[c].status == S.CANCELLED for c in coids)
    assert all(server.orders[rig.router.orders[c].client_id].status == "CANCELED" for c in coids)
    assert rig.state[0]["open_orders"] == 0
    assert rig.send(intent(OrderAction.NEW, Side.BUY, rig.ticks(kit.price), 1)) == 0
    last = replay(tmp_path / "journal").records[-1]
    assert (last["t"], last["phase"], last["open_left"]) == ("shutdown", "end", 0)


async def test_dead_man_switch_armed_and_refreshed(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer, caplog: pytest.LogCaptureFixture
) -> None:
    timeout_s = kit.dms_min_s or 0.6
    settings = AccountSettings(dead_man_timeout_s=timeout_s, dead_man_refresh_s=0.1)
    caplog.set_level(logging.INFO, logger="bot.execution")
    arms = server.dms_arms
    rig = await started(tmp_path, kit, server, settings)
    state = rig.router.states[rig.entry.venue]
    if not rig.entry.capabilities.dead_man_switch:
        assert not state.dead_man
        assert server.dms_arms == arms
        assert any("has no dead-man switch" in r.getMessage() for r in caplog.records)
        assert (await rig.router.shutdown(deadline_s=10)).ok
        return
    assert state.dead_man
    coid = buy(rig)
    await eventually(lambda: rig.router.orders[coid].status == S.OPEN, what="ack")
    await eventually(lambda: server.dms_arms >= arms + 4, 10, "refreshed")
    (deadline,) = server.dms.values()
    assert abs(deadline - server.now_ms() - timeout_s * 1000) < 2000
    await eventually(lambda: rig.router.counters.dead_man_refreshes >= 4, what="refreshes")
    if kit.dms_min_s:  # a window of 10 s or more: refreshing is what the test can see
        assert (await rig.router.shutdown(deadline_s=10)).ok
        return
    cid = rig.router.orders[coid].client_id
    await crash(rig)  # the process hangs: nobody refreshes
    await eventually(lambda: server.orders[cid].status == "CANCELED", 10, "dead-man fired")
    await close_adapters(rig)
