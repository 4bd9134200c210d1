"""Signed order entry end to end, for every venue, against its loopback order venue.

Each scenario runs the real adapter (signing, session, error mapping, user stream) against
``tests/support/order_venue.py`` speaking the venue's protocol on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import pytest

from bot.adapters.errors import UnknownOutcomeError
from bot.adapters.rest.clock import SAMPLES
from bot.adapters.trading import (
    AmendRequest,
    FillReport,
    NotSupportedError,
    OrderRejectedError,
    OrderReport,
    OrderRequest,
    RateLimitedError,
    RejectReason,
)
from bot.core.dtypes import OrderFlag, OrderStatus, Side
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES, SHORT_TIMEOUT_S, VenueKit

pytestmark = pytest.mark.asyncio
_ids = itertools.count(1)


@pytest.fixture(params=sorted(KIT_FACTORIES))
def kit(request: pytest.FixtureRequest) -> VenueKit:
    return KIT_FACTORIES[request.param]()


@pytest.fixture
async def venue(kit: VenueKit) -> AsyncIterator[tuple[OrderVenueServer, Any]]:
    async with OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters}) as server:
        entry = kit.entry(server)
        try:
            yield server, entry
        finally:
            await entry.close()


def cid() -> str:
    return f"t{next(_ids):06d}x"


def limit(
    kit: VenueKit, side: Side = Side.BUY, flags: OrderFlag = OrderFlag.NONE, **kw: Any
) -> OrderRequest:
    fields: dict[str, Any] = {
        "client_order_id": cid(),
        "symbol": kit.symbol,
        "side": side,
        "qty": kit.qty,
        "price": kit.price,
        "flags": flags,
    }
    fields.update(kw)
    return OrderRequest(**fields)


class StreamReader:
    """Collects a user stream's reports in the background."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.reports: list[OrderReport | FillReport] = []
        self.ended = asyncio.Event()
        self._changed = asyncio.Condition()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        try:
            async for report in self.stream.reports():
                self.reports.append(report)
                async with self._changed:
                    self._changed.notify_all()
        finally:
            self.ended.set()
            async with self._changed:
                self._changed.notify_all()

    async def wait(self, cond: Any, timeout_s: float = 5.0) -> None:
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(lambda: cond(self.reports))

    async def close(self) -> None:
        await self.stream.close()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.task


@pytest.fixture
async def reader(kit: VenueKit, venue: tuple[OrderVenueServer, Any]) -> AsyncIterator[StreamReader]:
    server, entry = venue
    before = server.stream_connections
    r = StreamReader(kit.stream(entry, server))
    await server.wait_streams(1)
    assert server.stream_connections == before + 1
    yield r
    await r.close()


def fills_of(reports: list[Any], client_order_id: str) -> list[FillReport]:
    return [
        r for r in reports if isinstance(r, FillReport) and r.client_order_id == client_order_id
    ]


def last_state(reports: list[Any], client_order_id: str) -> OrderStatus | None:
    states = [
        r.status
        for r in reports
        if isinstance(r, OrderReport) and r.client_order_id == client_order_id
    ]
    return states[-1] if states else None


async def test_submit_partial_fill_then_fill_on_the_user_stream(
    kit: VenueKit, venue: Any, reader: StreamReader
) -> None:
    server, entry = venue
    req = limit(kit)
    report = await entry.submit(req)
    assert report.client_order_id == req.client_order_id
    assert report.status == (OrderStatus.PENDING_NEW if kit.ack_only else OrderStatus.OPEN)
    assert server.orders[req.client_order_id].price is not None
    server.fill(req.client_order_id, "0.004")
    await reader.wait(
        lambda rs: last_state(rs, req.client_order_id) == OrderStatus.PARTIALLY_FILLED
    )
    server.fill(req.client_order_id, "0.006")
    await reader.wait(lambda rs: last_state(rs, req.client_order_id) == OrderStatus.FILLED)
    fills = fills_of(reader.reports, req.client_order_id)
    assert [D(f.qty) for f in fills] == [D("0.004"), D("0.006")]
    assert all(D(f.price) == D(kit.price) and f.side == Side.BUY for f in fills)
    assert len({f.trade_id for f in fills}) == 2
    final = await entry.query_order(kit.symbol, req.client_order_id)
    assert final is not None
    assert final.status == OrderStatus.FILLED
    assert D(final.filled_qty) == D("0.01")


async def test_duplicate_and_out_of_order_pushes_arrive_as_sent(
    kit: VenueKit, venue: Any, reader: StreamReader
) -> None:
    server, entry = venue
    req = limit(kit)
    await entry.submit(req)
    server.duplicate_fills = True
    server.hold_stream()
    server.fill(req.client_order_id, "0.004")
    server.fill(req.client_order_id, "0.006")
    server.release_stream(reverse=True)
    await reader.wait(lambda rs: len(fills_of(rs, req.client_order_id)) == 4)
    fills = fills_of(reader.reports, req.client_order_id)
    assert [D(f.qty) for f in fills] == [D(q) for q in ("0.006", "0.006", "0.004", "0.004")]
    assert len({f.trade_id for f in fills}) == 2


async def test_query_and_cancel(kit: VenueKit, venue: Any) -> None:
    server, entry = venue
    req = limit(kit)
    await entry.submit(req)
    got = await entry.query_order(kit.symbol, req.client_order_id)
    assert got is not None
    assert (got.status, got.qty, got.price) == (OrderStatus.OPEN, kit.qty, kit.price)
    assert await entry.query_order(kit.symbol, "neverseen1") is None
    assert [o.client_order_id for o in await entry.open_orders(kit.symbol)] == [req.client_order_id]
    cancelled = await entry.cancel(kit.symbol, req.client_order_id)
    acks = {OrderStatus.PENDING_CANCEL, OrderStatus.CANCELLED}
    assert cancelled.status in (acks if kit.ack_only else {OrderStatus.CANCELLED})
    assert server.orders[req.client_order_id].status == "CANCELED"
    with pytest.raises(OrderRejectedError) as e:
        await entry.cancel(kit.symbol, req.client_order_id)
    assert e.value.reason is RejectReason.UNKNOWN_ORDER


async def test_cancel_all_and_dead_man_switch(
    kit: VenueKit, venue: Any, reader: StreamReader
) -> None:
    server, entry = venue
    reqs = [limit(kit) for _ in range(3)]
    for req in reqs:
        await entry.submit(req)
    await entry.cancel_all(kit.symbol)
    assert all(server.orders[r.client_order_id].status == "CANCELED" for r in reqs)
    assert await entry.open_orders(kit.symbol) == []
    arms = server.dms_arms
    req = limit(kit)
    await entry.submit(req)
    if not entry.capabilities.dead_man_switch:
        with pytest.raises(NotSupportedError):
            await entry.arm_dead_man_switch(30)
        assert server.dms_arms == arms
    elif kit.dms_min_s:
        await entry.arm_dead_man_switch(kit.dms_min_s)
        assert server.dms_arms == arms + 1
        (deadline,) = server.dms.values()
        assert abs(deadline - server.now_ms() - kit.dms_min_s * 1000) < 2000
        if kit.dms_disarm:
            await entry.arm_dead_man_switch(0)
            assert server.dms == {}
    else:
        await entry.arm_dead_man_switch(0.2)
        assert server.dms_arms == arms + 1
        await entry.arm_dead_man_switch(0.2)  # refreshed
        assert server.dms_arms == arms + 2
        await reader.wait(lambda rs: last_state(rs, req.client_order_id) == OrderStatus.CANCELLED)
        assert server.orders[req.client_order_id].status == "CANCELED"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"price": "100.55"}, RejectReason.PRICE_FILTER),
        ({"qty": "0.0105"}, RejectReason.LOT_FILTER),
        ({"qty": "100000"}, RejectReason.INSUFFICIENT_MARGIN),
        ({"flags": OrderFlag.REDUCE_ONLY}, RejectReason.REDUCE_ONLY_REJECTED),
    ],
)
async def test_definite_refusals_are_typed(
    kit: VenueKit, venue: Any, change: dict[str, Any], reason: RejectReason
) -> None:
    server, entry = venue
    with pytest.raises(OrderRejectedError) as e:
        await entry.submit(limit(kit, **change))
    assert e.value.reason is reason
    assert server.orders == {}


async def test_post_only_that_would_cross(kit: VenueKit, venue: Any, reader: StreamReader) -> None:
    server, entry = venue
    server.set_market(kit.symbol, bid="100", ask="100.5")
    req = limit(kit, flags=OrderFlag.POST_ONLY)
    if kit.post_only_rejects:
        with pytest.raises(OrderRejectedError) as e:
            await entry.submit(req)
        assert e.value.reason is RejectReason.POST_ONLY_WOULD_CROSS
    else:
        await entry.submit(req)
        await reader.wait(lambda rs: last_state(rs, req.client_order_id) == OrderStatus.CANCELLED)
    assert fills_of(reader.reports, req.client_order_id) == []


async def test_marketable_orders_fill_as_taker(
    kit: VenueKit, venue: Any, reader: StreamReader
) -> None:
    server, entry = venue
    server.set_market(kit.symbol, bid="100", ask="100.5")
    ioc = limit(kit, flags=OrderFlag.IOC, price="101")
    market = limit(kit, side=Side.SELL, flags=OrderFlag.MARKET, price=None)
    for req in (ioc, market):
        await entry.submit(req)
        await reader.wait(lambda rs, r=req: last_state(rs, r.client_order_id) == OrderStatus.FILLED)
    assert [D(f.price) for f in fills_of(reader.reports, ioc.client_order_id)] == [D("100.5")]
    assert [D(f.price) for f in fills_of(reader.reports, market.client_order_id)] == [D(100)]
    position = await entry.position(kit.symbol)
    assert D(position.qty) == 0
    closing = limit(kit, side=Side.BUY, flags=OrderFlag.IOC, price="101")
    await entry.submit(closing)
    assert D((await entry.position(kit.symbol)).qty) == D(kit.qty)


@pytest.mark.parametrize("fault", ["timeout", "drop_ack", "http_500", "disconnect", "http_429"])
async def test_faults_on_submit_are_unknown_outcomes_never_rejections(
    kit: VenueKit, venue: Any, fault: str
) -> None:
    server, entry = venue
    req = limit(kit)
    server.fault("new", fault)
    # the deadline must pass for the silent faults; the others answer at once
    silent = fault in ("timeout", "drop_ack")
    sender = kit.entry(server, None, SHORT_TIMEOUT_S) if silent else entry
    try:
        with pytest.raises(UnknownOutcomeError) as e:
            await sender.submit(req)
    finally:
        if silent:
            await sender.close()
    assert not isinstance(e.value, OrderRejectedError)
    if fault == "http_429":
        assert isinstance(e.value, RateLimitedError)
        assert e.value.retry_after_s is not None
    assert server.plugin.api_secret not in str(e.value)
    settled = await entry.query_order(kit.symbol, req.client_order_id)
    if fault == "drop_ack":
        assert settled is not None
        assert settled.status == OrderStatus.OPEN
    else:
        assert settled is None
    assert server.calls["new"] == 1  # never retried inside the adapter
    after = await entry.submit(limit(kit))  # the next order goes through (a new connection)
    assert after.client_order_id in server.orders


async def test_timestamp_rejection_resyncs_the_clock_once(kit: VenueKit, venue: Any) -> None:
    server, entry = venue
    server.clock_skew_ms = 60_000
    before = server.calls["time"]
    results = await asyncio.gather(
        *(entry.submit(limit(kit)) for _ in range(4)), return_exceptions=True
    )
    assert all(
        isinstance(r, OrderRejectedError) and r.reason is RejectReason.TIMESTAMP for r in results
    )
    # one resync (SAMPLES round trips), not one per rejection
    assert server.calls["time"] - before == SAMPLES
    assert entry.clock.syncs == 1
    assert abs(entry.clock.offset_ms - 60_000) < 1000
    report = await entry.submit(limit(kit))
    assert report.client_order_id in server.orders


async def test_amend(kit: VenueKit, venue: Any) -> None:
    server, entry = venue
    req = limit(kit)
    await entry.submit(req)
    if not entry.capabilities.amend:
        with pytest.raises(NotSupportedError):
            await entry.amend(AmendRequest(req.client_order_id, kit.symbol, qty="0.02"))
        return
    await entry.amend(AmendRequest(req.client_order_id, kit.symbol, qty="0.02", price="100.4"))
    o = server.orders[req.client_order_id]
    assert (str(o.qty), str(o.price)) == ("0.02", "100.4")


async def test_balances_fills_and_usage(kit: VenueKit, venue: Any) -> None:
    server, entry = venue
    balances = await entry.balances()
    assert [b.asset for b in balances] == ["USDT"]
    assert balances[0].total == "1000000"
    server.set_market(kit.symbol, bid="100", ask="100.5")
    req = limit(kit, flags=OrderFlag.IOC, price="101")
    await entry.submit(req)
    fills = await entry.recent_fills(kit.symbol, 0)
    assert [(D(f.qty), D(f.price)) for f in fills] == [(D(kit.qty), D("100.5"))]


async def test_usage_figures_reach_the_router_hook(kit: VenueKit) -> None:
    if not kit.usage:
        pytest.skip(f"{kit.name} sends no usage headers")
    seen: list[Any] = []
    async with OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters}) as server:
        entry = kit.entry(server, seen.append)
        try:
            await entry.submit(limit(kit))
            await entry.submit(limit(kit))
        finally:
            await entry.close()
    assert len(seen) == 2
    assert all(isinstance(u, tuple) and u for u in seen)


async def test_user_stream_ends_when_the_venue_drops_it(
    kit: VenueKit, venue: Any, reader: StreamReader
) -> None:
    server, _entry = venue
    server.drop_streams()
    async with asyncio.timeout(5):
        await reader.ended.wait()
