"""Router scenarios on the ``sim`` venue: the order life cycle end to end, in real time."""

from __future__ import annotations

from pathlib import Path

from bot.adapters.trading import OrderRequest, RateLimitedError
from bot.core.dtypes import EventKind, OrderAction, OrderStatus, Side
from bot.execution import REJECT_REASON_BASE, AccountSettings
from bot.execution.journal import replay
from tests.support.asyncutil import eventually
from tests.unit.execution.simkit import book, crash, intent, make_rig, trade

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
    assert [int(f["leaves_lot"]) for f in rig.rows.fills] == [3, 0]
    assert rig.rows.statuses(coid) == [S.OPEN, S.PARTIALLY_FILLED, S.FILLED]
    assert rig.state[0]["position_lot"] == 5
    assert rig.state[0]["open_buy_lot"] == 0
    assert rig.state[0]["open_orders"] == 0
    # the reply and the stream both reported the ack: applied once, never backwards
    assert rig.router.counters.orders[("new", "acked")] == 1
    report = await rig.router.shutdown(deadline_s=5)
    assert report.ok


async def test_cancel_racing_a_fill_does_not_resurrect_the_order(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 0))  # nothing ahead of us at 9990
    await rig.router.start()
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 4))
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.OPEN, what="ack")
    rejected = rig.router.counters.orders[("cancel", "rejected")]
    rig.send(intent(OrderAction.CANCEL, coid=coid))
    assert order.status == S.PENDING_CANCEL
    rig.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 4))  # fills before the cancel lands
    await eventually(lambda: order.status == S.FILLED, what="filled")
    await eventually(
        lambda: rig.router.counters.orders[("cancel", "rejected")] == rejected + 1,
        what="cancel reject",
    )
    await eventually(lambda: not order.settling, what="settled by query")
    assert order.status == S.FILLED
    assert S.CANCELLED not in rig.rows.statuses(coid)
    assert rig.state[0]["position_lot"] == 4
    assert rig.state[0]["open_orders"] == 0
    assert (await rig.router.shutdown(deadline_s=5)).ok


async def test_partial_fill_then_cancel_and_a_duplicate_fill_counts_once(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 0))
    await rig.router.start()
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 5))
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.OPEN, what="ack")
    rig.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 2))
    await eventually(lambda: order.filled_lot == 2, what="partial")
    rig.send(intent(OrderAction.CANCEL, coid=coid))
    await eventually(lambda: order.status == S.CANCELLED, what="cancelled")
    assert rig.state[0]["open_buy_lot"] == 0
    assert rig.state[0]["open_orders"] == 0
    dup = rig.router.counters.duplicate_fills
    acct = rig.router.accounts[order.venue]
    fills = await acct.entry.recent_fills("BTCUSDT", 0)  # what a REST poll would return
    assert [rig.router.apply_fill(acct, f, "reconcile") for f in fills] == [False]
    assert rig.router.counters.duplicate_fills == dup + 1
    assert rig.state[0]["position_lot"] == 2
    assert order.status == S.CANCELLED
    assert (await rig.router.shutdown(deadline_s=5)).ok


async def test_lost_reply_is_unknown_held_in_risk_and_settled_by_query(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, stream=False)  # no stream: only a query can tell
    rig.ex.on_events(book(0, 9990, 10010, 10))
    await rig.router.start()
    before = rig.router.counters.unknown_outcomes
    settled = rig.router.counters.unknown_settled
    rig.ex.faults.drop_replies = 1
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 5))
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.UNKNOWN, what="unknown outcome")
    assert rig.router.counters.unknown_outcomes == before + 1
    assert rig.state[0]["open_buy_lot"] == 5  # exposure still counted
    assert rig.state[0]["open_orders"] == 1
    assert S.REJECTED not in rig.rows.statuses(coid)
    await eventually(lambda: order.status == S.OPEN, what="settled by query")
    assert rig.router.counters.unknown_settled == settled + 1
    assert rig.state[0]["open_buy_lot"] == 5
    assert (await rig.router.shutdown(deadline_s=5)).ok


async def test_429_on_submit_is_unknown_blocks_new_orders_and_lets_cancels_out(
    tmp_path: Path,
) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 10))
    await rig.router.start()
    resting = rig.send(intent(OrderAction.NEW, Side.SELL, 10010, 1))
    await eventually(lambda: rig.router.orders[resting].status == S.OPEN, what="ack")
    rig.ex.faults.fail_before_send.append(RateLimitedError("429 Too Many Requests", 3.0))
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 5))
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.UNKNOWN, what="unknown, not rejected")
    lim = rig.router.accounts[rig.ex.venue_id].lim
    assert lim.blocked()
    refused = rig.router.counters.orders[("new", "refused")]
    assert rig.send(intent(OrderAction.NEW, Side.BUY, 9980, 1)) == 0
    assert rig.router.counters.orders[("new", "refused")] == refused + 1
    await eventually(lambda: rig.rows.updates[-1]["reason"] == 7, what="local refusal row")
    rig.send(intent(OrderAction.CANCEL, coid=resting))  # a cancel still goes out
    await eventually(lambda: rig.router.orders[resting].status == S.CANCELLED, what="cancel")
    # the venue never saw the 429'd order; once that is certain, it is closed (and released)
    await eventually(lambda: order.status == S.REJECTED, timeout_s=20, what="not found")
    assert not lim.blocked()  # queried only once Retry-After passed
    assert rig.rows.updates[-1]["reason"] >= REJECT_REASON_BASE
    assert rig.state[0]["open_buy_lot"] == 0
    assert (await rig.router.shutdown(deadline_s=5)).ok


async def test_restart_reconciles_open_orders_from_the_journal(tmp_path: Path) -> None:
    first = make_rig(tmp_path)
    first.ex.on_events(book(0, 9990, 10010, 0))
    await first.router.start()
    a = first.send(intent(OrderAction.NEW, Side.BUY, 9980, 3))
    b = first.send(intent(OrderAction.NEW, Side.BUY, 9990, 2))
    await eventually(
        lambda: all(first.router.orders[c].status == S.OPEN for c in (a, b)), what="acks"
    )
    cid_a, cid_b = first.router.orders[a].client_id, first.router.orders[b].client_id
    await crash(first)
    first.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 2))  # b fills while we are down
    second = make_rig(tmp_path, ex=first.ex)
    await second.router.start()
    restored = {o.client_id: o for o in second.router.orders.values()}
    assert restored[cid_a].status == S.OPEN  # still resting, tracked, not an orphan
    assert restored[cid_b].status == S.FILLED  # learned by query, fill from the venue
    assert restored[cid_b].filled_lot == 2
    assert second.state[0]["position_lot"] == 2
    assert second.state[0]["open_buy_lot"] == 3
    assert second.state[0]["open_orders"] == 1
    disc = second.router.counters.discrepancies
    assert disc["orphan_cancelled"] == 0
    assert disc["missed_fill"] == 1
    c = second.send(intent(OrderAction.NEW, Side.BUY, 9970, 1))
    assert c > max(a, b)  # the counter continues: no id is reused
    assert second.router.orders[c].client_id not in (cid_a, cid_b)
    await eventually(lambda: second.router.orders[c].status == S.OPEN, what="ack")
    assert (await second.router.shutdown(deadline_s=5)).ok
    assert not [r for r in first.ex.truth.values() if r.status in (S.OPEN, S.PARTIALLY_FILLED)]


async def test_orders_lost_from_the_journal_are_recognised_and_cancelled(tmp_path: Path) -> None:
    first = make_rig(tmp_path)
    first.ex.on_events(book(0, 9990, 10010, 0))
    await first.router.start()
    await crash(first)  # the journal holds the run, no orders
    entry = first.router.accounts[first.ex.venue_id].entry
    ours = first.router.ids.next()[1] if first.router.ids else ""
    await entry.submit(OrderRequest(ours, "BTCUSDT", Side.BUY, "0.002", "998.0"))
    await entry.submit(OrderRequest("web_manual1", "BTCUSDT", Side.SELL, "0.001", "1002.0"))
    second = make_rig(tmp_path, ex=first.ex)
    await second.router.start()
    assert second.router.counters.discrepancies["orphan_cancelled"] == 2
    await eventually(
        lambda: all(r.status == S.CANCELLED for r in first.ex.truth.values()), what="cancelled"
    )
    assert (await second.router.shutdown(deadline_s=5)).ok


async def test_orphans_adopted_when_configured(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, settings=AccountSettings(orphans="adopt", not_found_after_s=0.3))
    rig.ex.on_events(book(0, 9990, 10010, 0))
    entry = rig.router.accounts[rig.ex.venue_id].entry
    await entry.submit(OrderRequest("web_manual1", "BTCUSDT", Side.BUY, "0.004", "998.0"))
    await rig.router.start()
    adopted = [o for o in rig.router.orders.values() if o.client_id == "web_manual1"]
    assert len(adopted) == 1
    assert adopted[0].status == S.OPEN
    assert rig.state[0]["open_buy_lot"] == 4  # its exposure is in risk now
    assert rig.rows.statuses(adopted[0].coid) == [S.OPEN]  # the engine is told about it
    assert rig.router.counters.discrepancies["orphan_adopted"] == 1
    assert (await rig.router.shutdown(deadline_s=5)).ok


async def test_shutdown_cancels_everything_confirms_and_flushes(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 0))
    await rig.router.start()
    coids = [rig.send(intent(OrderAction.NEW, Side.BUY, 9900 + k, 1)) for k in range(5)]
    await eventually(lambda: all(rig.router.orders[c].status == S.OPEN for c in coids), what="acks")
    report = await rig.router.shutdown(deadline_s=5)
    assert report.ok
    assert report.open_left == 0
    assert report.elapsed_s < 5
    assert all(rig.router.orders[c].status == S.CANCELLED for c in coids)
    assert not [r for r in rig.ex.truth.values() if r.status == S.OPEN]
    assert rig.state[0]["open_orders"] == 0
    assert rig.send(intent(OrderAction.NEW, Side.BUY, 9900, 1)) == 0  # no quoting after
    last = replay(tmp_path).records[-1]
    assert last["t"] == "shutdown"
    assert last["phase"] == "end"
    assert last["open_left"] == 0


async def test_dead_man_switch_armed_refreshed_and_fires_when_refresh_stops(
    tmp_path: Path,
) -> None:
    settings = AccountSettings(dead_man_timeout_s=0.6, dead_man_refresh_s=0.1)
    rig = make_rig(tmp_path, settings=settings)
    rig.ex.on_events(book(0, 9990, 10010, 0))
    await rig.router.start()
    assert rig.router.states[rig.ex.venue_id].dead_man
    arms = rig.ex.dead_man_arms
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 1))
    await eventually(lambda: rig.router.orders[coid].status == S.OPEN, what="ack")
    await eventually(lambda: rig.ex.dead_man_arms >= arms + 3, what="refreshes")
    assert rig.ex.dead_man_fired == 0
    assert rig.router.counters.dead_man_refreshes >= 4
    await crash(rig)  # the process hangs: nobody refreshes
    await eventually(lambda: rig.ex.dead_man_fired == 1, what="dead-man fired")
    await eventually(
        lambda: all(r.status == S.CANCELLED for r in rig.ex.truth.values()), what="cancel-all"
    )


async def test_stream_reconnect_reconciles_what_was_missed(tmp_path: Path) -> None:
    rig = make_rig(tmp_path)
    rig.ex.on_events(book(0, 9990, 10010, 0))
    await rig.router.start()
    coid = rig.send(intent(OrderAction.NEW, Side.BUY, 9990, 3))
    order = rig.router.orders[coid]
    await eventually(lambda: order.status == S.OPEN, what="ack")
    runs = rig.router.counters.reconciliations
    rig.ex.disconnect_streams()
    rig.ex.on_events(trade(0, EventKind.TRADE_SELL, 9990, 3))  # pushed to nobody
    await eventually(lambda: rig.router.counters.reconciliations > runs, what="reconcile")
    await eventually(lambda: order.status == S.FILLED, what="filled via reconciliation")
    assert rig.state[0]["position_lot"] == 3
    assert rig.router.counters.discrepancies["missed_fill"] == 1
    assert rig.router.ready
    assert (await rig.router.shutdown(deadline_s=5)).ok
