"""Regression tests of what ``make chaos`` found (``tests/chaos/``), each on the real adapter,
user stream and journal of a venue against its loopback order venue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.execution import AccountSettings
from tests.support.asyncutil import eventually
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES
from tests.support.router_rig import loopback_rig

pytestmark = pytest.mark.asyncio
FAST = AccountSettings(dead_man_timeout_s=60.0, request_timeout_s=1.0, not_found_after_s=0.3)


async def test_not_ready_until_the_reconnect_reconciliation_is_done(tmp_path: Path) -> None:
    """Chaos seed 22 (bybit-ws): a fill made while the user stream was down was still being
    fetched when the router reported ready again, so orders could be risk-checked against a
    position the venue had already moved."""
    kit = KIT_FACTORIES["bybit"]()
    async with OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters}) as server:
        rig = loopback_rig(tmp_path / "journal", kit, server, settings=FAST)
        await rig.router.start()
        assert rig.router.ready
        runs = rig.router.counters.reconciliations
        server.fault("open_orders", "timeout")  # the reconciliation's first call hangs
        server.drop_streams()
        await eventually(lambda: rig.router.counters.reconciliations > runs, 10, "reconciling")
        assert not rig.router.ready  # mid-reconciliation: the state is not checked yet
        await eventually(lambda: rig.router.ready, 20, "ready after a full reconciliation")
        assert (await rig.router.shutdown(deadline_s=10)).ok
