"""Backtest engine: wires events, books, signals, a strategy, risk and the simulated venue.

``Backtest`` validates its inputs and allocates every array once; ``run`` then drives the
compiled loop (``bot.backtest._loop``, generated per strategy by ``loopgen``) in chunks of
events, which gives a progress callback, lets the fill buffer grow, and lets a caller swap
strategy params or risk limits between two events (``swap_params``). The loop is deterministic:
the same events, config and seed give byte-identical results.

Events are read in place (a memory-mapped event file is never copied), sorted by local receive
time; the venue side reads the same array through its own cursor at exchange time.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from bot.backtest import sim_types as st
from bot.backtest.loopgen import load_loop
from bot.backtest.sim_types import QueueModel
from bot.backtest.sim_venue import SimVenue
from bot.core.book import DEFAULT_WINDOW, new_books
from bot.core.dtypes import EVENT_DTYPE, ORDER_INTENT_DTYPE
from bot.core.instruments import InstrumentSpec
from bot.core.risk import RISK_LIMITS_DTYPE, new_risk, replace_limits
from bot.core.signal import new_signals, signal_params
from bot.core.strategy_api import ISTATE_HALTED, ISTATE_USER, ISTATE_WAKE_NS, new_order_view
from strategies import reload_changes

CHUNK_EVENTS = 1 << 18
"""Events per call of the compiled loop (progress granularity)."""


class BacktestError(RuntimeError):
    """The backtest could not run or stopped on a broken invariant."""


class DataError(BacktestError):
    """The events are unusable: unsorted by local time, or naming unknown instruments."""


@dataclass(frozen=True, kw_only=True)
class EngineOptions:
    """How the simulated venue behaves (validated by ``bot.config.schema``)."""

    lat_in_ns: np.ndarray = field(default_factory=lambda: np.array([0], dtype=np.int64))
    """Order-entry latency, local -> venue (one value, or measured values used in turn)."""
    lat_out_ns: np.ndarray = field(default_factory=lambda: np.array([0], dtype=np.int64))
    """Response latency, venue -> local."""
    queue_model: QueueModel = QueueModel.PROBABILISTIC
    queue_power: float = 2.0
    maker_fee: Sequence[float] | None = None
    """Per-instrument maker fee rate (fraction, negative = rebate); None: from the specs."""
    taker_fee: Sequence[float] | None = None
    funding: bool = False
    sample_interval_ns: int = 1_000_000_000
    initial_capital_quote: float = 100_000.0
    seed: int = 0
    max_orders: int = 64
    """Capacity of the local order view (and a quarter of the venue's order table)."""
    window: int = DEFAULT_WINDOW


def as_event_array(events: np.ndarray) -> np.ndarray:
    """Return ``events`` as a read-only ndarray view (no copy; one compiled type for all)."""
    if events.dtype != EVENT_DTYPE:
        raise BacktestError(f"events must have EVENT_DTYPE, got {events.dtype}")
    if events.ndim != 1 or events.shape[0] == 0:
        raise BacktestError("need a non-empty 1-d event array")
    view = np.asarray(events).view(np.ndarray)
    view = view.view()
    view.flags.writeable = False
    return view


_PAGE = mmap.PAGESIZE
_MADV_DONTNEED = 4


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """Return the C library (for ``madvise``) on Linux, loaded on first use, not at import."""
    return ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def release_pages(events: np.ndarray, upto: int) -> None:
    """Drop the already-read pages of a memory-mapped event file from this process's memory.

    Read-only file pages come back from the page cache if touched again, so this is safe for
    ``np.memmap`` arrays only (and a no-op elsewhere); it keeps peak RSS flat however long the
    file is (the kernel would otherwise count every page read so far).
    """
    if not isinstance(events, np.memmap) or upto <= 0:
        return
    libc = _libc()
    if libc is None:
        return
    start = events.ctypes.data
    first = -(-start // _PAGE) * _PAGE
    end = (start + upto * events.itemsize) // _PAGE * _PAGE
    if end > first:
        libc.madvise(ctypes.c_void_p(first), ctypes.c_size_t(end - first), _MADV_DONTNEED)


def n_inst_of(bt: Backtest) -> int:
    """Return the number of instruments of a backtest."""
    return len(bt.specs)


def has_batch_flags(events: np.ndarray, probe: int = 100_000) -> bool:
    """Return whether the data marks message ends (BATCH_END) in its first ``probe`` rows."""
    head = events[:probe]
    return bool(np.any(head["flags"] & 2))


class Backtest:
    """One backtest run: every array it needs, allocated once."""

    def __init__(
        self,
        events: np.ndarray,
        specs: Sequence[InstrumentSpec],
        strategy: ModuleType,
        params: Any,
        traded: Sequence[int],
        limits: np.ndarray,
        options: EngineOptions | None = None,
    ) -> None:
        opts = options if options is not None else EngineOptions()
        self.options = opts
        self.events = as_event_array(events)
        self.source = events  # the np.memmap, if it is one (see release_pages)
        self.specs = list(specs)
        n_inst = len(self.specs)
        if n_inst == 0:
            raise BacktestError("no instruments")
        if limits.dtype != RISK_LIMITS_DTYPE or limits.shape != (n_inst,):
            raise BacktestError("limits must be RISK_LIMITS_DTYPE rows, one per instrument")
        for i in traded:
            if not 0 <= i < n_inst:
                raise BacktestError(f"traded instrument id {i} out of range")
        self.strategy = strategy
        self.loop = load_loop(strategy)
        self.traded = list(traded)
        qptl = np.array([s.quote_per_tick_lot() for s in self.specs])
        maker = np.array(
            opts.maker_fee
            if opts.maker_fee is not None
            else [float(s.maker_fee_rate) for s in specs]
        )
        taker = np.array(
            opts.taker_fee
            if opts.taker_fee is not None
            else [float(s.taker_fee_rate) for s in specs]
        )
        self.venue = SimVenue(
            n_inst,
            quote_per_tick_lot=qptl,
            maker_fee=maker,
            taker_fee=taker,
            lat_in_ns=np.asarray(opts.lat_in_ns, dtype=np.int64),
            lat_out_ns=np.asarray(opts.lat_out_ns, dtype=np.int64),
            queue_model=opts.queue_model,
            power=opts.queue_power,
            funding=opts.funding,
            max_orders=4 * opts.max_orders,
            queue_capacity=1 << 14,
            window=opts.window,
            latency_offset=opts.seed,
        )
        self.lqty, self.lstate = new_books(n_inst, opts.window)
        self.sig, self.ring, self.ring_idx = new_signals(n_inst)
        self.sparams = signal_params()
        self.limits = limits.copy()
        _, self.rstate, self.rcounts = new_risk(n_inst)
        self.view = new_order_view(opts.max_orders)
        self.pos_local = np.zeros(n_inst, dtype=np.int64)
        self.params_struct = params
        try:
            packed = strategy.pack(params, self.traded)
        except ValueError as e:
            raise BacktestError(f"strategy.params: {e}") from None
        self.params = np.ascontiguousarray(packed, dtype=np.float64)
        self.istate = np.zeros(max(ISTATE_USER, strategy.ISTATE_SIZE), dtype=np.int64)
        self.istate[ISTATE_WAKE_NS] = int(self.events["ts_local_ns"][0])  # the first timer call
        self.fstate = np.zeros(max(1, strategy.FSTATE_SIZE), dtype=np.float64)
        self.intents = np.zeros(max(16, 2 * opts.max_orders), dtype=ORDER_INTENT_DTYPE)
        self.es = np.zeros(self.loop.N_ES, dtype=np.int64)
        self.es[self.loop.ES_NEXT_ID] = 1
        self.es[self.loop.ES_BATCHED] = 1 if has_batch_flags(self.events) else 0
        release_pages(self.source, min(100_000, self.events.shape[0]))
        t0 = int(self.events["ts_local_ns"][0])
        t1 = int(self.events["ts_local_ns"][-1])
        if opts.sample_interval_ns <= 0:
            raise BacktestError("sample interval must be > 0")
        n_samples = min((t1 - t0) // opts.sample_interval_ns + 2, 10_000_000)
        self.es[self.loop.ES_NEXT_SAMPLE_NS] = t0
        self.mark = np.full(n_inst, np.nan)
        self.s_ts = np.zeros(n_samples, dtype=np.int64)
        self.s_equity = np.zeros(n_samples)
        self.s_pos = np.zeros((n_samples, n_inst), dtype=np.int64)
        self.s_mid = np.zeros((n_samples, n_inst))
        self.s_spread = np.zeros((n_samples, n_inst))
        self.fill_headroom = 300 + 4 * opts.max_orders
        self.compile_s = 0.0
        self.run_s = 0.0
        self._req_seen = 0
        self._req_chunks: list[np.ndarray] = []
        self.requests_lost = 0
        """Requests sent but overwritten in the venue's ring before ``run`` could log them."""

    def _call(self, stop: int) -> int:
        v = self.venue
        # limits change only between calls (swap_limits, risk.halt), so this is always current
        t = self.traded
        halted = bool(self.limits["kill_switch"][t].any() or self.rstate["halted"][t].any())
        self.istate[ISTATE_HALTED] = 1 if halted else 0
        return int(
            self.loop.run_loop(
                self.events, stop, self.es, v.xqty, v.xstate, self.lqty, self.lstate, self.sig,
                self.ring, self.ring_idx, self.sparams, v.vs, v.orders, v.active, v.req, v.resp,
                v.lat_in, v.lat_out, v.vp, v.vinst, v.acct, v.iacct, v.fills, self.limits,
                self.rstate, self.rcounts, self.view, self.pos_local, self.params, self.istate,
                self.fstate, self.intents, self.mark, self.s_ts, self.s_equity, self.s_pos,
                self.s_mid, self.s_spread, self.options.sample_interval_ns, self.fill_headroom,
            )
        )  # fmt: skip

    def warm_up(self) -> float:
        """Compile (or load from cache) the loop without processing events; return seconds."""
        t = time.perf_counter()
        self._call(int(self.es[self.loop.ES_L]))
        self.compile_s = time.perf_counter() - t
        return self.compile_s

    @property
    def position(self) -> int:
        """Return the index of the next local event to process."""
        return int(self.es[self.loop.ES_L])

    def run(
        self,
        stop: int | None = None,
        progress: Callable[[int, int], None] | None = None,
        chunk: int = CHUNK_EVENTS,
    ) -> None:
        """Process events up to local index ``stop`` (default: all)."""
        n = self.events.shape[0]
        end = n if stop is None else min(stop, n)
        if self.compile_s == 0.0:
            self.warm_up()
        t = time.perf_counter()
        while self.position < end:
            target = min(end, self.position + chunk)
            status = self._call(target)
            if self._log_requests() > self.venue.req.shape[0] // 2:
                chunk = max(1024, chunk // 4)  # dense requests: log before the ring wraps
            if status == self.loop.STOP_FILLS_FULL:
                self.venue.grow_fills()
            elif status == self.loop.STOP_BAD_INSTRUMENT:
                row = int(self.es[self.loop.ES_X])
                inst = int(self.events["instrument"][row])
                raise DataError(
                    f"event {row} names instrument {inst}; the file has {n_inst_of(self)}"
                )
            elif status == self.loop.STOP_UNSORTED:
                raise DataError(f"events are not sorted by local time (at event {self.position})")
            elif status != self.loop.STOP_DONE:
                err = int(self.venue.vs[st.VS_ERROR])
                raise BacktestError(f"engine stopped at event {self.position}: venue error {err}")
            release_pages(self.source, min(self.position, int(self.es[self.loop.ES_X])) - 1024)
            if progress is not None:
                progress(self.position, n)
        self.run_s += time.perf_counter() - t

    def _log_requests(self) -> int:
        """Copy the requests sent since the last call out of the venue's ring; return how many."""
        v = self.venue
        tail = int(v.vs[st.VS_REQ_TAIL])
        ring = v.req.shape[0]
        start = max(self._req_seen, tail - ring)
        self.requests_lost += start - self._req_seen
        if tail > start:
            self._req_chunks.append(v.req[np.arange(start, tail) & (ring - 1)])
        sent = tail - self._req_seen
        self._req_seen = tail
        return sent

    def request_rows(self) -> np.ndarray:
        """Return every request sent to the venue so far, in order (``REQUEST_DTYPE``)."""
        self._log_requests()
        if not self._req_chunks:
            return np.zeros(0, dtype=st.REQUEST_DTYPE)
        if len(self._req_chunks) > 1:
            self._req_chunks = [np.concatenate(self._req_chunks)]
        return self._req_chunks[0]

    def swap_params(self, params: Any) -> None:
        """Replace the strategy params between two events (hot reload).

        Only fields in ``Params.RELOADABLE`` may change; the whole array is copied at once, so
        the next ``decide`` sees only the new values.
        """
        fixed = reload_changes(self.params_struct, params)
        if fixed:
            raise BacktestError(f"not reloadable (restart instead): {', '.join(fixed)}")
        try:
            packed = self.strategy.pack(params, self.traded)
        except ValueError as e:
            raise BacktestError(f"strategy.params: {e}") from None
        new = np.ascontiguousarray(packed, dtype=np.float64)
        if new.shape != self.params.shape:
            raise BacktestError("new params change the params layout; restart instead")
        self.params[:] = new
        self.params_struct = params

    def swap_limits(self, limits: np.ndarray) -> None:
        """Replace the risk limits between two events (hot reload, kill switch)."""
        try:
            replace_limits(self.limits, limits)
        except ValueError as e:
            raise BacktestError(str(e)) from None

    def counters(self) -> dict[str, int]:
        """Return the engine's and venue's counters."""
        es, vs, lp = self.es, self.venue.vs, self.loop
        return {
            "orders_sent": int(es[lp.ES_ORDERS]),
            "cancels_sent": int(es[lp.ES_CANCELS]),
            "amends_sent": int(es[lp.ES_AMENDS]),
            "risk_rejects": int(es[lp.ES_RISK_REJECTS]),
            "venue_rejects": int(es[lp.ES_VENUE_REJECTS]),
            "intents_dropped": int(es[lp.ES_DROPPED]),
            "cancels_lost": int(vs[st.VS_CANCEL_LOST]),
            "decide_calls": int(es[lp.ES_DECIDES]),
            "submitted_lot": int(es[lp.ES_SUBMITTED_LOT]),
            "fills": int(vs[st.VS_N_FILLS]),
        }
