"""Start-up, user streams, dead-man switches and shutdown of a ``Router``.

Start-up: replay the journal, take a new run id, open a new journal file with a snapshot, hook
each adapter's rate-limit usage into its limiter, connect the user streams and reconcile each
account once its stream is subscribed (or at once, without a stream), arm the dead-man switches
(logging each venue that has none), then accept orders. A failed reconciliation fails the start:
the bot never trades on a state it could not check.

Shutdown (``shutdown``): stop accepting, cancel everything (the venue's cancel-all where it
exists, else order by order), confirm from the venue's open orders and re-cancel what is left,
settle what the router still holds as live, stop the background tasks, flush and close the
journal and the adapters: all within the deadline, so the caller can exit 0 in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.adapters.errors import AdapterError
from bot.adapters.trading import FillReport, NotSupportedError, OrderReport, StreamConnected
from bot.core.dtypes import OrderStatus
from bot.execution.ids import IdSource, new_run_id
from bot.execution.journal import replay
from bot.execution.orders import transition
from bot.execution.ratelimit import Op
from bot.execution.reconcile import reconcile
from bot.execution.recovery import restore

if TYPE_CHECKING:
    from bot.execution.account import Account
    from bot.execution.router import Router

log = logging.getLogger(__name__)
S = OrderStatus
STREAM_BACKOFF_FIRST_S = 0.2
STREAM_BACKOFF_MAX_S = 30.0
FLUSH_RESERVE_S = 2.0
"""Part of the shutdown deadline kept for flushing the journal and closing sockets."""
CONFIRM_ROUNDS = 5
STREAM_CONNECT_GRACE_S = 2.0
"""A stream that does not yield ``StreamConnected`` is reconciled this long after it starts."""


@dataclass(frozen=True)
class ShutdownReport:
    """What ``shutdown`` achieved."""

    ok: bool
    """Every venue confirmed no open order of ours, and the journal is flushed."""
    open_left: int
    """Open orders the venues still listed at the end (0 when ``ok``)."""
    elapsed_s: float


class AccountState:
    """Start-up and stream status of one account (readiness)."""

    def __init__(self) -> None:
        self.reconciled = asyncio.Event()
        self.stream_up = False
        self.dead_man = False


async def start(router: Router, start_timeout_s: float = 60.0) -> None:
    """Bring the router up (module doc); raise on a failed reconciliation."""
    rep = await asyncio.to_thread(replay, router.journal.directory)
    router.counters.journal_torn += rep.torn
    restored = restore(router, rep)
    run_id = new_run_id(after=max(router.known_runs) if router.known_runs else None)
    router.ids = IdSource(run_id, restored.last_counter)
    router.known_runs.add(run_id)
    await asyncio.to_thread(router.journal.open, router.snapshot, rep.last_seq)
    router.journal.append("run", {"run": run_id, "counter": restored.last_counter})
    log.info("router run %s: counter continues after %d", run_id, restored.last_counter)
    router.states = {v: AccountState() for v in router.accounts}
    async with asyncio.timeout(start_timeout_s):
        for acct in router.accounts.values():
            if acct.stream is None:
                await reconcile(router, acct)
                router.states[acct.venue].reconciled.set()
            else:
                router._background(_stream_loop(router, acct))
        for state in router.states.values():
            await state.reconciled.wait()
        for acct in router.accounts.values():
            await _arm(router, acct)
    router.accepting = True


async def _arm(router: Router, acct: Account) -> None:
    venue = acct.venue.label
    if not acct.entry.capabilities.dead_man_switch:
        log.warning(
            "%s has no dead-man switch: orders stay on the venue if this process dies", venue
        )
        return
    try:
        await router._call(acct, acct.entry.arm_dead_man_switch(acct.settings.dead_man_timeout_s))
    except NotSupportedError:
        log.warning("%s: this account type has no dead-man switch (cancel-on-disconnect)", venue)
        return
    router.journal.append(
        "dead_man", {"venue": venue, "timeout_s": acct.settings.dead_man_timeout_s}
    )
    router.counters.dead_man_refreshes += 1
    router.states[acct.venue].dead_man = True
    log.info("%s: dead-man switch armed (%.0f s)", venue, acct.settings.dead_man_timeout_s)
    router._background(_dead_man_loop(router, acct))


async def _dead_man_loop(router: Router, acct: Account) -> None:
    """Re-arm the dead-man switch every ``refresh_s`` (a refresh is never refused by limits)."""
    timeout_s = acct.settings.dead_man_timeout_s
    while True:
        await asyncio.sleep(acct.settings.refresh_s())
        await acct.lim.acquire(Op.DEAD_MAN)
        try:
            await router._call(acct, acct.entry.arm_dead_man_switch(timeout_s))
        except (AdapterError, TimeoutError, OSError) as e:
            router.counters.dead_man_failures += 1
            log.warning("%s: dead-man refresh failed (%s)", acct.venue.label, type(e).__name__)
            continue
        router.counters.dead_man_refreshes += 1


async def _reconcile_session(router: Router, acct: Account, delay_s: float) -> None:
    """Reconcile one stream session (after ``delay_s``: for streams without StreamConnected)."""
    if delay_s > 0:
        await asyncio.sleep(delay_s)
    state = router.states[acct.venue]
    await reconcile(router, acct)
    state.stream_up = True  # ready only once what the stream missed is reconciled
    state.reconciled.set()


async def _stream_loop(router: Router, acct: Account) -> None:
    """Consume the user stream forever; reconcile on every (re)connection."""
    assert acct.stream is not None
    state = router.states[acct.venue]
    backoff = STREAM_BACKOFF_FIRST_S
    while True:
        fallback = asyncio.get_running_loop().create_task(
            _reconcile_session(router, acct, STREAM_CONNECT_GRACE_S)
        )
        try:
            async for item in acct.stream.reports():
                if isinstance(item, StreamConnected):
                    fallback.cancel()
                    await _reconcile_session(router, acct, 0.0)
                    backoff = STREAM_BACKOFF_FIRST_S
                elif isinstance(item, FillReport):
                    router.apply_fill(acct, item, "stream")
                elif isinstance(item, OrderReport):
                    router.apply_report(acct, item, "stream")
        except (AdapterError, TimeoutError, OSError) as e:
            log.warning("%s user stream lost (%s)", acct.venue.label, type(e).__name__)
        finally:
            fallback.cancel()
        if fallback.done() and not fallback.cancelled() and fallback.exception() is not None:
            log.warning("%s reconciliation failed: %s", acct.venue.label, fallback.exception())
        state.stream_up = False
        await asyncio.sleep(backoff * (0.5 + random.random() / 2))
        backoff = min(STREAM_BACKOFF_MAX_S, backoff * 2)


async def _cancel_everything(router: Router) -> int:
    """Cancel all, confirm from open orders; return what the venues still list."""
    for acct in router.accounts.values():
        for x in router.instruments:
            if x.account is acct:
                if acct.entry.capabilities.cancel_all:
                    await acct.lim.acquire(Op.CANCEL_ALL)
                    with contextlib.suppress(AdapterError, TimeoutError, OSError):
                        await router._call(acct, acct.entry.cancel_all(x.symbol))
                else:
                    for o in router.live_orders(acct.venue):
                        if o.instrument == x.id and o.status != S.PENDING_CANCEL:
                            router.cancel_order(o)
    left = 0
    for acct in router.accounts.values():
        left += await _confirm(router, acct)
    return left


async def _confirm(router: Router, acct: Account) -> int:
    """Re-list and re-cancel open orders of traded symbols until none is left."""
    symbols = {x.symbol for x in router.instruments if x.account is acct}
    ours: list[OrderReport] = []
    for attempt in range(CONFIRM_ROUNDS):
        await acct.lim.acquire(Op.QUERY)
        try:
            listed = await router._call(acct, acct.entry.open_orders(None))
        except (AdapterError, TimeoutError, OSError) as e:
            log.warning("shutdown: open orders of %s failed (%s)", acct.venue.label, e)
            await asyncio.sleep(0.1 * 2**attempt)
            continue
        ours = [r for r in listed if r.symbol in symbols]
        if not ours:
            break
        for rep in ours:
            await acct.lim.acquire(Op.CANCEL)
            with contextlib.suppress(AdapterError, TimeoutError, OSError):
                done = await router._call(acct, acct.entry.cancel(rep.symbol, rep.client_order_id))
                router.apply_report(acct, done, "reply")
        await asyncio.sleep(0.05 * 2**attempt)
    else:
        return len(ours)
    for order in router.live_orders(acct.venue):  # not listed any more: learn how it ended
        final: OrderReport | None = None
        with contextlib.suppress(AdapterError, TimeoutError, OSError):
            final = await router._call(acct, acct.entry.query_order(order.symbol, order.client_id))
        if final is not None:
            router.apply_report(acct, final, "query")
        if order.live and transition(order, S.CANCELLED):
            router.journal.append("closed_at_shutdown", {"cid": order.client_id})
            router._closed(order)
            router._emit(order)
    return 0


async def shutdown(router: Router, deadline_s: float = 20.0) -> ShutdownReport:
    """Stop quoting, cancel all, confirm, flush: see the module doc."""
    t0 = time.monotonic()
    router.accepting = False
    router.journal.append("shutdown", {"phase": "start", "deadline_s": deadline_s})
    left = -1
    try:
        async with asyncio.timeout(max(0.1, deadline_s - FLUSH_RESERVE_S)):
            left = await _cancel_everything(router)
    except TimeoutError:
        log.error("shutdown: cancel-all not confirmed within %.1f s", deadline_s)
    await _stop_tasks(router)
    router.journal.append("shutdown", {"phase": "end", "open_left": left})
    remaining = max(0.1, deadline_s - (time.monotonic() - t0))
    flushed = await asyncio.to_thread(router.journal.close, min(remaining, FLUSH_RESERVE_S))
    for acct in router.accounts.values():
        for closer in (acct.entry.close, acct.stream.close if acct.stream else None):
            if closer is None:
                continue
            with contextlib.suppress(AdapterError, TimeoutError, OSError):
                async with asyncio.timeout(0.5):
                    await closer()
    elapsed = time.monotonic() - t0
    ok = left == 0 and flushed
    log.info(
        "shutdown %s in %.2f s (open orders left: %d)", "ok" if ok else "INCOMPLETE", elapsed, left
    )
    return ShutdownReport(ok=ok, open_left=max(left, 0), elapsed_s=elapsed)


async def _stop_tasks(router: Router) -> None:
    tasks: list[asyncio.Task[Any]] = [*router._tasks, *router._bg]
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1.0)
