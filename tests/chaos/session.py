"""One seeded chaos run of the order router against a venue's loopback order server.

The router is wired as ``tickbot run`` wires it in live mode (``tests/support/router_rig.py``:
the venue's real signed adapter and user stream, the journal, the real pre-trade risk kernel
with tight limits) and trades one symbol of one venue, chosen by the seed among every kit of
``tests/support/order_venues/kits.py`` (six venues, Binance and Bybit also over WebSocket
order entry). A seeded order flow (quotes on both sides, some marketable, cancels; maker fills
from the venue) runs while faults are injected from the same seed: REST timeouts, 5xx, 429,
dropped acks, dropped connections, duplicate and out-of-order fills, user-stream loss (with
fills while it is down), clock skew, and a crash and restart of the router mid-order (the
journal flushed as a ``kill -9`` leaves it, or with its unwritten tail lost).

After the flow the faults stop and the run is checked against the venue's ground truth
(``check``): after a reconciliation no open order on the venue is unknown to the bot and the
bot holds no order as live that the venue has closed; the bot's position equals the venue's;
every order's fills equal the venue's (trade ids and size), and no incarnation of the bot
applied more of an order than the venue filled; the venue-side exposure (position plus open
orders, recorded by the server after every change) never exceeded the risk limit; after the
shutdown (what SIGTERM runs) no order is left open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import numpy as np

from bot.core import risk
from bot.core.dtypes import OrderAction, OrderFlag, Side
from bot.execution import AccountSettings
from tests.support.asyncutil import eventually
from tests.support.order_matcher import Event, Matcher, SimOrder
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES, VenueKit
from tests.support.router_rig import LoopbackRig, crash, intent, loopback_rig

KITS = sorted(KIT_FACTORIES)
MAX_POSITION_LOT = 12
MAX_ORDER_LOT = 4
MAX_OPEN_ORDERS = 6
BID, ASK = Decimal("100.0"), Decimal("101.0")
MID_TICK = 1005.0
"""Mid of the loopback market in ticks of 0.1 (every kit's grid)."""
ADAPTER_TIMEOUT_S = 2.0
SETTINGS = AccountSettings(
    dead_man_timeout_s=60.0, request_timeout_s=1.0, not_found_after_s=0.5
)  # short deadlines: the silent faults (timeout, dropped ack) become unknown outcomes quickly
SETTLE_S = 40.0
"""Deadline of the quiet phase: unknown outcomes settled by query, back-off after 429s."""
SHUTDOWN_DEADLINE_S = 15.0
ORDER_FAULTS = ("rest_timeout", "http_5xx", "http_429", "dropped_ack", "rest_disconnect")
STREAM_FAULTS = ("duplicate_fills", "out_of_order_fills", "user_stream_loss")
TRAILING_DIGITS = re.compile(r"(\d+)$")
KINDS = (*ORDER_FAULTS, *STREAM_FAULTS, "clock_skew", "kill9_restart")
_SERVER_KIND = {
    "rest_timeout": "timeout",
    "http_5xx": "http_500",
    "http_429": "http_429",
    "dropped_ack": "drop_ack",
    "rest_disconnect": "disconnect",
}


def _trade_number(trade_id: str) -> int:
    """The matcher's trade number in a venue's rendering (``exec-5001``, ``e000...5001``)."""
    digits = TRAILING_DIGITS.search(trade_id)
    return int(digits.group(1)) if digits else -1


class ExposureMatcher(Matcher):
    """The loopback matcher, recording the worst exposure of each symbol after every change.

    Exposure is what the venue would hold if every open order filled: position plus open buy
    size, and position minus open sell size; the largest absolute value is kept.
    """

    def __init__(self, base: Matcher) -> None:
        self.__dict__.update(base.__dict__)
        self.max_exposure: dict[str, Decimal] = {}

    def _record(self, events: list[Event]) -> list[Event]:
        for symbol in {o.symbol for o in self.orders.values()} | set(self.positions):
            pos = self.positions.get(symbol, Decimal(0))
            buys = sum((o.qty - o.filled for o in self._open(symbol, 1)), Decimal(0))
            sells = sum((o.qty - o.filled for o in self._open(symbol, -1)), Decimal(0))
            worst = max(abs(pos + buys), abs(pos - sells))
            self.max_exposure[symbol] = max(self.max_exposure.get(symbol, Decimal(0)), worst)
        return events

    def _open(self, symbol: str, side: int) -> list[SimOrder]:
        return [
            o for o in self.orders.values() if o.symbol == symbol and o.is_open and o.side == side
        ]

    def new(self, o: SimOrder) -> list[Event]:
        return self._record(super().new(o))

    def fill(self, client_order_id: str, qty: str, price: str | None = None) -> list[Event]:
        return self._record(super().fill(client_order_id, qty, price))

    def amend(self, o: SimOrder, qty: Decimal | None, price: Decimal | None) -> list[Event]:
        return self._record(super().amend(o, qty, price))


@dataclass
class Outcome:
    """What one run did and what its checks found."""

    seed: int
    kind: str
    venue: str
    faults: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    orders: int = 0
    fills: int = 0
    restarts: int = 0
    seconds: float = 0.0


@dataclass
class Incarnation:
    """One life of the router between crashes: its rig and the fill rows it emitted."""

    rig: LoopbackRig
    fill_rows: list[np.void] = field(default_factory=list)


def _tight(rig: LoopbackRig) -> None:
    rig.limits[:] = risk.make_limits(
        max_position_lot=MAX_POSITION_LOT, max_order_lot=MAX_ORDER_LOT, max_notional_quote=1e9,
        price_band_bps=500, max_open_orders=MAX_OPEN_ORDERS, orders_per_s=1e6, burst=1e6,
    )  # fmt: skip


class Session:
    """The seeded run (``run`` drives it; see the module docstring)."""

    def __init__(self, seed: int, workdir: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.kit: VenueKit = KIT_FACTORIES[KITS[seed % len(KITS)]]()
        self.journal = workdir / f"journal-{seed}"
        self.out = Outcome(seed, "router", self.kit.name)
        self.lives: list[Incarnation] = []
        self.server: OrderVenueServer | None = None
        self._undo: list[tuple[int, Callable[[], None]]] = []
        self._step = 0
        self.trace: list[str] = []
        """What the run did, step by step (printed for a failing seed)."""

    @property
    def rig(self) -> LoopbackRig:
        return self.lives[-1].rig

    @property
    def venue(self) -> OrderVenueServer:
        assert self.server is not None
        return self.server

    async def _start_rig(self) -> None:
        rig = loopback_rig(
            self.journal, self.kit, self.venue, settings=SETTINGS, timeout_s=ADAPTER_TIMEOUT_S
        )
        _tight(rig)
        life = Incarnation(rig)
        sink = rig.router.on_fill

        def on_fill(rows: np.ndarray) -> None:
            life.fill_rows.extend(r.copy() for r in rows)
            sink(rows)

        rig.router.on_fill = on_fill
        self.lives.append(life)
        await rig.router.start(timeout_s=SETTLE_S)

    async def run(self) -> Outcome:
        began = time.monotonic()
        kit = self.kit
        server = OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters})
        async with server:
            self.server = server
            server.matcher = ExposureMatcher(server.matcher)
            server.set_market(kit.symbol, str(BID), str(ASK))
            try:
                await self._start_rig()
                for step in range(self.rng.randint(30, 50)):
                    self._step = step
                    await self._act()
                    self._expire_undo()
                    await asyncio.sleep(self.rng.uniform(0.01, 0.05))
                await self._quiet()
                await self.check()
            except (AssertionError, TimeoutError) as e:
                self.out.violations.append(f"stuck: {e}")
            except Exception as e:  # a crash of the run is a finding, not the end of make chaos
                self.out.violations.append(f"error: {type(e).__name__}: {e}")
            finally:
                with contextlib.suppress(Exception):
                    await self._close_all()
        self.out.seconds = time.monotonic() - began
        return self.out

    # -- the order flow and the faults -------------------------------------------------------
    async def _act(self) -> None:
        r = self.rng.random()
        if r < 0.35:
            self._new_order()
        elif r < 0.50:
            self._cancel_one()
        elif r < 0.70:
            self._venue_fill()
        elif r < 0.92:
            await self._fault(self.rng.choice(KINDS))

    def _new_order(self) -> None:
        rig, rng = self.rig, self.rng
        if not rig.router.ready:
            return
        side = rng.choice((Side.BUY, Side.SELL))
        taker = rng.random() < 0.1
        if side == Side.BUY:
            px = ASK if taker else BID - Decimal(rng.randint(0, 8)) / 10
        else:
            px = BID if taker else ASK + Decimal(rng.randint(0, 8)) / 10
        flags = OrderFlag.POST_ONLY if not taker and rng.random() < 0.3 else OrderFlag.NONE
        ticks = rig.ticks(str(px))
        lots = rng.randint(1, MAX_ORDER_LOT)
        coid = rig.send(intent(OrderAction.NEW, side, ticks, lots, flags=flags), MID_TICK)
        if coid:
            self.out.orders += 1
            cid = rig.router.orders[coid].client_id
            self._log(f"new {cid} {side.name} {lots} @ {px}{' post-only' if flags else ''}")

    def _cancel_one(self) -> None:
        live = [o for o in self.rig.router.orders.values() if o.live]
        if live:
            o = self.rng.choice(live)
            self._log(f"cancel {o.client_id} ({o.status.name})")
            self.rig.send(intent(OrderAction.CANCEL, coid=o.coid), MID_TICK)

    def _venue_fill(self) -> None:
        open_ = [o for o in self.venue.orders.values() if o.is_open]
        if not open_:
            return
        o = self.rng.choice(open_)
        lot = Decimal(self.kit.filters.lot)
        leaves = int((o.qty - o.filled) / lot)
        qty = lot * self.rng.randint(1, max(1, leaves))
        self._log(f"venue fills {o.client_order_id} {qty}")
        self.venue.fill(o.client_order_id, str(qty))
        self.out.fills += 1

    def _log(self, what: str) -> None:
        self.trace.append(f"{self._step:3d} {what}")

    def _later(self, steps: int, undo: Callable[[], None]) -> None:
        self._undo.append((self._step + steps, undo))

    def _expire_undo(self) -> None:
        due = [u for u in self._undo if u[0] <= self._step]
        self._undo = [u for u in self._undo if u[0] > self._step]
        for _, undo in due:
            undo()

    async def _fault(self, kind: str) -> None:
        server, rng = self.venue, self.rng
        self.out.faults[kind] += 1
        self._log(f"fault {kind}")
        if kind in _SERVER_KIND:
            op = rng.choice(("new", "new", "cancel", "query", "open_orders"))
            if kind in ("dropped_ack", "rest_timeout", "rest_disconnect"):
                op = rng.choice(("new", "cancel"))
            self._log(f"  on the next {op}")
            server.fault(op, _SERVER_KIND[kind])
        elif kind == "duplicate_fills":
            server.duplicate_fills = True
            self._later(rng.randint(2, 8), lambda: setattr(server, "duplicate_fills", False))
        elif kind == "out_of_order_fills":
            if server._held is None:
                server.hold_stream()
                self._later(rng.randint(1, 6), lambda: server.release_stream(reverse=True))
        elif kind == "user_stream_loss":
            server.drop_streams()
            if rng.random() < 0.5:
                self._venue_fill()  # pushed to nobody: reconciliation must find it
        elif kind == "clock_skew":
            server.clock_skew_ms = rng.choice((-1, 1)) * rng.randint(300, 3000)
            self._later(rng.randint(2, 8), lambda: setattr(server, "clock_skew_ms", 0))
        elif kind == "kill9_restart":
            await self._restart()

    async def _restart(self) -> None:
        rig = self.rig
        await crash(rig, flush=self.rng.random() < 0.6)  # flushed as kill -9 leaves it, or torn
        if rig.stream is not None:
            await rig.stream.close()
        await rig.entry.close()
        if self.rng.random() < 0.5:
            self._venue_fill()  # while the bot is down
        self.out.restarts += 1
        await self._start_rig()
        self._check_known("after restart")

    # -- the checks --------------------------------------------------------------------------
    async def _quiet(self) -> None:
        """Stop the faults, let every unknown outcome settle, reconcile once more."""
        server = self.venue
        server._faults.clear()
        for _, undo in self._undo:
            undo()
        self._undo.clear()
        if server._held is not None:
            server.release_stream()
        router = self.rig.router
        runs = router.counters.reconciliations
        server.drop_streams()  # a reconnect: the reconciliation the checks follow
        await eventually(lambda: router.counters.reconciliations > runs, SETTLE_S, "reconciled")
        await eventually(lambda: router.ready, SETTLE_S, "ready")
        await eventually(lambda: self._settled(), SETTLE_S, "every order settled")

    def _settled(self) -> bool:
        router = self.rig.router
        venue_open = {o.client_order_id for o in self.venue.orders.values() if o.is_open}
        live = {o.client_id for o in router.orders.values() if o.live}
        return router.in_flight == 0 and venue_open == live

    def _check_known(self, when: str) -> None:
        known = {o.client_id for o in self.rig.router.orders.values() if o.live}
        for o in self.venue.orders.values():
            if o.is_open and o.client_order_id not in known:
                self.out.violations.append(f"{when}: open order {o.client_order_id} unknown")

    async def check(self) -> None:
        """Compare the bot with the venue's ground truth (module docstring)."""
        v = self.out.violations
        rig, server, kit = self.rig, self.venue, self.kit
        router = rig.router
        self._check_known("after reconciliation")
        for o in router.orders.values():
            venue_o = server.orders.get(o.client_id)
            if o.live and (venue_o is None or not venue_o.is_open):
                v.append(f"order {o.client_id} live in the bot, closed on the venue")
        venue_pos = rig.lots(str(server.positions.get(kit.symbol, Decimal(0))))
        bot_pos = int(rig.state[0]["position_lot"])
        if bot_pos != venue_pos:
            v.append(f"position: bot {bot_pos} lots, venue {venue_pos}")
        trades: dict[str, set[int]] = {}
        for f in server.fills:
            trades.setdefault(f.order.client_order_id, set()).add(int(f.trade_id))
        for o in router.orders.values():
            venue_o = server.orders.get(o.client_id)
            if venue_o is None:
                continue
            if o.filled_lot != rig.lots(str(venue_o.filled)):
                v.append(f"order {o.client_id} filled {o.filled_lot} lots, venue {venue_o.filled}")
            if {_trade_number(t) for t in o.trade_ids} != trades.get(o.client_id, set()):
                v.append(f"order {o.client_id} trades {sorted(o.trade_ids)} != venue's")
        for k, life in enumerate(self.lives):
            applied: Counter[int] = Counter()
            for row in life.fill_rows:
                applied[int(row["client_order_id"])] += int(row["qty_lot"])
            by_coid = {o.coid: o for o in life.rig.router.orders.values()}
            for coid, lots in applied.items():
                o = by_coid.get(coid)
                venue_o = server.orders.get(o.client_id) if o is not None else None
                if venue_o is not None and lots > rig.lots(str(venue_o.filled)):
                    v.append(f"life {k}: order {o.client_id if o else coid} counted {lots} lots")
        assert isinstance(server.matcher, ExposureMatcher)
        worst = server.matcher.max_exposure.get(kit.symbol, Decimal(0))
        if rig.lots(str(worst)) > MAX_POSITION_LOT:
            v.append(f"venue exposure reached {worst} (limit {MAX_POSITION_LOT} lots)")
        self.out.faults["sigterm"] += 1
        report = await router.shutdown(deadline_s=SHUTDOWN_DEADLINE_S)
        left = [o.client_order_id for o in server.orders.values() if o.is_open]
        if not report.ok or left:
            v.append(f"after shutdown: ok={report.ok}, open on the venue {left}")

    async def _close_all(self) -> None:
        for life in self.lives:
            rig = life.rig
            for t in [*rig.router._tasks, *rig.router._bg]:
                t.cancel()
            with contextlib.suppress(Exception):
                rig.router.journal.close()
            if rig.stream is not None:
                with contextlib.suppress(Exception):
                    await rig.stream.close()
            with contextlib.suppress(Exception):
                await rig.entry.close()


def quiet_logs() -> None:
    """Faults make the router log warnings by design; keep the chaos output to its figures."""
    logging.getLogger("bot").setLevel(logging.CRITICAL)


async def run_router_session(seed: int, workdir: Path) -> Outcome:
    """Run the router session of ``seed`` in ``workdir``; return its outcome."""
    return await Session(seed, workdir).run()
