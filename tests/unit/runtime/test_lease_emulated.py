"""The single-active Lease against an emulated Kubernetes API server on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from kubernetes import client

from bot.config.schema import LeaseSection
from bot.lease import LeaseKeeper
from tests.support.asyncutil import eventually
from tests.support.kube_api import EmulatedLeaseApi

SECTION = LeaseSection(
    enabled=True, name="tickbot", namespace="trading", identity="pod-a",
    duration_s=1.5, renew_every_s=0.1, api_timeout_s=0.5,
)  # fmt: skip


@pytest.fixture
async def api() -> AsyncIterator[tuple[EmulatedLeaseApi, client.ApiClient]]:
    server = EmulatedLeaseApi()
    url = await server.start()
    api_client = client.ApiClient(client.Configuration(host=url))
    try:
        yield server, api_client
    finally:
        await server.stop()


class Events:
    def __init__(self) -> None:
        self.acquired = 0
        self.lost: list[str] = []


async def _keeper(api_client: client.ApiClient, identity: str, events: Events) -> LeaseKeeper:
    section = LeaseSection(**{**{f: getattr(SECTION, f) for f in SECTION.__struct_fields__},
                              "identity": identity})  # fmt: skip
    return LeaseKeeper(
        section,
        api=api_client,
        on_acquired=lambda: setattr(events, "acquired", events.acquired + 1),
        on_lost=events.lost.append,
    )


async def test_emulated_api_lease_is_created_held_and_renewed(api) -> None:  # type: ignore[no-untyped-def]
    server, api_client = api
    events = Events()
    keeper = await _keeper(api_client, "pod-a", events)
    task = asyncio.create_task(keeper.run())
    try:
        await eventually(lambda: keeper.held, what="lease acquired")
        assert events.acquired == 1
        assert server.holder("trading", "tickbot") == "pod-a"
        version = server.leases[("trading", "tickbot")]["metadata"]["resourceVersion"]
        await eventually(
            lambda: server.leases[("trading", "tickbot")]["metadata"]["resourceVersion"] != version,
            what="renewal",
        )
        assert keeper.held
        assert not events.lost
    finally:
        task.cancel()


async def test_emulated_api_second_instance_waits_then_takes_an_expired_lease(api) -> None:  # type: ignore[no-untyped-def]
    server, api_client = api
    a_events, b_events = Events(), Events()
    a = await _keeper(api_client, "pod-a", a_events)
    b = await _keeper(api_client, "pod-b", b_events)
    ta = asyncio.create_task(a.run())
    await eventually(lambda: a.held)
    tb = asyncio.create_task(b.run())
    try:
        await eventually(lambda: sum(1 for m, _ in server.requests if m == "GET") > 10)
        assert not b.held  # a renews: b never gets it
        ta.cancel()  # a dies without releasing; the lease expires
        await eventually(lambda: b.held, timeout_s=10, what="b takes over after expiry")
        assert server.holder("trading", "tickbot") == "pod-b"
        assert server.leases[("trading", "tickbot")]["spec"]["leaseTransitions"] == 1
    finally:
        ta.cancel()
        tb.cancel()


async def test_emulated_api_another_holder_means_lost_at_once(api) -> None:  # type: ignore[no-untyped-def]
    server, api_client = api
    events = Events()
    keeper = await _keeper(api_client, "pod-a", events)
    task = asyncio.create_task(keeper.run())
    try:
        await eventually(lambda: keeper.held)
        server.take_over("trading", "tickbot", "pod-z")
        await eventually(lambda: bool(events.lost), what="loss noticed")
        assert events.lost == ["another holder"]
        assert not keeper.held
    finally:
        task.cancel()


async def test_emulated_api_outage_past_the_deadline_loses_the_lease(api) -> None:  # type: ignore[no-untyped-def]
    server, api_client = api
    events = Events()
    keeper = await _keeper(api_client, "pod-a", events)
    task = asyncio.create_task(keeper.run())
    try:
        await eventually(lambda: keeper.held)
        server.failing = True
        await eventually(lambda: bool(events.lost), timeout_s=10, what="deadline passed")
        assert events.lost == ["renewal failed past the deadline"]
        server.failing = False
        await eventually(lambda: keeper.held, timeout_s=10, what="reacquired after outage")
        assert events.acquired == 2
    finally:
        task.cancel()
