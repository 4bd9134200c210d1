"""``TradingCore``: books, signals, the strategy, risk and the simulated venue, driven live.

Everything is allocated once here. Per frame the feed (or the synthetic market) calls
``on_frame(rows, rx_ns)``, which runs three kernels and, when the strategy wakes on events, its
``decide`` and the risk-checked dispatch: no await, no Python object per row. Timers and the
simulated venue's responses are one ``loop.call_at`` handle, moved to whichever is due first;
anything due before a frame's receive time runs before that frame, and at the same nanosecond the
backtest's order holds (the venue sees the market row, then requests reach it, then answers reach
us, then our own copy of the row, then our timer), so the strategy sees events, timers and answers
in the same order the backtest would. In paper and live mode (``venue_local_clock``) the
strategy's first timer call is at the first frame, as the backtest's is at its first event.

In ``live`` mode (``attach_router``) the same risk check sends what passes to the order router
instead (``bot.runtime.live``); the router owns the risk state from then on and its rows move
the strategy's view and position.

The order path of ``sim`` and ``paper`` is the backtest's own (``bot.backtest._loop``'s
dispatch into ``SimVenue``, with its latency and queue model). Tick-to-trade is measured on every
order, from the trigger (the frame's receive time, the timer or the venue answer, on
``time.monotonic_ns``) to the moment its request is handed to the venue, into a preallocated ring.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from bot.backtest import _loop as lp
from bot.backtest import sim_types as st
from bot.backtest.engine import EngineOptions
from bot.backtest.sim_venue import SimVenue
from bot.core.book import new_books
from bot.core.dtypes import EVENT_DTYPE, FILL_DTYPE, ORDER_INTENT_DTYPE, ORDER_UPDATE_DTYPE
from bot.core.instruments import InstrumentSpec
from bot.core.risk import new_risk, replace_limits
from bot.core.signal import new_signals, signal_params
from bot.core.strategy_api import ISTATE_HALTED, ISTATE_USER, ISTATE_WAKE_NS, new_order_view
from bot.runtime import kernels as k
from bot.runtime import live
from bot.runtime.clock import Clock

_WAKE_EVENT, _WAKE_TIMER, _WAKE_ORDER = 0, 1, 2
_NO_TIME = 1 << 62
LATENCY_RING = 1 << 17
"""Tick-to-trade samples kept (a power of two); older ones are overwritten."""


class TradingCore:
    """One strategy over its instruments, with risk and the simulated venue, on one loop."""

    def __init__(
        self,
        specs: Sequence[InstrumentSpec],
        strategy: ModuleType,
        params: Any,
        traded: Sequence[int],
        limits: np.ndarray,
        options: EngineOptions,
        *,
        apply_books: bool,
        venue_local_clock: bool,
        qty: np.ndarray | None = None,
        state: np.ndarray | None = None,
    ) -> None:
        n = len(specs)
        self.specs = list(specs)
        self.strategy = strategy
        self.traded = list(traded)
        self.apply_books = apply_books
        self.venue_local_clock = venue_local_clock
        self.uses_signals = bool(strategy.USES_SIGNALS)
        self.wake_on_event = bool(strategy.WAKE_ON_EVENT)
        self.wake_on_order = bool(strategy.WAKE_ON_ORDER)
        if qty is None or state is None:
            qty, state = new_books(n, options.window)
        self.lqty, self.lstate = qty, state
        self.sig, self.ring, self.ring_idx = new_signals(n)
        self.sparams = signal_params()
        self.limits = limits.copy()
        _, self.rstate, self.rcounts = new_risk(n)
        self.view = new_order_view(options.max_orders)
        self.pos_local = np.zeros(n, dtype=np.int64)
        self.params_struct = params
        self.params = np.ascontiguousarray(strategy.pack(params, self.traded), dtype=np.float64)
        self.istate = np.zeros(max(ISTATE_USER, strategy.ISTATE_SIZE), dtype=np.int64)
        self.fstate = np.zeros(max(1, strategy.FSTATE_SIZE), dtype=np.float64)
        self.intents = np.zeros(max(16, 2 * options.max_orders), dtype=ORDER_INTENT_DTYPE)
        self.es = np.zeros(lp.N_ES, dtype=np.int64)
        self.es[lp.ES_NEXT_ID] = 1
        self.es[lp.ES_BATCHED] = 1
        self.touched = np.zeros(n, dtype=np.uint8)
        qptl = np.array([s.quote_per_tick_lot() for s in self.specs], dtype=np.float64)
        self.qptl = qptl
        maker = np.array(options.maker_fee or [float(s.maker_fee_rate) for s in specs])
        taker = np.array(options.taker_fee or [float(s.taker_fee_rate) for s in specs])
        self.venue = SimVenue(
            n, quote_per_tick_lot=qptl, maker_fee=maker, taker_fee=taker,
            lat_in_ns=np.asarray(options.lat_in_ns, dtype=np.int64),
            lat_out_ns=np.asarray(options.lat_out_ns, dtype=np.int64),
            queue_model=options.queue_model, power=options.queue_power,
            max_orders=4 * options.max_orders, queue_capacity=1 << 14, window=options.window,
            latency_offset=options.seed,
        )  # fmt: skip
        self.t2t_ns = np.zeros(LATENCY_RING, dtype=np.int64)
        self.t2t_n = 0
        self.clock: Clock | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._handle_ns = _NO_TIME
        self.halted = bool(self.limits["kill_switch"][self.traded].any())
        """The kill switch is on for a traded instrument (updated by ``swap``)."""
        self.quoting = True
        """False once stopped (lease lost, shutdown): nothing new is sent."""
        self.on_error: Callable[[str], None] | None = None
        self.wire: Any = None
        """Optional ``WireWriter``: new requests are also written to its socket, and the write
        is where tick-to-trade ends."""
        self.journal: Any = None
        """Optional ``PaperJournal``: new requests are also copied there (paper mode)."""
        self.on_settled: Callable[[], None] | None = None
        """Called once no order is left after ``cancel_all`` (shutdown waits on it)."""
        self.router: Any = None
        """Live mode: the ``bot.execution.Router`` orders go to (``attach_router``)."""
        self.live_acct = live.new_live_account(n)
        self._passed = np.zeros_like(self.intents)
        self._slots = np.zeros(self.intents.shape[0], dtype=np.int64)
        self._order_wake: asyncio.Handle | None = None
        self._order_trigger_ns = 0
        self._armed = False
        self.arm_on_rows = True
        """Start the timer at the first frame's rows (False: at ``on_receive``, a feed's tap)."""

    # -- live order entry ---------------------------------------------------------------------
    def attach_router(self, router: Any) -> None:
        """Send orders through ``router`` (live mode); it must hold ``self.rstate``."""
        if router.rstate is not self.rstate:
            raise ValueError("the router must keep the core's risk state")
        self.router = router
        router.on_order_update = self.on_order_rows
        router.on_fill = self.on_fill_rows
        router.tick_to_trade_hook = self._record_t2t

    def _record_t2t(self, ns: int) -> None:
        self.t2t_ns[self.t2t_n & (LATENCY_RING - 1)] = ns
        self.t2t_n += 1

    def on_order_rows(self, rows: np.ndarray) -> None:
        """The router's order update (one row): move the view, wake the strategy."""
        inst = live.live_update(rows, self.view)
        self._order_woken(int(inst))

    def on_fill_rows(self, rows: np.ndarray) -> None:
        """The router's fill (one row): move the view, position and account; wake."""
        inst = live.live_fill(rows, self.view, self.pos_local, self.live_acct)
        self._order_woken(int(inst))

    def _order_woken(self, inst: int) -> None:
        if not self.quoting:
            self._check_settled()
            return
        if not self.wake_on_order or self.clock is None:
            return
        self.touched[inst] = 1
        if self._order_wake is None:  # decide on the next loop turn: never inside the router
            self._order_trigger_ns = time.monotonic_ns()
            self._order_wake = self.clock.loop.call_soon(self._wake_on_orders)

    def _wake_on_orders(self) -> None:
        self._order_wake = None
        assert self.clock is not None
        now = self.clock.now_ns()
        for inst in np.flatnonzero(self.touched):
            self._decide(now, _WAKE_ORDER, int(inst), self._order_trigger_ns)
        self.touched[:] = 0
        self._reschedule()

    def _send_live(self, n_int: int, now: int) -> int:
        n = live.live_dispatch(n_int, self.intents, now, self.es, self.lstate, self.view,
                               self.limits, self.rstate, self.rcounts, self.qptl, self._passed,
                               self._slots)  # fmt: skip
        return int(n)

    # -- start ------------------------------------------------------------------------------
    def warm_up(self) -> None:
        """Compile (or load from numba's cache) every kernel with the real dtypes, no effect."""
        empty = np.zeros(0, dtype=self.intents.dtype)
        rows = np.zeros(0, dtype=EVENT_DTYPE)
        k.ingest_rows(rows, 0, self.apply_books, self.uses_signals, self.lqty, self.lstate,
                      self.sig, self.ring, self.ring_idx, self.sparams)  # fmt: skip
        self._venue_rows(rows)
        v = self.venue
        k.venue_until(-_NO_TIME, v.vs, v.req, v.orders, v.active, v.xqty, v.xstate, v.resp,
                      v.lat_out, v.vinst, v.acct, v.iacct, v.fills)  # fmt: skip
        k.take_responses(-_NO_TIME, v.vs, v.resp, self.es, self.view, self.rstate,
                         self.pos_local, self.touched)  # fmt: skip
        k.next_due_ns(v.vs, v.req, v.resp)
        k.cancel_everything(0, self.es, self.view[:0], v.vs, v.req, v.lat_in)
        k.dispatch(0, empty, 0, self.es, self.lstate, self.view, self.limits, self.rstate,
                   self.rcounts, v.vs, v.req, v.lat_in, v.vinst)  # fmt: skip
        self._warm_live()
        saved = (self.istate.copy(), self.fstate.copy())
        self.strategy.decide(0, _WAKE_ORDER, -1, self.lqty, self.lstate, self.sig, self.view,
                             self.pos_local, self.params, self.istate, self.fstate,
                             self.intents)  # fmt: skip
        self.istate[:], self.fstate[:] = saved

    def _warm_live(self) -> None:
        """Compile the live kernels on scratch copies (same types, no effect on the state)."""
        view, pos, acct = self.view.copy(), self.pos_local.copy(), self.live_acct.copy()
        live.live_dispatch(0, self.intents, 0, self.es, self.lstate, view, self.limits,
                           self.rstate, self.rcounts, self.qptl, self._passed,
                           self._slots)  # fmt: skip
        live.live_commit(self._passed, 0, self._slots, view)
        live.live_update(np.zeros(1, dtype=ORDER_UPDATE_DTYPE), view)
        live.live_fill(np.zeros(1, dtype=FILL_DTYPE), view, pos, acct)

    def start(self, clock: Clock) -> None:
        """Begin: the strategy's first timer call is now (sim) or at the first frame.

        With a live feed the backtest of the recorded session starts its timer at the first
        event; starting here at the first frame keeps both on the same timer grid.
        """
        self.clock = clock
        self._armed = not self.venue_local_clock
        self.istate[ISTATE_WAKE_NS] = 0 if self.venue_local_clock else clock.now_ns()
        self._reschedule()

    # -- per frame ---------------------------------------------------------------------------
    def on_receive(self, ts_local_ns: int) -> None:
        """A frame received at ``ts_local_ns`` is about to be parsed: run what is due before it.

        A live feed applies a frame to the books it shares with the core before ``on_frame``;
        a timer or answer due before the frame must not see it (the feed's tap calls this).
        The first frame received starts the strategy's timer (paper, live): a capture's first
        line, where the backtest of the capture starts its own.
        """
        if not self._armed:
            self._arm(ts_local_ns)
        if self._handle_ns < ts_local_ns:
            self._run_due(ts_local_ns - 1, time.monotonic_ns())
            self._reschedule()

    def _arm(self, ts_local_ns: int) -> None:
        self._armed = True
        if self.istate[ISTATE_WAKE_NS] == 0 and self.quoting:
            self.istate[ISTATE_WAKE_NS] = ts_local_ns
            self._reschedule()

    def on_frame(self, rows: np.ndarray, rx_mono_ns: int) -> None:
        """Apply one frame's rows; let an event-driven strategy act on it at once."""
        n = rows.shape[0]
        if n == 0:
            return
        first_ts = int(rows[0]["ts_local_ns"])
        if not self._armed and self.arm_on_rows:
            self._arm(first_ts)
        if self._handle_ns < first_ts:  # everything due before the frame
            self._run_due(first_ts - 1, time.monotonic_ns())
        # the venue sees the rows before the requests and answers due at the frame's time
        if self.router is None and self._venue_rows(rows) <= first_ts:
            self._run_due(first_ts, time.monotonic_ns(), first_ts - 1)
        inst = k.ingest_rows(rows, n, self.apply_books, self.uses_signals, self.lqty,
                             self.lstate, self.sig, self.ring, self.ring_idx,
                             self.sparams)  # fmt: skip
        if inst >= 0 and self.wake_on_event:
            self._decide(int(rows[n - 1]["ts_local_ns"]), _WAKE_EVENT, inst, rx_mono_ns)
        last_ts = int(rows[n - 1]["ts_local_ns"])
        if 0 < self.istate[ISTATE_WAKE_NS] <= last_ts:  # a timer at the frame's time sees it
            self._run_due(last_ts, time.monotonic_ns())
        self._reschedule()

    def _venue_rows(self, rows: np.ndarray) -> int:
        """Apply the rows at the simulated venue; return when a request or answer is due next."""
        v = self.venue
        return k.venue_rows(rows, rows.shape[0], self.venue_local_clock, v.vs, v.req, v.orders,
                     v.active, v.xqty, v.xstate, v.resp, v.lat_out, v.vp, v.vinst, v.acct,
                     v.iacct, v.fills)  # fmt: skip

    def _decide(self, now: int, reason: int, inst: int, trigger_mono_ns: int) -> None:
        if not self.quoting:  # stopped (lease lost, shutdown): everything was cancelled
            return
        self.istate[ISTATE_HALTED] = 1 if self.halted else 0
        es = self.es
        es[lp.ES_NOW_NS] = now
        es[lp.ES_DECIDES] += 1
        n_int = self.strategy.decide(now, reason, inst, self.lqty, self.lstate, self.sig,
                                     self.view, self.pos_local, self.params, self.istate,
                                     self.fstate, self.intents)  # fmt: skip
        if 0 < self.istate[ISTATE_WAKE_NS] <= now:  # a timer in the past would spin
            self.istate[ISTATE_WAKE_NS] = now + 1
        if n_int <= 0:
            return
        if self.router is not None:
            n = self._send_live(n_int, now)
            if n:
                self.router.send(self._passed, n, trigger_mono_ns)
                live.live_commit(self._passed, n, self._slots, self.view)
            return
        sent = es[lp.ES_ORDERS] + es[lp.ES_CANCELS] + es[lp.ES_AMENDS]
        v = self.venue
        head = v.vs[st.VS_REQ_TAIL]
        k.dispatch(n_int, self.intents, now, es, self.lstate, self.view, self.limits,
                   self.rstate, self.rcounts, v.vs, v.req, v.lat_in, v.vinst)  # fmt: skip
        if self.wire is not None:
            self.wire.write(v.req, v.vs, head)
        written = time.monotonic_ns()
        if self.journal is not None:
            self.journal.record(v.req, v.vs, head)
        new = es[lp.ES_ORDERS] + es[lp.ES_CANCELS] + es[lp.ES_AMENDS] - sent
        if new > 0:
            dt = written - trigger_mono_ns
            mask = LATENCY_RING - 1
            for _ in range(new):
                self.t2t_ns[self.t2t_n & mask] = dt
                self.t2t_n += 1
        if es[lp.ES_STATUS] != 0 and self.on_error is not None:
            self.on_error("simulated venue request queue full")

    # -- timers and venue answers -------------------------------------------------------------
    def _reschedule(self) -> None:
        v = self.venue
        due = k.next_due_ns(v.vs, v.req, v.resp)
        wake = self.istate[ISTATE_WAKE_NS]
        if wake > 0 and wake < due:
            due = int(wake)
        if due == self._handle_ns or self.clock is None:
            return
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._handle_ns = int(due)
        if due < _NO_TIME:
            self._handle = self.clock.loop.call_at(self.clock.loop_time(int(due)), self._on_wake)

    def _on_wake(self) -> None:
        self._handle = None
        self._handle_ns = _NO_TIME
        assert self.clock is not None
        self._run_due(self.clock.now_ns(), time.monotonic_ns())
        self._reschedule()

    def _run_due(self, now: int, trigger_mono_ns: int, timers_until: int | None = None) -> None:
        """Run, in time order, every venue step and answer due by ``now``, and every timer due
        by ``timers_until`` (default ``now``)."""
        v = self.venue
        timer_limit = now if timers_until is None else timers_until
        while True:
            due = int(k.next_due_ns(v.vs, v.req, v.resp))
            wake = int(self.istate[ISTATE_WAKE_NS])
            t_wake = wake if 0 < wake <= timer_limit else _NO_TIME
            t = min(due, t_wake)
            if t > now:
                return
            if due <= t_wake:
                k.venue_until(due, v.vs, v.req, v.orders, v.active, v.xqty, v.xstate, v.resp,
                              v.lat_out, v.vinst, v.acct, v.iacct, v.fills)  # fmt: skip
                got = k.take_responses(due, v.vs, v.resp, self.es, self.view, self.rstate,
                                       self.pos_local, self.touched)  # fmt: skip
                if got and self.wake_on_order:
                    for inst in np.flatnonzero(self.touched):
                        self._decide(due, _WAKE_ORDER, int(inst), trigger_mono_ns)
                self.touched[:] = 0
                if got and not self.quoting:
                    self._check_settled()
            else:
                self.istate[ISTATE_WAKE_NS] = 0
                self._decide(t_wake, _WAKE_TIMER, -1, trigger_mono_ns)
            if v.vs[st.VS_N_FILLS] > v.fills.shape[0] // 2:
                self.fills_overflow()

    def advance(self, now_ns: int) -> None:
        """Run everything due by ``now_ns`` (a caller driving the core without the loop)."""
        self._run_due(now_ns, time.monotonic_ns())

    def fills_overflow(self) -> None:
        """Hook: the venue's fill log is half full; the app drains it (metrics) and resets it."""
        self.venue.vs[st.VS_N_FILLS] = 0

    # -- control -----------------------------------------------------------------------------
    def swap(self, params: Any, limits: np.ndarray) -> None:
        """Replace params and limits between two events (hot reload); raise ``ValueError``."""
        packed = np.ascontiguousarray(self.strategy.pack(params, self.traded), dtype=np.float64)
        if packed.shape != self.params.shape:
            raise ValueError("new params change the params layout; restart instead")
        replace_limits(self.limits, limits)
        self.halted = bool(self.limits["kill_switch"][self.traded].any())
        self.params[:] = packed
        self.params_struct = params

    def cancel_all(self) -> int:
        """Stop quoting and send a cancel for every live order; return how many were sent.

        What was due by now runs first (a timer the loop has not woken for yet), so the paper
        journal's stop time splits the requests exactly as a replay's clock does.
        """
        now = self.clock.now_ns() if self.clock is not None else 0
        if self.router is None and self.quoting and self.clock is not None:
            self._run_due(now, time.monotonic_ns())
        self.quoting = False
        if self.router is not None:
            sent = sum(self.router.cancel_instrument(x) for x in self.router.instruments)
            self._check_settled()
            return int(sent)
        v = self.venue
        head = v.vs[st.VS_REQ_TAIL]
        if self.journal is not None:
            self.journal.stop(now)
        sent = k.cancel_everything(now, self.es, self.view, v.vs, v.req, v.lat_in)
        if self.journal is not None:
            self.journal.record(v.req, v.vs, head)
        self._reschedule()
        self._check_settled()
        return int(sent)

    def _check_settled(self) -> None:
        if not self.quoting and self.on_settled is not None and self.live_orders() == 0:
            self.on_settled()

    def resume(self) -> None:
        """Quote again (the lease is held): the strategy gets a timer call now, as at start."""
        self.quoting = True
        self._armed = True
        if self.clock is not None:
            self.istate[ISTATE_WAKE_NS] = self.clock.now_ns()
            self._reschedule()

    def live_orders(self) -> int:
        """Return the number of orders the local view still tracks."""
        return k.live_orders(self.view)

    def stop(self) -> None:
        """Cancel the pending timer (the loop is closing)."""
        if self._order_wake is not None:
            self._order_wake.cancel()
            self._order_wake = None
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._handle_ns = _NO_TIME
