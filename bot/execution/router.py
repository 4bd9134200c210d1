"""The order router: intents that passed risk in, signed requests out, reports back as rows.

``send`` is synchronous: for each intent it assigns ids, updates the order table, journals the
intent and starts one tracked task whose first await is the venue write. Outcomes (replies,
queries, the user stream, reconciliation) all go through ``apply_report`` / ``apply_fill``, which
move orders only forward (``bot.execution.orders``), count each fill once by (venue, symbol,
trade id), keep the risk state (``RISK_STATE_DTYPE``) equal to what the router knows, and hand
``ORDER_UPDATE_DTYPE`` / ``FILL_DTYPE`` rows to the engine's sinks.

Risk accounting: the engine's ``check_intent`` reserves a NEW's size and slot before ``send``;
from then on the router owns the reservation (``Order.reserved_lot`` / ``holds_slot``): fills
release what they fill, closing releases the rest, an UNKNOWN order keeps it. Positions move
only on fills (never inferred from a report's cumulative size) and are set to the venue's at
reconciliation. The engine must not call ``bot.core.risk.on_fill`` & co. itself in live mode.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import numpy as np

from bot.adapters.errors import AdapterError
from bot.adapters.trading import (
    AmendRequest,
    FillReport,
    OrderRejectedError,
    OrderReport,
    OrderRequest,
    RateLimitedError,
    RejectReason,
)
from bot.core import risk
from bot.core.dtypes import (
    FILL_DTYPE,
    ORDER_UPDATE_DTYPE,
    OrderAction,
    OrderFlag,
    OrderStatus,
    RiskReason,
    Side,
    VenueId,
)
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import Grid
from bot.execution import lifecycle
from bot.execution.account import Account
from bot.execution.counters import Discrepancy, RouterCounters
from bot.execution.ids import IdSource
from bot.execution.journal import Journal
from bot.execution.orders import FINAL, Order, apply_fill_status, transition
from bot.execution.ratelimit import Op
from bot.execution.reconcile import on_orphan_report

log = logging.getLogger(__name__)

S = OrderStatus
RowSink = Callable[[np.ndarray], None]
"""Receives one row (a view, valid only during the call)."""
REJECT_REASON_BASE = 128
"""``ORDER_UPDATE_DTYPE.reason`` of a venue reject is this plus the ``RejectReason``."""
SETTLE_FIRST_S = 0.2
SETTLE_MAX_S = 5.0
NOT_FOUND_LIMIT = 3
"""Consecutive 'unknown order' answers before an unknown order is taken as never placed."""
SEEN_TRADES_CAP = 100_000
SNAPSHOT_TRADES = 2000
"""Most recent trade ids kept in each snapshot (dedup of fills replayed after a restart)."""
FINAL_RETENTION = 4096
"""Finished orders kept for late fills and duplicate reports."""
_ACTION_NAMES = {1: "new", 2: "cancel", 3: "amend", 4: "cancel_all"}


def _nop(rows: np.ndarray) -> None:
    """Default sink: drop rows."""


class Instrument:
    """An instrument's venue, symbol and grids, by engine instrument id."""

    __slots__ = ("account", "id", "lot", "spec", "symbol", "tick", "venue")

    def __init__(self, iid: int, spec: InstrumentSpec, account: Account) -> None:
        self.id = iid
        self.spec = spec
        self.symbol = spec.symbol
        self.venue = VenueId.from_label(spec.venue)
        self.tick = Grid.parse(spec.tick_size)
        self.lot = Grid.parse(spec.lot_size)
        self.account = account


class Router:
    """Order state, ids, journal, rate limits and reconciliation for one or more accounts."""

    def __init__(
        self,
        accounts: Sequence[Account],
        specs: Sequence[InstrumentSpec],
        journal: Journal,
        risk_state: np.ndarray,
        *,
        on_order_update: RowSink = _nop,
        on_fill: RowSink = _nop,
        ids: IdSource | None = None,
        monotonic_ns: Callable[[], int] = time.monotonic_ns,
    ) -> None:
        by_venue = {a.venue: a for a in accounts}
        if len(by_venue) != len(accounts):
            raise ValueError("one account per venue")
        if risk_state.shape[0] != len(specs):
            raise ValueError("risk state must have one row per instrument")
        self.accounts = by_venue
        self.instruments: list[Instrument] = []
        for i, spec in enumerate(specs):
            venue = VenueId.from_label(spec.venue)
            if venue not in by_venue:
                raise ValueError(f"no account for venue {spec.venue} ({spec.symbol})")
            self.instruments.append(Instrument(i, spec, by_venue[venue]))
        self._by_symbol = {(x.venue, x.symbol): x for x in self.instruments}
        self.journal = journal
        self.rstate = risk_state
        self.on_order_update = on_order_update
        self.on_fill = on_fill
        self.ids = ids
        self._mono = monotonic_ns
        self.counters = RouterCounters()
        self.orders: dict[int, Order] = {}
        self._by_cid: dict[str, Order] = {}
        self._finished: deque[int] = deque()
        self._seen: OrderedDict[tuple[int, str, str], None] = OrderedDict()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._urow = np.zeros(1, dtype=ORDER_UPDATE_DTYPE)
        self._frow = np.zeros(1, dtype=FILL_DTYPE)
        self.accepting = False
        """NEW and AMEND are sent only while True (after start, before shutdown)."""
        self.known_runs: set[str] = set()
        self.last_fill_ns: dict[VenueId, int] = {}
        self.tick_to_trade_hook: Callable[[int], None] | None = None
        """Called with ns from the market frame to the socket write of each order."""
        self.states: dict[VenueId, lifecycle.AccountState] = {}
        self._bg: set[asyncio.Task[Any]] = set()

    # -- life cycle --------------------------------------------------------------------------
    async def start(self, timeout_s: float = 60.0) -> None:
        """Replay the journal, reconcile every account, arm dead-man switches, accept orders."""
        await lifecycle.start(self, timeout_s)

    async def shutdown(self, deadline_s: float = 20.0) -> lifecycle.ShutdownReport:
        """Stop quoting, cancel all, confirm, flush the journal, within ``deadline_s``."""
        return await lifecycle.shutdown(self, deadline_s)

    @property
    def ready(self) -> bool:
        """Return whether orders may be sent: started, reconciled, streams up, journal sound."""
        if not self.accepting or self.journal.error is not None:
            return False
        for venue, acct in self.accounts.items():
            st = self.states.get(venue)
            if st is None or not st.reconciled.is_set():
                return False
            if acct.stream is not None and not st.stream_up:
                return False
        return True

    def snapshot(self) -> dict[str, Any]:
        """Return the journal snapshot: live orders, counter, runs, recent trade ids, positions."""
        recent = list(self._seen)[-SNAPSHOT_TRADES:]
        return {
            "run": self.ids.run_id if self.ids is not None else "",
            "runs": sorted(self.known_runs),
            "counter": self.ids.last if self.ids is not None else 0,
            "orders": [self.order_record(o) for o in self.live_orders()],
            "recent_trades": [list(k) for k in recent],
            "last_fill_ns": {v.label: ts for v, ts in self.last_fill_ns.items()},
            "positions": [
                [x.venue.label, x.symbol, x.lot.to_str(int(self.rstate[x.id]["position_lot"]))]
                for x in self.instruments
            ],
        }

    def _background(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a long-lived task (stream, dead-man refresh), cancelled at shutdown."""
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg_done)

    def _bg_done(self, task: asyncio.Task[Any]) -> None:
        self._bg.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counters.task_errors += 1
            log.error("router background task failed", exc_info=task.exception())

    # -- intents ---------------------------------------------------------------------------
    def send(self, intents: np.ndarray, n: int, ts_frame_ns: int = 0) -> int:
        """Route ``intents[:n]`` (already passed by risk); return how many requests started.

        NEW rows get their ``client_order_id`` written in place. Nothing here awaits: each
        request runs in a tracked task whose first await is the write.
        """
        started = 0
        for i in range(n):
            it = intents[i]
            action = int(it["action"])
            inst = int(it["instrument"])
            if inst >= len(self.instruments) or action not in _ACTION_NAMES:
                self.counters.count(_ACTION_NAMES.get(action, "other"), "dropped")
                continue
            x = self.instruments[inst]
            if action == OrderAction.NEW:
                started += self._send_new(x, it, ts_frame_ns)
            elif action == OrderAction.CANCEL:
                started += self._send_cancel(int(it["client_order_id"]), ts_frame_ns)
            elif action == OrderAction.AMEND:
                started += self._send_amend(x, it, ts_frame_ns)
            else:
                started += self.cancel_instrument(x)
        return started

    def _refuse_new(self, x: Instrument, it: np.void, reason: RiskReason) -> int:
        side = int(it["side"])
        qty = int(it["qty_lot"])
        risk.on_order_closed(self.rstate, x.id, side, qty)
        self.counters.count("new", "refused")
        coid = int(it["client_order_id"])
        it["client_order_id"] = 0
        asyncio.get_running_loop().call_soon(
            self._emit_raw, x.id, coid, S.REJECTED, int(reason), int(it["price_tick"]), qty
        )
        return 0

    def _send_new(self, x: Instrument, it: np.void, ts_frame_ns: int) -> int:
        acct = x.account
        if not self.accepting or self.ids is None:
            return self._refuse_new(x, it, RiskReason.KILL_SWITCH)
        if not acct.lim.try_acquire(Op.NEW):
            return self._refuse_new(x, it, RiskReason.RATE_LIMIT)
        coid, cid = self.ids.next()
        it["client_order_id"] = coid
        flags = OrderFlag(int(it["flags"]))
        qty = int(it["qty_lot"])
        order = Order(
            coid=coid, client_id=cid, venue=x.venue, symbol=x.symbol, instrument=x.id,
            side=Side(int(it["side"])), flags=flags, price_tick=int(it["price_tick"]),
            qty_lot=qty, ts_sent_ns=self._mono(), reserved_lot=qty, holds_slot=True,
        )  # fmt: skip
        self._track(order)
        px = None if flags & OrderFlag.MARKET else x.tick.to_str(order.price_tick)
        req = OrderRequest(cid, x.symbol, order.side, x.lot.to_str(qty), px, flags)
        self.journal.append("new", self.order_record(order))
        self.counters.count("new", "sent")
        self._spawn(self._do_submit(acct, order, req, ts_frame_ns))
        return 1

    def _send_cancel(self, coid: int, ts_frame_ns: int) -> int:
        order = self.orders.get(coid)
        if order is None or not order.live or order.status == S.PENDING_CANCEL:
            self.counters.count("cancel", "dropped")
            return 0
        return self.cancel_order(order, ts_frame_ns)

    def cancel_order(self, order: Order, ts_frame_ns: int = 0) -> int:
        """Send a cancel for ``order`` (any live status); return 1 if one started."""
        if order.status != S.PENDING_CANCEL:
            transition(order, S.PENDING_CANCEL)
        self.journal.append("cancel", {"cid": order.client_id})
        self.counters.count("cancel", "sent")
        self._spawn(self._do_cancel(self.instruments[order.instrument].account, order, ts_frame_ns))
        return 1

    def _send_amend(self, x: Instrument, it: np.void, ts_frame_ns: int) -> int:
        order = self.orders.get(int(it["client_order_id"]))
        acct = x.account
        if (
            order is None
            or order.status not in (S.OPEN, S.PARTIALLY_FILLED)
            or order.amend_pending is not None
            or not acct.entry.capabilities.amend
            or not self.accepting
        ):
            self.counters.count("amend", "dropped")
            return 0
        if not acct.lim.try_acquire(Op.AMEND):
            self.counters.count("amend", "refused")
            return 0
        px, leaves = int(it["price_tick"]), int(it["qty_lot"])
        order.amend_pending = (px, leaves)
        total = order.filled_lot + leaves
        req = AmendRequest(order.client_id, x.symbol, x.lot.to_str(total), x.tick.to_str(px))
        self.journal.append("amend", {"cid": order.client_id, "px": req.price, "qty": req.qty})
        self.counters.count("amend", "sent")
        self._spawn(self._do_amend(acct, order, req, ts_frame_ns))
        return 1

    def cancel_instrument(self, x: Instrument) -> int:
        """Cancel every live order of instrument ``x`` (venue cancel-all where it exists)."""
        live = [o for o in self.orders.values() if o.instrument == x.id and o.live]
        acct = x.account
        if not acct.entry.capabilities.cancel_all:
            return sum(self.cancel_order(o) for o in live if o.status != S.PENDING_CANCEL)
        for o in live:
            transition(o, S.PENDING_CANCEL)
        self.journal.append("cancel_all", {"venue": x.venue.label, "symbol": x.symbol})
        self.counters.count("cancel_all", "sent")
        self._spawn(self._do_cancel_all(acct, x.symbol))
        return 1

    # -- request tasks -----------------------------------------------------------------------
    def _write_hook(self, ts_frame_ns: int) -> Callable[[int], None] | None:
        hook = self.tick_to_trade_hook
        if hook is None or ts_frame_ns <= 0:
            return None
        return lambda ts_write_ns: hook(ts_write_ns - ts_frame_ns)

    async def _call(self, acct: Account, coro: Coroutine[Any, Any, Any]) -> Any:
        async with asyncio.timeout(acct.settings.request_timeout_s):
            return await coro

    async def _do_submit(
        self, acct: Account, order: Order, req: OrderRequest, ts_frame_ns: int
    ) -> None:
        try:
            rep = await self._call(acct, acct.entry.submit(req, self._write_hook(ts_frame_ns)))
        except OrderRejectedError as e:
            if e.reason == RejectReason.DUPLICATE_ID:  # the id exists there: not a refusal
                self._unknown(acct, order, "new", e)
                return
            if e.reason == RejectReason.RATE_LIMIT:
                acct.lim.on_rate_limited(None)
            self._rejected(order, e)
            return
        except RateLimitedError as e:
            acct.lim.on_rate_limited(e.retry_after_s)
            self._unknown(acct, order, "new", e)
            return
        except (AdapterError, TimeoutError, OSError) as e:
            self._unknown(acct, order, "new", e)
            return
        self.counters.count("new", "acked")
        self.journal.append("ack", {"cid": order.client_id, "op": "new"})
        self.apply_report(acct, rep, "reply")

    async def _do_cancel(self, acct: Account, order: Order, ts_frame_ns: int) -> None:
        await acct.lim.acquire(Op.CANCEL)
        try:
            rep = await self._call(
                acct,
                acct.entry.cancel(order.symbol, order.client_id, self._write_hook(ts_frame_ns)),
            )
        except OrderRejectedError as e:
            # "unknown order": it filled, expired or never arrived; ask the venue which
            self.counters.count("cancel", "rejected")
            self.journal.append("reject", {"cid": order.client_id, "op": "cancel", "code": e.code})
            self._settle_later(acct, order)
            return
        except RateLimitedError as e:
            acct.lim.on_rate_limited(e.retry_after_s)
            self._unknown(acct, order, "cancel", e)
            return
        except (AdapterError, TimeoutError, OSError) as e:
            self._unknown(acct, order, "cancel", e)
            return
        self.counters.count("cancel", "acked")
        self.apply_report(acct, rep, "reply")

    async def _do_amend(
        self, acct: Account, order: Order, req: AmendRequest, ts_frame_ns: int
    ) -> None:
        try:
            rep = await self._call(acct, acct.entry.amend(req, self._write_hook(ts_frame_ns)))
        except OrderRejectedError as e:
            self.counters.count("amend", "rejected")
            self.journal.append("reject", {"cid": order.client_id, "op": "amend", "code": e.code})
            order.amend_pending = None
            self._emit(order, REJECT_REASON_BASE + int(e.reason))
            return
        except RateLimitedError as e:
            acct.lim.on_rate_limited(e.retry_after_s)
            self._unknown(acct, order, "amend", e)
            return
        except (AdapterError, TimeoutError, OSError) as e:
            self._unknown(acct, order, "amend", e)
            return
        self.counters.count("amend", "acked")
        self.apply_report(acct, rep, "reply")

    async def _do_cancel_all(self, acct: Account, symbol: str) -> None:
        await acct.lim.acquire(Op.CANCEL_ALL)
        try:
            await self._call(acct, acct.entry.cancel_all(symbol))
        except RateLimitedError as e:
            acct.lim.on_rate_limited(e.retry_after_s)
            self.counters.count("cancel_all", "unknown")
        except (AdapterError, TimeoutError, OSError) as e:
            log.warning("cancel-all %s %s: outcome unknown (%s)", acct.venue.label, symbol, e)
            self.counters.count("cancel_all", "unknown")
        else:
            self.counters.count("cancel_all", "acked")
        # the venue answers cancel-all without per-order reports: settle each by query
        for o in list(self.orders.values()):
            if o.venue == acct.venue and o.symbol == symbol and o.status == S.PENDING_CANCEL:
                self._settle_later(acct, o)

    # -- outcomes ----------------------------------------------------------------------------
    def _rejected(self, order: Order, e: OrderRejectedError) -> None:
        self.counters.count("new", "rejected")
        self.journal.append(
            "reject", {"cid": order.client_id, "op": "new", "code": e.code, "reason": e.reason.name}
        )
        log.info(
            "order rejected: venue=%s symbol=%s client_order_id=%s reason=%s code=%s",
            order.venue.label, order.symbol, order.client_id, e.reason.name, e.code,
        )  # fmt: skip
        if transition(order, S.REJECTED):
            self._closed(order)
            self._emit(order, REJECT_REASON_BASE + int(e.reason))

    def _unknown(self, acct: Account, order: Order, op: str, e: BaseException) -> None:
        """Record an unknown outcome and start settling it by query."""
        self.counters.unknown_outcomes += 1
        self.counters.count(op, "unknown")
        self.journal.append(
            "unknown", {"cid": order.client_id, "op": op, "error": type(e).__name__}
        )
        log.warning(
            "outcome unknown: venue=%s symbol=%s client_order_id=%s op=%s error=%s",
            order.venue.label, order.symbol, order.client_id, op, type(e).__name__,
        )  # fmt: skip
        if op == "new" and transition(order, S.UNKNOWN):
            self._emit(order)
        if op == "amend":
            order.amend_pending = None  # the query tells us which price and size stand
        self._settle_later(acct, order, force=True)

    def _settle_later(self, acct: Account, order: Order, force: bool = False) -> None:
        if order.settling:
            return
        order.settling = True
        self._spawn(self._settle(acct, order, force))

    async def _settle(self, acct: Account, order: Order, force: bool) -> None:
        """Query ``order`` with back-off until its status is definite."""
        delay = SETTLE_FIRST_S if force else 0.0
        not_found = 0
        try:
            while order.status in (S.UNKNOWN, S.PENDING_CANCEL, S.PENDING_NEW) or force:
                force = False
                if delay > 0:
                    await asyncio.sleep(delay * (0.5 + random.random() / 2))
                delay = min(SETTLE_MAX_S, max(SETTLE_FIRST_S, delay * 2))
                await acct.lim.acquire(Op.QUERY)
                try:
                    rep = await self._call(
                        acct, acct.entry.query_order(order.symbol, order.client_id)
                    )
                except RateLimitedError as e:
                    acct.lim.on_rate_limited(e.retry_after_s)
                    continue
                except (AdapterError, TimeoutError, OSError) as e:
                    log.info("query %s failed (%s), retrying", order.client_id, type(e).__name__)
                    continue
                if rep is not None:
                    was = order.status
                    not_found = 0
                    if was == S.PENDING_CANCEL and rep.status in (S.OPEN, S.PARTIALLY_FILLED):
                        transition(order, order.before_cancel)  # the cancel did not take
                        self.apply_report(acct, rep, "query")
                        self.cancel_order(order)
                        return
                    self.apply_report(acct, rep, "query")
                    if was == S.UNKNOWN and order.status != S.UNKNOWN:
                        self.counters.unknown_settled += 1
                    continue
                not_found += 1
                age_s = (self._mono() - order.ts_sent_ns) * 1e-9
                if not_found >= NOT_FOUND_LIMIT and age_s >= acct.settings.not_found_after_s:
                    self._not_found(order)
        finally:
            order.settling = False

    def _not_found(self, order: Order) -> None:
        """The venue does not know a live order: it never arrived, or it is long gone."""
        was = order.status
        new = S.REJECTED if was in (S.UNKNOWN, S.PENDING_NEW) else S.CANCELLED
        if was in (S.OPEN, S.PARTIALLY_FILLED):
            self._discrepancy(Discrepancy.VANISHED, order.client_id, "venue does not know it")
        self.journal.append("not_found", {"cid": order.client_id, "status": new.name})
        if transition(order, new):
            if was == S.UNKNOWN:
                self.counters.unknown_settled += 1
            self._closed(order)
            self._emit(order, REJECT_REASON_BASE + int(RejectReason.UNKNOWN_ORDER))

    def apply_report(self, acct: Account, rep: OrderReport, source: str) -> Order | None:
        """Apply an order report from any source; return the order (None if not ours)."""
        order = self._by_cid.get(rep.client_order_id)
        if order is None:
            return on_orphan_report(self, acct, rep, source)
        x = self.instruments[order.instrument]
        self.journal.append(
            "report",
            {"cid": order.client_id, "src": source, "status": rep.status.name,
             "filled": rep.filled_qty, "qty": rep.qty, "px": rep.price,
             "voi": rep.venue_order_id},
        )  # fmt: skip
        if rep.venue_order_id:
            order.venue_order_id = rep.venue_order_id
        order.venue_filled_lot = max(order.venue_filled_lot, x.lot.to_units(rep.filled_qty))
        changed = False
        if order.amend_pending is not None or source in ("query", "reconcile"):
            changed = self._apply_amend(order, x, rep)
        new = rep.status
        if order.status == S.PENDING_CANCEL and new in (S.OPEN, S.PARTIALLY_FILLED):
            new = order.status  # an ack older than our cancel: the cancel is still out
        if new != order.status:
            if transition(order, new):
                changed = True
                if new in FINAL:
                    self._closed(order)
            else:
                self.counters.stale_updates += 1
        if changed:
            self._emit(order, ts_exch_ns=rep.ts_exch_ns)
        return order

    def _apply_amend(self, order: Order, x: Instrument, rep: OrderReport) -> bool:
        """Take the venue's price and size of an open order; move the reservation to match."""
        if rep.status not in (S.OPEN, S.PARTIALLY_FILLED) or order.status in FINAL:
            return False
        qty = x.lot.to_units(rep.qty)
        px = order.price_tick if rep.price is None else x.tick.to_units(rep.price)
        if qty == order.qty_lot and px == order.price_tick:
            if order.amend_pending is not None and order.amend_pending[0] == px:
                order.amend_pending = None
            return False
        order.amend_pending = None
        order.qty_lot = qty
        order.price_tick = px
        self._reserve(order, order.leaves_lot)
        return True

    def apply_fill(self, acct: Account, fill: FillReport, source: str) -> bool:
        """Count a fill once (by venue, symbol, trade id); return whether it was new."""
        key = (int(acct.venue), fill.symbol, fill.trade_id)
        if key in self._seen:
            self.counters.duplicate_fills += 1
            return False
        self._seen[key] = None
        if len(self._seen) > SEEN_TRADES_CAP:
            self._seen.popitem(last=False)
        order = self.order_of_fill(acct, fill)
        x = self._by_symbol.get((acct.venue, fill.symbol))
        self.journal.append(
            "fill",
            {"cid": order.client_id if order is not None else fill.client_order_id,
             "venue": acct.venue.label, "symbol": fill.symbol,
             "trade_id": fill.trade_id, "side": int(fill.side), "qty": fill.qty,
             "px": fill.price, "fee": fill.fee, "fee_asset": fill.fee_asset,
             "liq": int(fill.liquidity), "ts_exch": fill.ts_exch_ns, "src": source},
        )  # fmt: skip
        self.counters.fills += 1
        if fill.ts_exch_ns > self.last_fill_ns.get(acct.venue, 0):
            self.last_fill_ns[acct.venue] = fill.ts_exch_ns
        if x is None:
            self._discrepancy(Discrepancy.FOREIGN_FILL, fill.client_order_id, "untraded symbol")
            return True
        q = x.lot.to_units(fill.qty)
        side = int(fill.side)
        self.rstate[x.id]["position_lot"] += side * q
        if order is None:
            self._discrepancy(Discrepancy.FOREIGN_FILL, fill.client_order_id, fill.trade_id)
            self._emit_fill(x.id, 0, fill, q, 0, side)
            return True
        order.trade_ids.add(fill.trade_id)
        order.filled_lot += q
        release = min(q, order.reserved_lot)
        self._reserve(order, order.reserved_lot - release)
        if order.filled_lot > order.qty_lot:
            self._discrepancy(
                Discrepancy.OVERFILL, order.client_id,
                f"filled {order.filled_lot} of {order.qty_lot} lots",
            )  # fmt: skip
        was_final = order.status in FINAL
        moved = apply_fill_status(order)
        if order.status in FINAL and not was_final:
            self._closed(order)
        self._emit_fill(x.id, order.coid, fill, q, order.leaves_lot, side)
        if moved:
            self._emit(order, ts_exch_ns=fill.ts_exch_ns)
        return True

    def order_of_fill(self, acct: Account, fill: FillReport) -> Order | None:
        """Return the order a fill belongs to: by client id, else by the venue's order id
        (Binance's, Bitget's and BingX's fill lists carry only the latter)."""
        order = self._by_cid.get(fill.client_order_id) if fill.client_order_id else None
        if order is not None or not fill.venue_order_id:
            return order
        for o in self.orders.values():
            if o.venue_order_id == fill.venue_order_id and o.venue == acct.venue:
                return o
        return None

    # -- risk and bookkeeping ----------------------------------------------------------------
    def _reserve(self, order: Order, lots: int) -> None:
        """Set the size ``order`` holds in risk's open lots to ``lots``."""
        lots = max(0, lots)
        delta = lots - order.reserved_lot
        if delta:
            st = self.rstate[order.instrument]
            field = "open_buy_lot" if order.side == Side.BUY else "open_sell_lot"
            st[field] = max(0, int(st[field]) + delta)
            order.reserved_lot = lots

    def hold(self, order: Order) -> None:
        """Reserve a (restored or adopted) live order's leaves and slot in risk."""
        self._reserve(order, order.leaves_lot)
        if not order.holds_slot:
            self.rstate[order.instrument]["open_orders"] += 1
            order.holds_slot = True

    def _closed(self, order: Order) -> None:
        """Release everything a finished order holds in risk; keep it for late fills."""
        self._reserve(order, 0)
        if order.holds_slot:
            st = self.rstate[order.instrument]
            st["open_orders"] = max(0, int(st["open_orders"]) - 1)
            order.holds_slot = False
        self._finished.append(order.coid)
        while len(self._finished) > FINAL_RETENTION:
            old = self.orders.pop(self._finished.popleft(), None)
            if old is not None and old.status in FINAL:
                self._by_cid.pop(old.client_id, None)

    def _track(self, order: Order) -> None:
        self.orders[order.coid] = order
        self._by_cid[order.client_id] = order

    def _discrepancy(self, kind: Discrepancy, ident: str, detail: str) -> None:
        self.counters.discrepancies[kind.value] += 1
        self.journal.append("discrepancy", {"kind": kind.value, "id": ident, "detail": detail})
        log.warning("reconciliation: %s client_order_id=%s %s", kind.value, ident, detail)

    # -- rows to the engine ------------------------------------------------------------------
    def _emit(self, order: Order, reason: int = 0, ts_exch_ns: int = 0) -> None:
        r = self._urow[0]
        r["status"] = int(order.status)
        r["reason"] = reason
        r["instrument"] = order.instrument
        r["client_order_id"] = order.coid
        r["ts_exch_ns"] = ts_exch_ns
        r["ts_local_ns"] = time.time_ns()
        r["price_tick"] = order.price_tick
        r["qty_lot"] = order.qty_lot
        r["filled_lot"] = order.filled_lot
        self.on_order_update(self._urow)

    def _emit_raw(
        self, inst: int, coid: int, status: int, reason: int, price_tick: int, qty_lot: int
    ) -> None:
        r = self._urow[0]
        r["status"] = status
        r["reason"] = reason
        r["instrument"] = inst
        r["client_order_id"] = coid
        r["ts_exch_ns"] = 0
        r["ts_local_ns"] = time.time_ns()
        r["price_tick"] = price_tick
        r["qty_lot"] = qty_lot
        r["filled_lot"] = 0
        self.on_order_update(self._urow)

    def _emit_fill(
        self, inst: int, coid: int, fill: FillReport, q: int, leaves: int, side: int
    ) -> None:
        x = self.instruments[inst]
        r = self._frow[0]
        r["side"] = side
        r["liquidity"] = int(fill.liquidity)
        r["instrument"] = inst
        r["client_order_id"] = coid
        r["ts_exch_ns"] = fill.ts_exch_ns
        r["ts_local_ns"] = time.time_ns()
        r["price_tick"] = x.tick.to_units(fill.price)
        r["qty_lot"] = q
        r["leaves_lot"] = leaves
        r["fee_quote"] = float(fill.fee)
        self.on_fill(self._frow)

    # -- tasks -------------------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counters.task_errors += 1
            log.error("router task failed", exc_info=task.exception())

    @property
    def in_flight(self) -> int:
        """Return the number of request, settle and stream tasks running."""
        return len(self._tasks)

    def order_record(self, order: Order) -> dict[str, Any]:
        """Return an order's journal fields (exact strings, venue and symbol by name)."""
        x = self.instruments[order.instrument]
        return {
            "cid": order.client_id, "coid": order.coid, "venue": order.venue.label,
            "symbol": order.symbol, "side": int(order.side), "flags": int(order.flags),
            "px": x.tick.to_str(order.price_tick), "qty": x.lot.to_str(order.qty_lot),
            "status": order.status.name, "filled": x.lot.to_str(order.filled_lot),
            "voi": order.venue_order_id, "trades": sorted(order.trade_ids),
        }  # fmt: skip

    def live_orders(self, venue: VenueId | None = None) -> list[Order]:
        """Return the live orders (of one venue, or all)."""
        return [o for o in self.orders.values() if o.live and (venue is None or o.venue == venue)]

    def instrument_of(self, venue: VenueId, symbol: str) -> Instrument | None:
        """Return the traded instrument ``venue:symbol``, or None."""
        return self._by_symbol.get((venue, symbol))
