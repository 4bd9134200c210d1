"""A canary secret and passphrase run through every order path of every venue and never show.

Each venue's loopback server verifies signatures made with a fresh canary secret (and canary
passphrase on OKX and Bitget). The router trades through the real adapter and user stream:
start-up (journal, reconciliation, dead-man switch), new orders, a partial fill, cancels,
unknown outcomes (5xx, 429, a timeout) settled by query, shutdown; then an adapter holding the
canary but refused by the venue (auth errors). Captured: every log record (message, arguments
and traceback) at DEBUG from every logger, every exception's text, repr and traceback, the reprs
of the credentials, adapters, their attributes, the router and its counters, every journal
byte, and the test's own stdout/stderr. The canary must appear in none of them.
"""

from __future__ import annotations

import logging
import secrets
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.adapters.errors import AdapterError
from bot.adapters.trading import Credentials, OrderRejectedError, OrderRequest, RejectReason
from bot.core.dtypes import OrderAction, OrderStatus, Side
from bot.execution import AccountSettings
from bot.execution.journal import journal_files
from tests.support.asyncutil import eventually
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES, VenueKit
from tests.support.router_rig import intent, loopback_rig

pytestmark = pytest.mark.asyncio
S = OrderStatus


class Capture(logging.Handler):
    """Keeps every record's full text: message, raw arguments and formatted traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.fmt = logging.Formatter("%(name)s %(levelname)s %(message)s")

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(self.fmt.format(record))
        self.texts.append(repr(record.args))
        if record.exc_info and record.exc_info[1] is not None:
            self.texts.extend(traceback.format_exception(record.exc_info[1]))


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def exception_texts(e: BaseException) -> list[str]:
    return [str(e), repr(e), *traceback.format_exception(e)]


def attribute_reprs(obj: Any) -> list[str]:
    """The repr of an object and of each of its attributes (signers, sessions, settings).

    Not for ``Credentials`` or a signer: their attributes are the secret itself."""
    out = [repr(obj), str(obj)]
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        names.extend(getattr(cls, "__slots__", ()))
    for name in names:
        value = getattr(obj, name, None)
        out.append(repr(value))
    return out


@pytest.mark.parametrize("venue", sorted(KIT_FACTORIES))
async def test_canary_secret_never_appears(
    tmp_path: Path,
    venue: str,
    capture: Capture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    kit: VenueKit = KIT_FACTORIES[venue]()
    canary = f"canary-secret-{secrets.token_hex(12)}"
    canary_pass = f"canary-pass-{secrets.token_hex(8)}"
    plugin = kit.plugin()
    plugin.api_secret = canary
    if plugin.passphrase is not None:
        plugin.passphrase = canary_pass
    texts: list[str] = []
    async with OrderVenueServer(plugin, {kit.symbol: kit.filters}) as server:
        settings = AccountSettings(
            dead_man_timeout_s=max(kit.dms_min_s, 30.0), dead_man_refresh_s=0.2,
            request_timeout_s=1.0, not_found_after_s=0.3,
        )  # fmt: skip
        rig = loopback_rig(tmp_path / "journal", kit, server, settings=settings)
        # the credentials' own repr and str; the adapters' attributes (a signer among them)
        texts += [repr(server.credentials), str(server.credentials), repr(rig.entry.signer)]
        texts += attribute_reprs(rig.entry) + attribute_reprs(rig.stream)
        await rig.router.start()
        px, qty = rig.ticks(kit.price), rig.lots(kit.qty)
        a = rig.send(intent(OrderAction.NEW, Side.BUY, px, qty), mid_tick=px)
        order_a = rig.router.orders[a]
        await eventually(lambda: order_a.status == S.OPEN, what="ack")
        server.fill(order_a.client_id, "0.004")
        await eventually(lambda: order_a.status == S.PARTIALLY_FILLED, what="partial")
        for fault in ("http_500", "http_429"):
            server.fault("new", fault)
            b = rig.send(intent(OrderAction.NEW, Side.BUY, px - 1, qty), mid_tick=px)
            order_b = rig.router.orders[b]
            await eventually(lambda o=order_b: o.status in (S.REJECTED, S.OPEN), 20, "settled")
        server.fault("cancel", "timeout")
        rig.send(intent(OrderAction.CANCEL, coid=a), mid_tick=px)
        await eventually(lambda: order_a.status == S.CANCELLED, 20, "cancel settled by query")
        texts += [*attribute_reprs(rig.router), repr(rig.router.counters)]
        texts += [repr(o) for o in rig.router.orders.values()]
        report = await rig.router.shutdown(deadline_s=10)
        assert report.ok
        # an adapter holding the canary, refused by the venue: every error path of the entry
        plugin.api_secret = "the-venue-expects-another-secret"
        holder = SimpleNamespace(
            credentials=Credentials(plugin.api_key, canary, canary_pass),
            base_url=server.base_url, ws_url=server.ws_url,
        )  # fmt: skip
        bad = kit.entry(holder)
        errors: list[BaseException] = []
        req = OrderRequest("canary1x", kit.symbol, Side.BUY, kit.qty, kit.price)
        for call in (
            lambda: bad.submit(req),
            lambda: bad.cancel(kit.symbol, "canary1x"),
            lambda: bad.query_order(kit.symbol, "canary1x"),
            lambda: bad.open_orders(kit.symbol),
            lambda: bad.position(kit.symbol),
            lambda: bad.balances(),
        ):
            try:
                await call()
            except AdapterError as e:
                errors.append(e)
        await bad.close()
        assert len(errors) == 6
        assert any(
            isinstance(e, OrderRejectedError) and e.reason is RejectReason.AUTH for e in errors
        )
        for e in errors:
            texts += exception_texts(e)
        texts += attribute_reprs(bad)
    journal = b"".join(p.read_bytes() for p in journal_files(tmp_path / "journal"))
    for kind in (b"new", b"fill", b"unknown", b"cancel"):
        assert b'"t":"%s"' % kind in journal
    assert len(capture.texts) > 20  # the scenario did log: the check below can fail
    out, err = capsys.readouterr()
    everything = "\n".join([*texts, *capture.texts, out, err])
    for needle in (canary, canary_pass):
        assert needle not in everything
        assert needle.encode() not in journal
