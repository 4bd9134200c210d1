"""Order execution: the router between pre-trade risk and the venues' order entry.

The API ``bot.app`` uses (see ``docs/execution.md`` for the behaviour behind it)::

    from bot.execution import Account, AccountSettings, Journal, Router

    accounts = [Account(entry, stream, AccountSettings(orphans="cancel", dead_man_timeout_s=60))]
    router = Router(accounts, specs, Journal(dir, rotate_bytes=..., fsync_interval_s=0.02),
                    risk_state, on_order_update=engine.on_order_rows, on_fill=engine.on_fill_rows)
    await router.start()            # replay journal, reconcile, arm dead-man switches
    router.ready                    # for /readyz: reconciled, streams up, journal sound
    n = router.send(intents, n_passed, ts_frame_ns)   # synchronous; NEW rows get ids in place
    report = await router.shutdown(deadline_s=20)      # cancel all, confirm, flush; report.ok

* ``entry`` is a venue's ``bot.adapters.trading.OrderEntry`` and ``stream`` its ``UserStream``
  (the ``sim`` venue: ``bot.adapters.sim``). ``specs`` are the engine's instruments in engine
  order (row ``instrument`` ids index them); every instrument's venue needs an account.
* ``risk_state`` is the engine's ``RISK_STATE_DTYPE`` array: the engine runs
  ``bot.core.risk.check_intent`` (which reserves a NEW's size) and passes what passed to
  ``send``; from then the router keeps that state (fills, closes, amends, UNKNOWN orders held
  as live, positions adopted from the venue). The engine must not call ``risk.on_fill`` /
  ``on_order_closed`` / ``on_amend`` in live mode.
* ``send`` writes each NEW's ``client_order_id`` into the intent row (0 if refused: not
  started, shutting down, or venue rate limit; a REJECTED row follows on the next loop turn).
  CANCEL/AMEND rows carry the id of the order; CANCEL_ALL cancels the row's instrument.
* Rows back to the engine: ``on_order_update(rows)`` with ``ORDER_UPDATE_DTYPE`` rows (status
  after the change; ``reason`` is a ``RiskReason`` for local refusals, ``REJECT_REASON_BASE +
  RejectReason`` for venue rejects) and ``on_fill(rows)`` with ``FILL_DTYPE`` rows
  (``client_order_id`` 0 for a fill of an order the bot does not know). Both are called
  synchronously with a one-row view valid during the call, like the ingest ``EventSink``.
* Metrics: ``router.counters`` (``RouterCounters``: orders by action and result, unknown
  outcomes and settles, duplicate fills, discrepancies by kind, dead-man refreshes) and each
  ``account.limiter`` (``refused``, ``waits``, ``rate_limited``); ``router.tick_to_trade_hook``
  is called with the ns from ``ts_frame_ns`` to each order's socket write.
"""

from bot.execution.account import Account, AccountSettings
from bot.execution.counters import Discrepancy, RouterCounters
from bot.execution.journal import Journal, JournalError
from bot.execution.lifecycle import ShutdownReport
from bot.execution.router import REJECT_REASON_BASE, Router

__all__ = [
    "REJECT_REASON_BASE",
    "Account",
    "AccountSettings",
    "Discrepancy",
    "Journal",
    "JournalError",
    "Router",
    "RouterCounters",
    "ShutdownReport",
]
