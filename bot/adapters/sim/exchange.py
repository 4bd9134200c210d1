"""The ``sim`` venue: the backtest's simulated exchange run in asyncio real time.

``SimExchange`` holds one ``bot.backtest.sim_venue.SimVenue`` and a pump task that advances it
on the wall clock (``time.time_ns``, the clock of live market-data rows): requests reach the
venue after the configured entry latency, answers come back after the response latency,
market rows (``on_events``, an ``EventSink``) move its book and fill resting orders. The same
matching model as backtests: queue position, partial fills, post-only rejects, cancel races.

Order entry (``SimOrderEntry``) and the user stream (``SimUserStream``) speak the router's
contract (``bot.adapters.trading``): text client ids, decimal strings, typed errors. Each request
waits for its own answer (the first response the venue produced while handling it); every
response also goes to the connected user streams. Venue truth for ``query_order`` and
``open_orders`` is taken when the venue acts, not when the answer arrives, as on a real venue.

``SimFaults`` injects what real venues do to order entry: a lost reply (the request acted, the
answer never came: an unknown outcome), an error raised before sending (e.g. a 429), and a
user-stream disconnect. The dead-man switch is real: not refreshed in time, it cancels all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.adapters.errors import RetryableError, UnknownOutcomeError
from bot.adapters.trading import FillReport, OrderReport
from bot.backtest import sim_types as st
from bot.backtest.sim_venue import SimVenue, next_request_ns, next_response_ns, process_request
from bot.core.dtypes import EVENT_DTYPE, Liquidity, OrderStatus, Side, VenueId
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import Grid

_NS_PER_MS = 1_000_000
_MAX_PUMP_WAIT_S = 0.05
"""Longest the pump sleeps without a due request, answer or dead-man deadline."""
TRUTH_CAP = 100_000
FILLS_CAP = 100_000


@dataclass
class SimFaults:
    """Faults to inject (tests and chaos drills); each count is consumed as it fires."""

    drop_replies: int = 0
    """The next N requests act on the venue but their reply is lost (unknown outcome)."""
    fail_before_send: list[Exception] = field(default_factory=list)
    """Raised (in order) by the next requests instead of sending them."""
    reply_delay_s: float = 0.0
    """Extra delay before each reply is handed back (a slow venue)."""


@dataclass
class _Waiter:
    op: int
    future: asyncio.Future[np.void | None]
    dropped: bool


class _Inst:
    __slots__ = ("id", "lot", "spec", "tick")

    def __init__(self, iid: int, spec: InstrumentSpec) -> None:
        self.id = iid
        self.spec = spec
        self.tick = Grid.parse(spec.tick_size)
        self.lot = Grid.parse(spec.lot_size)


class SimExchange:
    """One simulated venue account in real time (see the module doc)."""

    def __init__(
        self,
        specs: Sequence[InstrumentSpec],
        *,
        venue: VenueId = VenueId.SIM,
        entry_latency_ms: float = 1.0,
        response_latency_ms: float = 1.0,
        reply_timeout_s: float = 5.0,
        starting_balance: float = 100_000.0,
        balance_asset: str = "USDT",
        queue_model: st.QueueModel = st.QueueModel.PROBABILISTIC,
    ) -> None:
        if not specs:
            raise ValueError("the sim venue needs at least one instrument")
        self.venue_id = venue
        self.insts = [_Inst(i, s) for i, s in enumerate(specs)]
        self._by_symbol = {x.spec.symbol: x for x in self.insts}
        maker = np.array([float(s.maker_fee_rate) for s in specs])
        taker = np.array([float(s.taker_fee_rate) for s in specs])
        self.venue = SimVenue(
            len(specs),
            quote_per_tick_lot=np.array([s.quote_per_tick_lot() for s in specs]),
            maker_fee=maker, taker_fee=taker,
            lat_in_ns=np.array([int(entry_latency_ms * _NS_PER_MS)], dtype=np.int64),
            lat_out_ns=np.array([int(response_latency_ms * _NS_PER_MS)], dtype=np.int64),
            queue_model=queue_model,
        )  # fmt: skip
        self.reply_timeout_s = reply_timeout_s
        self.starting_balance = starting_balance
        self.balance_asset = balance_asset
        self.faults = SimFaults()
        self._coid_of: dict[str, int] = {}
        self._cid_of: dict[int, str] = {}
        self._next_coid = 0
        self._pending: deque[_Waiter] = deque()
        """Waiters of requests sent and not yet handled by the venue, in send order."""
        self._primary: dict[int, _Waiter] = {}
        """Response sequence number -> the waiter it answers."""
        self._scanned = 0
        self._trade_of_seq: dict[int, str] = {}
        self._n_trades = 0
        self.truth: dict[str, OrderReport] = {}
        """Every order's state as the venue holds it (by text client id)."""
        self.fills: deque[FillReport] = deque(maxlen=FILLS_CAP)
        self._streams: list[asyncio.Queue[OrderReport | FillReport | None]] = []
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._dms_deadline_ns = 0
        self.dead_man_fired = 0
        self.dead_man_arms = 0
        self.requests = 0
        _warm_up(self.venue)

    # -- clock and pump ----------------------------------------------------------------------
    @staticmethod
    def now_ns() -> int:
        """Return the sim's clock: wall-clock ns, as live market-data rows carry."""
        return time.time_ns()

    def ensure_running(self) -> None:
        """Start the pump task if it is not running (held here, cancelled by ``close``)."""
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self.run())

    async def run(self) -> None:
        """Advance the venue on the wall clock forever (or run it in the app's TaskGroup)."""
        while True:
            now = self.now_ns()
            self._step(now)
            nxt = min(
                next_request_ns(self.venue.vs, self.venue.req),
                next_response_ns(self.venue.vs, self.venue.resp),
            )
            if self._dms_deadline_ns:
                nxt = min(nxt, self._dms_deadline_ns)
            wait_s = min(_MAX_PUMP_WAIT_S, max(0.0, (nxt - self.now_ns()) / 1e9))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._wake.wait()

    def _step(self, now: int) -> None:
        v = self.venue
        if self._dms_deadline_ns and now >= self._dms_deadline_ns:
            self._dms_deadline_ns = 0
            self.dead_man_fired += 1
            for x in self.insts:
                self._send(now, st._CANCEL_ALL, 0, x.id, 0, 0, 0, 0, None)
        while next_request_ns(v.vs, v.req) <= now:
            tail = int(v.vs[st.VS_RESP_TAIL])
            process_request(
                v.vs, v.req, v.orders, v.active, v.xqty, v.xstate, v.resp, v.lat_out, v.vinst,
                v.acct, v.iacct, v.fills,
            )  # fmt: skip
            waiter = self._pending.popleft() if self._pending else None
            if waiter is not None:
                if int(v.vs[st.VS_RESP_TAIL]) > tail:
                    self._primary[tail] = waiter
                elif not waiter.future.done():
                    waiter.future.set_result(None)  # cancel-all: no per-request answer
            self._scan()
        head = int(v.vs[st.VS_RESP_HEAD])
        for k, r in enumerate(v.responses_until(now)):
            self._deliver(head + k, r)
        v.vs[st.VS_N_FILLS] = 0  # fills are copied in _scan; the buffer is reused

    def _scan(self) -> None:
        """Record the venue's truth from responses it produced since the last scan."""
        v = self.venue
        mask = v.resp.shape[0] - 1
        tail = int(v.vs[st.VS_RESP_TAIL])
        while self._scanned < tail:
            seq = self._scanned
            self._scanned += 1
            r = v.resp[seq & mask]
            cid = self._cid_of.get(int(r["client_order_id"]))
            if cid is None:
                continue
            x = self.insts[int(r["instrument"])]
            if int(r["kind"]) == st.ResponseKind.FILL:
                self._n_trades += 1
                tid = str(self._n_trades)
                self._trade_of_seq[seq] = tid
                self.fills.append(self._fill_report(cid, tid, x, r))
            if int(r["kind"]) != st.ResponseKind.CANCEL_REJECT:
                self.truth[cid] = self._order_report(cid, x, r)
                if len(self.truth) > TRUTH_CAP:
                    self.truth.pop(next(iter(self.truth)))

    def _deliver(self, seq: int, r: np.void) -> None:
        waiter = self._primary.pop(seq, None)
        if waiter is not None and not waiter.dropped and not waiter.future.done():
            waiter.future.set_result(r)
        cid = self._cid_of.get(int(r["client_order_id"]))
        if cid is None or int(r["kind"]) == st.ResponseKind.CANCEL_REJECT:
            return
        x = self.insts[int(r["instrument"])]
        if int(r["kind"]) == st.ResponseKind.FILL:
            tid = self._trade_of_seq.pop(seq, "")
            report: OrderReport | FillReport = self._fill_report(cid, tid, x, r)
        else:
            report = self._order_report(cid, x, r)
        for q in self._streams:
            q.put_nowait(report)

    # -- reports -----------------------------------------------------------------------------
    def _order_report(self, cid: str, x: _Inst, r: np.void) -> OrderReport:
        return OrderReport(
            client_order_id=cid, venue_order_id=str(int(r["client_order_id"])),
            symbol=x.spec.symbol, status=OrderStatus(int(r["status"])), side=Side(int(r["side"])),
            qty=x.lot.to_str(int(r["qty_lot"])), filled_qty=x.lot.to_str(int(r["filled_lot"])),
            price=x.tick.to_str(int(r["price_tick"])), ts_exch_ns=int(r["ts_exch_ns"]),
        )  # fmt: skip

    def _fill_report(self, cid: str, tid: str, x: _Inst, r: np.void) -> FillReport:
        return FillReport(
            client_order_id=cid, venue_order_id=str(int(r["client_order_id"])), trade_id=tid,
            symbol=x.spec.symbol, side=Side(int(r["side"])), qty=x.lot.to_str(int(r["qty_lot"])),
            price=x.tick.to_str(int(r["price_tick"])), fee=repr(float(r["fee_quote"])),
            fee_asset=self.balance_asset, liquidity=Liquidity(int(r["liquidity"])),
            ts_exch_ns=int(r["ts_exch_ns"]),
        )  # fmt: skip

    # -- requests ----------------------------------------------------------------------------
    def inst(self, symbol: str) -> _Inst:
        """Return the instrument of ``symbol`` (``ValueError`` if the sim does not list it)."""
        x = self._by_symbol.get(symbol)
        if x is None:
            raise ValueError(f"sim venue: unknown symbol {symbol!r}")
        return x

    def coid(self, cid: str) -> int:
        """Return the venue-side int id of text client id ``cid`` (new ids get the next one)."""
        n = self._coid_of.get(cid)
        if n is None:
            self._next_coid += 1
            n = self._next_coid
            self._coid_of[cid] = n
            self._cid_of[n] = cid
        return n

    def _send(
        self, now: int, action: int, side: int, inst: int, coid: int, px: int, qty: int,
        flags: int, waiter: _Waiter | None,
    ) -> None:  # fmt: skip
        self.venue.send(now, action, side, inst, coid, px, qty, flags)
        self.requests += 1
        if waiter is not None:
            self._pending.append(waiter)
        else:
            self._pending.append(_Waiter(action, asyncio.get_running_loop().create_future(), True))

    async def request(
        self, action: int, side: int, inst: int, coid: int, px: int = 0, qty: int = 0,
        flags: int = 0, on_write: object = None,
    ) -> np.void | None:  # fmt: skip
        """Send one request now; return the venue's answer row (None for cancel-all)."""
        self.ensure_running()
        if self.faults.fail_before_send:
            raise self.faults.fail_before_send.pop(0)
        loop = asyncio.get_running_loop()
        dropped = self.faults.drop_replies > 0
        if dropped:
            self.faults.drop_replies -= 1
        waiter = _Waiter(action, loop.create_future(), dropped)
        now = self.now_ns()
        self._send(now, action, side, inst, coid, px, qty, flags, waiter)
        if callable(on_write):
            on_write(time.monotonic_ns())
        self._wake.set()
        try:
            async with asyncio.timeout(self.reply_timeout_s):
                r = await waiter.future
        except TimeoutError:
            raise UnknownOutcomeError(
                f"sim venue: no reply within {self.reply_timeout_s} s"
            ) from None
        if self.faults.reply_delay_s > 0:
            await asyncio.sleep(self.faults.reply_delay_s)
        return r

    def on_events(self, rows: np.ndarray) -> None:
        """Apply market rows (``EventSink``) at the venue, at the time they are seen.

        Instrument ids are the sim's (the order of its specs); rows of other ids are skipped.
        """
        now = self.now_ns()
        self._step(now)  # requests due by now first: market_event must not handle them itself
        row = np.zeros((), dtype=EVENT_DTYPE)
        n_inst = len(self.insts)
        for k in range(rows.shape[0]):
            if int(rows[k]["instrument"]) >= n_inst:
                continue
            row[()] = rows[k]
            row["ts_exch_ns"] = now
            self.venue.market_event(row[()])  # type: ignore[arg-type]
        self._scan()
        self._wake.set()

    def arm(self, timeout_s: float) -> None:
        """Arm (or refresh) the dead-man switch; 0 disarms it."""
        self.dead_man_arms += 1
        self._dms_deadline_ns = 0 if timeout_s <= 0 else self.now_ns() + int(timeout_s * 1e9)
        self._wake.set()

    def subscribe(self) -> asyncio.Queue[OrderReport | FillReport | None]:
        """Return a new stream queue that receives every answer from now on."""
        q: asyncio.Queue[OrderReport | FillReport | None] = asyncio.Queue()
        self._streams.append(q)
        return q

    def unsubscribe(self, q: asyncio.Queue[OrderReport | FillReport | None]) -> None:
        """Stop feeding ``q``."""
        with contextlib.suppress(ValueError):
            self._streams.remove(q)

    def disconnect_streams(self) -> None:
        """End every connected user stream (a fault: the router reconnects and reconciles)."""
        for q in list(self._streams):
            q.put_nowait(None)
        self._streams.clear()

    async def close(self) -> None:
        """Stop the pump."""
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
            self._pump = None


def _warm_up(venue: SimVenue) -> None:
    """Compile (or load from cache) the venue kernels now, not inside the first order."""
    scratch = SimVenue(
        1, quote_per_tick_lot=np.ones(1), maker_fee=np.zeros(1), taker_fee=np.zeros(1),
        lat_in_ns=venue.lat_in[:1], lat_out_ns=venue.lat_out[:1],
    )  # fmt: skip
    row = np.zeros((), dtype=EVENT_DTYPE)
    row["kind"] = 1
    row["price_tick"] = 10
    row["qty_lot"] = 1
    row["ts_exch_ns"] = 1
    scratch.market_event(row[()])  # type: ignore[arg-type]
    scratch.send(2, st._NEW, 1, 0, 1, 10, 1, 0)
    v = scratch
    while next_request_ns(v.vs, v.req) < st.NO_TIME:
        process_request(
            v.vs, v.req, v.orders, v.active, v.xqty, v.xstate, v.resp, v.lat_out, v.vinst,
            v.acct, v.iacct, v.fills,
        )  # fmt: skip
    scratch.responses_until(st.NO_TIME - 1)


class StreamClosedError(RetryableError):
    """The sim's user stream was disconnected (a fault injected by ``disconnect_streams``)."""
