"""The live runtime's composition root: the one place that wires the parts of ``tickbot run``.

Start-up is one path (crash-only): validate the config → pin the CPU → instrument specs → the
core, with every kernel compiled or loaded from numba's cache → the metrics/health port →
market data → ``gc.freeze()`` → trade. Everything then runs in one ``asyncio.TaskGroup`` on one
uvloop loop: market data (the synthetic market in ``sim``, the ingest supervisors in ``paper``
and ``live``) feeding the core synchronously frame by frame, the loop monitor, the metrics
exporter, the config watcher, the lease and the terminal view.

In ``paper`` and ``live`` mode ``capture.path`` records the raw market data as ``tickbot record``
does (one folder per venue); in ``paper`` mode ``journal.path`` journals every request sent to
the simulated venue (``bot.runtime.paperjournal``): together they are a session that
``tickbot backtest`` replays to the same orders.

In ``live`` mode the order router (``bot.execution.Router``) replaces the simulated venue: one
account (signed order entry and user stream) per venue, the journal in ``journal.path``. It is
started (journal replayed, accounts reconciled) once the lease is held, before any order; the
core quotes only after that, and the router owns the risk state from then on.

Shutdown (SIGTERM, SIGINT, ``--duration``, a lost lease stops quoting only): stop quoting,
cancel every order and wait for the venue to confirm (bounded by
``runtime.shutdown_timeout_s``; in live mode the router's shutdown, which also flushes the
journal, bounded by ``execution.shutdown_deadline_s``), export the last metrics, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numba
import numpy as np

import strategies
from bot import __version__
from bot.adapters.base import EventBuffer
from bot.config.reload import ConfigWatcher, Snapshot, export_active
from bot.core.book import DEFAULT_WINDOW, ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from bot.core.instruments import specs_to_builtins
from bot.ingest.capture import header
from bot.ingest.recorder import CaptureRecorder, CaptureWriter
from bot.ingest.supervisor import FeedSupervisor, SupervisorOptions
from bot.ingest.transport import DEFAULT_TRANSPORT
from bot.ingest.venues import build_feed
from bot.metrics import registry as m
from bot.metrics.server import LoopMonitor, MetricsServer
from bot.runtime.clock import Clock, MarketClock, WallClock
from bot.runtime.core import TradingCore
from bot.runtime.export import Exporter, Totals
from bot.runtime.mdtap import MarketDataTap
from bot.runtime.setup import (
    StartupError,
    engine_options,
    limits_for,
    load_credentials,
    sim_specs,
    venue_specs,
)
from bot.runtime.simmarket import SimMarket
from bot.runtime.view import TerminalView

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """Command-line overrides of ``tickbot run`` / ``tickbot demo``."""

    config_path: Path | None = None
    """Watched for hot reload (None: no watcher, e.g. the demo's built-in config)."""
    speed: float | None = None
    metrics_host: str | None = None
    metrics_port: int | None = None
    duration_s: float | None = None
    view: bool = False
    reload_poll_s: float = 0.5


@dataclass
class RunResult:
    """What a run did (the demo prints it)."""

    totals: Totals
    metrics_port: int = 0
    duration_s: float = 0.0
    symbols: list[str] = field(default_factory=list)


def warm_feed(venue: str, specs: list[Any], overrides: dict[str, Any]) -> float:
    """Compile (or load from numba's cache) a venue feed's kernels before connecting.

    A throwaway feed with books of its own is connected and parses an empty frame on every
    connection, so the first real frame does not pay for loading the parser; return seconds.
    """
    t = time.perf_counter()
    qty, state = new_books(len(specs), DEFAULT_WINDOW)
    feed = build_feed(venue, specs, qty, state, **overrides)
    out = EventBuffer(1 << 10)
    quiet = logging.getLogger("bot.adapters")
    was = quiet.disabled
    quiet.disabled = True  # the empty frame is malformed on purpose: no noise
    try:
        for url in feed.ws_urls():
            feed.on_connect(0, out, url=url)
            feed.on_message(b"{}", 0, out)
            out.clear()
    except Exception as e:  # a warm-up never stops a start: the first frame compiles instead
        log.warning("feed warm-up of %s failed: %s: %s", venue, type(e).__name__, e)
    finally:
        quiet.disabled = was
    seconds = time.perf_counter() - t
    log.info("%s feed kernels ready in %.2f s", venue, seconds)
    return seconds


class App:
    """One ``tickbot run`` process."""

    def __init__(self, snapshot: Snapshot, options: RunOptions) -> None:
        self.snapshot = snapshot
        self.cfg = snapshot.config
        self.options = options
        self.module = strategies.load(self.cfg.strategy.name)
        self.core: TradingCore | None = None
        self.server: MetricsServer | None = None
        self.monitor = LoopMonitor()
        self.supervisors: list[FeedSupervisor] = []
        self.taps: list[MarketDataTap] = []
        self.sims: list[SimMarket] = []
        self.recorders: list[CaptureRecorder] = []
        self.paper_journal: Any = None
        """Paper mode with ``journal.path``: the ``PaperJournal`` of the requests sent."""
        self.lease: Any = None
        self.stop = asyncio.Event()
        self.started = False
        self.watcher: ConfigWatcher | None = None
        self.exporter: Exporter | None = None
        self.router: Any = None
        """Live mode: the order router (``bot.execution.Router``)."""
        self.router_started = False
        self.fatal: str | None = None
        """Why a live start failed inside the task group (raised as ``StartupError``)."""
        self._lease_held = asyncio.Event()

    # -- readiness ---------------------------------------------------------------------------
    def not_ready(self) -> list[str]:
        """Return why the bot is not ready to trade (empty: ready)."""
        reasons: list[str] = []
        core = self.core
        if core is None or not self.started:
            return ["starting"]
        state = core.lstate
        for inst, spec in enumerate(core.specs):
            valid = state[inst, ST_VALID] != 0
            if not valid or state[inst, ST_BEST_BID] >= state[inst, ST_BEST_ASK]:
                reasons.append(f"book {spec.venue}:{spec.symbol} not in sync")
        for sup in self.supervisors:
            label = sup.feed.venue.label
            if not sup.status.connected or not all(sup.status.connected.values()):
                reasons.append(f"venue {label} disconnected")
        if self.lease is not None and not self.lease.held:
            reasons.append("lease not held")
        if self.router is not None and not self.router.ready:
            reasons.append("order router not ready")
        if core.halted:
            reasons.append("kill switch on")
        if not core.quoting:
            reasons.append("not quoting")
        return reasons

    # -- start-up ----------------------------------------------------------------------------
    def _pin_cpu(self) -> None:
        cores = self.cfg.runtime.cpu_affinity
        if cores is None or not hasattr(os, "sched_setaffinity"):
            return
        try:
            os.sched_setaffinity(0, set(cores))
        except OSError as e:
            raise StartupError(f"runtime.cpu_affinity {cores}: {e.strerror}") from None
        log.info("trading thread pinned to cores %s", sorted(os.sched_getaffinity(0)))

    async def _build_core(self) -> TradingCore:
        cfg = self.cfg
        credentials = {}
        if cfg.mode == "live":
            traded_venues = {ref.venue for ref in cfg.instruments}
            for section in cfg.venues:
                if section.name in traded_venues:  # refuse to start without them (scrubbed)
                    credentials[section.name] = load_credentials(section)
        specs = sim_specs(cfg) if cfg.mode == "sim" else await venue_specs(cfg)
        traded = list(range(len(specs)))
        check = getattr(self.module, "check_instruments", None)
        if check is not None:
            try:
                check(self.snapshot.params, specs)
            except ValueError as e:
                raise StartupError(f"instruments: {e}") from None
        options = engine_options(cfg)
        qty, state = new_books(len(specs), options.window)
        limits = limits_for(cfg.risk, len(specs), traded)
        core = TradingCore(
            specs, self.module, self.snapshot.params, traded, limits, options,
            apply_books=cfg.mode == "sim", venue_local_clock=cfg.mode != "sim",
            qty=qty, state=state,
        )  # fmt: skip
        t = time.perf_counter()
        core.warm_up()
        log.info("kernels ready in %.2f s (numba cache %s)", time.perf_counter() - t,
                 os.environ.get("NUMBA_CACHE_DIR", "default"))  # fmt: skip
        if cfg.mode == "live":
            self._build_router(core, credentials)
        elif cfg.mode == "paper" and cfg.journal.path is not None:
            self._build_paper_journal(core, cfg.journal.path)
        return core

    def _build_paper_journal(self, core: TradingCore, path: str) -> None:
        """Paper mode: journal every request sent to the simulated venue."""
        from bot.execution.journal import Journal, JournalError
        from bot.runtime.paperjournal import PaperJournal

        journal = PaperJournal(Journal.from_section(path, self.cfg.execution), core.specs)
        try:
            journal.open()
        except JournalError as e:
            raise StartupError(f"journal.path: {e}") from None
        journal.warm_up()
        core.journal = self.paper_journal = journal

    def _build_router(self, core: TradingCore, credentials: dict[str, Any]) -> None:
        """Live mode: one account per traded venue, the journal, the router on the core."""
        from bot.execution import Account, AccountSettings, Journal, Router
        from bot.runtime.accounts import order_entry

        cfg = self.cfg
        ex = cfg.execution
        settings = AccountSettings.from_section(ex)
        accounts = []
        for section in cfg.venues:
            symbols = tuple(s.symbol for s in core.specs if s.venue == section.name)
            if not symbols:
                continue
            entry, stream = order_entry(
                section, credentials[section.name], symbols, ex.request_timeout_s
            )
            accounts.append(Account(entry, stream, settings))
        assert cfg.journal.path is not None  # run_errors: required in live mode
        journal = Journal(
            cfg.journal.path,
            rotate_bytes=ex.journal_rotate_bytes,
            fsync_interval_s=ex.journal_fsync_interval_ms / 1000.0,
            keep_files=ex.journal_keep_files,
        )
        self.router = Router(accounts, core.specs, journal, core.rstate)
        core.attach_router(self.router)
        core.quoting = False  # until the router has started (journal replayed, reconciled)

    async def _start_router(self, core: TradingCore) -> None:
        """Live mode: once the lease is held, start the router, then quote."""
        if self.lease is not None:
            await self._lease_held.wait()
        t = time.perf_counter()
        try:
            await self.router.start()
        except Exception as e:  # any failure to reconcile stops the start
            self.fatal = f"order router did not start: {type(e).__name__}: {e}"
            self.stop.set()
            return
        self.router_started = True
        log.info("order router started in %.2f s: journal replayed, accounts reconciled",
                 time.perf_counter() - t)  # fmt: skip
        if self.lease is None or self.lease.held:
            core.resume()

    def _market_data(self, core: TradingCore, clock: Clock) -> list[Any]:
        """Return the market-data coroutines of this mode."""
        cfg = self.cfg
        if cfg.mode == "sim":
            assert isinstance(clock, MarketClock)
            self.sims = [
                SimMarket(cfg.sim, spec, inst, cfg.sim.seed + inst, clock.loop_time)
                for inst, spec in enumerate(core.specs)
            ]
            for sim in self.sims:
                sim.prepare()
            return [sim.run(core.on_frame) for sim in self.sims]
        runs = []
        core.arm_on_rows = False  # the taps start the timer, at the first frame received
        for section in cfg.venues:
            ids = [i for i, s in enumerate(core.specs) if s.venue == section.name]
            if not ids:
                continue
            overrides: dict[str, Any] = {}
            if section.ws_url:
                overrides["ws_url"] = section.ws_url
            if section.rest_url:
                overrides["rest_url"] = section.rest_url
            specs = [core.specs[i] for i in ids]
            warm_feed(section.name, specs, overrides)
            feed = build_feed(section.name, specs, core.lqty, core.lstate,
                              first_instrument=ids[0], **overrides)  # fmt: skip
            recorder = self._recorder(section.name, specs)
            if recorder is not None:
                runs.append(recorder.run())
            tap = MarketDataTap(section.name, inner=recorder, on_rx=core.on_receive)
            self.taps.append(tap)

            def sink(rows: np.ndarray, tap: MarketDataTap = tap) -> None:
                core.on_frame(rows, tap.rx_ns or time.monotonic_ns())

            symbols = {i: core.specs[i].symbol for i in ids}
            options = SupervisorOptions(transport=section.transport or DEFAULT_TRANSPORT)
            sup = FeedSupervisor(feed, sink, core.lstate, symbols=symbols, options=options,
                                 tap=tap)  # fmt: skip
            self.supervisors.append(sup)
            runs.append(sup.run())
        return runs

    def _recorder(self, venue: str, specs: list[Any]) -> CaptureRecorder | None:
        """Return the capture recorder of one venue's feed (``capture.path``), or None."""
        section = self.cfg.capture
        if section.path is None:
            return None
        started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        head = header(venue, [s.symbol for s in specs], specs_to_builtins(specs), started)
        try:
            writer = CaptureWriter(
                Path(section.path) / venue,
                head,
                rotate_bytes=int(section.rotate_mb * (1 << 20)),
                rotate_s=section.rotate_minutes * 60.0,
            )
        except OSError as e:
            raise StartupError(f"capture.path: {section.path}: {e.strerror}") from None
        recorder = CaptureRecorder(writer)
        self.recorders.append(recorder)
        return recorder

    # -- hot reload --------------------------------------------------------------------------
    def _apply(self, new: Snapshot, changed: list[str]) -> None:
        core = self.core
        assert core is not None
        limits = limits_for(new.config.risk, len(core.specs), core.traded)
        core.swap(new.params, limits)
        self.snapshot = new
        m.KILL_SWITCH.set(1 if core.halted else 0)

    # -- periodic ----------------------------------------------------------------------------
    async def _export_loop(self) -> None:
        assert self.exporter is not None
        while True:
            await asyncio.sleep(1.0)
            self._export_once()

    def _export_once(self) -> None:
        assert self.exporter is not None
        self.exporter.export()
        if self.paper_journal is not None:
            self.paper_journal.drain()
        for tap in self.taps:
            tap.export()
        for sim in self.sims:
            self._export_sim(sim)
        for sup in self.supervisors:
            up = bool(sup.status.connected) and all(sup.status.connected.values())
            m.VENUE_CONNECTED.labels(sup.feed.venue.label).set(1 if up else 0)
        m.READY.set(0 if self.not_ready() else 1)
        if self.lease is not None:
            m.LEASE_HELD.set(1 if self.lease.held else 0)

    def _export_sim(self, sim: SimMarket) -> None:
        venue_label = sim.params.venue
        seen = getattr(sim, "_exported", (0, 0))
        msgs, rows = sim.messages, sim.rows
        if msgs > seen[0]:
            m.MD_MESSAGES.labels(venue_label, "synthetic").inc(msgs - seen[0])
            m.MD_BYTES.labels(venue_label, "synthetic").inc((rows - seen[1]) * 48)
        sim._exported = (msgs, rows)  # type: ignore[attr-defined]
        if sim.last_rx_ns:
            m.FEED_STALENESS.labels(venue_label).set((time.monotonic_ns() - sim.last_rx_ns) * 1e-9)
        m.VENUE_CONNECTED.labels(venue_label).set(1)

    # -- the run -----------------------------------------------------------------------------
    async def run(self) -> RunResult:
        """Start, trade until told to stop, cancel everything; return what happened."""
        cfg = self.cfg
        loop = asyncio.get_running_loop()
        began = time.monotonic()
        self._pin_cpu()
        m.BUILD_INFO.labels(__version__, sys.version.split()[0], numba.__version__).set(1)
        export_active(self.snapshot)
        log.info("starting: mode %s, strategy %s, config hash %s", cfg.mode, cfg.strategy.name,
                 self.snapshot.hash, extra={"strategy": cfg.strategy.name,
                                            "config_hash": self.snapshot.hash})  # fmt: skip
        core = self.core = await self._build_core()
        self._make_lease(core)
        self.exporter = Exporter(core, log_interval_s=cfg.runtime.stats_log_interval_s)
        port = 0
        if cfg.metrics.enabled:
            host = self.options.metrics_host or cfg.metrics.host
            want = (
                cfg.metrics.port if self.options.metrics_port is None else self.options.metrics_port
            )
            deadline_s = cfg.metrics.health_deadline_s
            self.server = MetricsServer(
                host, want, self.not_ready, self.monitor, health_deadline_s=deadline_s
            )
            self.monitor.beat()
            port = await self.server.start()
            log.info("metrics and probes on http://%s:%d (/metrics /healthz /readyz)", host, port,
                     extra={"metrics_port": port})  # fmt: skip
        speed = self.options.speed or cfg.sim.speed
        clock: Clock = (
            MarketClock(loop, SimMarket.origin_ns(), speed)
            if cfg.mode == "sim"
            else WallClock(loop)
        )
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._signal, sig)
        try:
            async with asyncio.TaskGroup() as tg:
                feeds = self._market_data(core, clock)
                if isinstance(clock, MarketClock):
                    clock.restart()
                tasks = [tg.create_task(c) for c in feeds]
                tasks.append(tg.create_task(self.monitor.run(), name="loop-monitor"))
                tasks.append(tg.create_task(self._export_loop(), name="metrics-export"))
                if self.options.config_path is not None:
                    self.watcher = ConfigWatcher(
                        self.options.config_path,
                        self.snapshot,
                        self._apply,
                        poll_s=self.options.reload_poll_s,
                    )
                    tasks.append(tg.create_task(self.watcher.run(), name="config-watcher"))
                tasks.extend(self._extra_tasks(tg, core))
                if self.router is not None:
                    tasks.append(tg.create_task(self._start_router(core), name="router-start"))
                core.start(clock)
                self.started = True
                if cfg.runtime.gc_freeze:
                    gc.collect()
                    gc.freeze()
                log.info("trading (%d instrument(s)); ready once every book is in sync",
                         len(core.specs))  # fmt: skip
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.options.duration_s):
                        await self.stop.wait()
                await self._shutdown(core)
                for task in tasks:
                    task.cancel()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
            core.stop()
            if self.server is not None:
                await self.server.stop()
            if self.paper_journal is not None:
                ok = await asyncio.to_thread(self.paper_journal.close)
                log.info("paper journal: %d request(s) journaled%s", self.paper_journal.written,
                         "" if ok else " (not all written)")  # fmt: skip
        if self.fatal is not None:
            raise StartupError(self.fatal)
        self._export_once()
        self.exporter.log_latency()
        return RunResult(self.exporter.totals, port, time.monotonic() - began,
                         [f"{s.venue}:{s.symbol}" for s in core.specs])  # fmt: skip

    def _extra_tasks(self, tg: asyncio.TaskGroup, core: TradingCore) -> list[asyncio.Task[Any]]:
        """Lease and terminal view tasks (when configured)."""
        tasks = []
        if self.lease is not None:
            tasks.append(tg.create_task(self.lease.run(), name="lease"))
        if self.options.view:
            assert self.exporter is not None
            exporter = self.exporter
            view = TerminalView(core, lambda: exporter.totals, self._messages, self._connections)
            tasks.append(tg.create_task(view.run(), name="terminal-view"))
        return tasks

    def _messages(self) -> int:
        return sum(t.messages() for t in self.taps) + sum(s.messages for s in self.sims)

    def _connections(self) -> dict[str, bool]:
        links = {s.params.venue: True for s in self.sims}
        for sup in self.supervisors:
            links[sup.feed.venue.label] = bool(sup.status.connected) and all(
                sup.status.connected.values()
            )
        return links

    def _make_lease(self, core: TradingCore) -> None:
        """With ``lease.enabled``: no order before the Lease is held; losing it cancels all."""
        if not self.cfg.lease.enabled:
            return
        from bot.lease import LeaseKeeper  # the kubernetes client: imported only when used

        core.quoting = False

        def acquired() -> None:
            self._lease_held.set()
            if self.router is None or self.router_started:
                core.resume()

        def lost(reason: str) -> None:
            self._lease_held.clear()
            sent = core.cancel_all()
            log.error("lease lost (%s): quoting stopped, %d cancel(s) sent", reason, sent)

        self.lease = LeaseKeeper(self.cfg.lease, on_acquired=acquired, on_lost=lost)

    def _signal(self, sig: signal.Signals) -> None:
        log.info("%s received: stopping", sig.name)
        self.stop.set()

    async def _shutdown(self, core: TradingCore) -> None:
        """Stop quoting, cancel every order, wait (bounded) until the venue confirmed."""
        if self.router is not None:
            await self._shutdown_router(core)
            return
        settled = asyncio.Event()
        core.on_settled = settled.set
        sent = core.cancel_all()
        log.info("cancel-all: %d cancel(s) sent, %d order(s) live", sent, core.live_orders())
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.cfg.runtime.shutdown_timeout_s):
                await settled.wait()
        left = core.live_orders()
        if left:
            log.error("cancel-all: %d order(s) still live after %.1f s", left,
                      self.cfg.runtime.shutdown_timeout_s)  # fmt: skip
        else:
            log.info("cancel-all: done, no order left")

    async def _shutdown_router(self, core: TradingCore) -> None:
        """Live mode: the router cancels all, confirms with the venue, flushes the journal."""
        core.quoting = False
        if not self.router_started:
            for acct in self.router.accounts.values():
                with contextlib.suppress(Exception):
                    await acct.entry.close()
            return
        deadline_s = self.cfg.execution.shutdown_deadline_s
        report = await self.router.shutdown(deadline_s=deadline_s)
        if report.ok:
            log.info("cancel-all: done, no order left (%.2f s, journal flushed)",
                     report.elapsed_s)  # fmt: skip
        else:
            log.error("cancel-all: %d order(s) still open on the venue after %.1f s",
                      report.open_left, report.elapsed_s)  # fmt: skip
