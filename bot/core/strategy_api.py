"""The contract between the engine (backtest or live) and a strategy's ``decide`` kernel.

A strategy (``strategies/<name>.py``) is a module with:

* ``NAME``: its config name; ``Params``: a frozen msgspec struct (``forbid_unknown_fields``,
  constrained fields, units in names) validated from the ``strategy.params`` YAML mapping;
* ``pack(params, instruments) -> float64[:]``: the params as a flat array (``instruments`` are the
  engine ids of the instruments it trades). A hot reload packs a new struct and copies it over
  the old array *between* two calls of ``decide``, so no decision ever mixes two versions;
* ``ISTATE_SIZE`` / ``FSTATE_SIZE``: sizes of its persistent int64 / float64 scratch arrays
  (slots ``ISTATE_WAKE_NS`` and ``ISTATE_HALTED`` of the int64 array are the engine's: a
  strategy keeps its own state from ``ISTATE_USER`` on);
* ``Params.RELOADABLE``: a ``ClassVar[frozenset[str]]`` naming the fields a hot reload may
  change; a new struct that changes any other field is refused (``strategies.reload_changes``);
* optionally ``check_instruments(params, specs)``: raise ``ValueError`` if the traded
  instruments (``InstrumentSpec`` list, in config order) do not suit the strategy;
* ``USES_SIGNALS`` (bool): whether the engine must keep ``bot.core.signal`` up to date for it;
* ``WAKE_ON_EVENT`` / ``WAKE_ON_ORDER`` (bool): whether ``decide`` runs after every market event
  (at message ends) / every order update or fill; the timer always wakes it. A timer-driven
  strategy sets both False and the engine skips the calls (they are compile-time constants);
* ``decide``: one ``@njit(cache=True)`` kernel with exactly this signature::

    decide(now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
           params, istate, fstate, intents) -> int

  ``now_ns`` is the *local* clock (the strategy never sees the venue's clock, live or not);
  ``reason`` a ``Wake`` value; ``inst`` the instrument whose event or order update woke it (-1
  for a timer); ``book_qty``/``book_state`` the local books (``bot.core.book``), ``sig`` the
  signals (``bot.core.signal``), ``orders`` our orders as the local side knows them
  (``ORDER_VIEW_DTYPE`` rows; free slots have ``status == 0``), ``position_lot[inst]`` our
  position as known from fills received. It writes order intents (``ORDER_INTENT_DTYPE``) into
  ``intents`` from index 0 and returns how many; the engine assigns ``client_order_id`` to NEW
  intents and passes every intent through pre-trade risk. To be woken by time, it stores the next
  local time in ``istate[ISTATE_WAKE_NS]`` (0 = no timer). The engine sets that slot to the local
  time of the first event before it starts, so every strategy gets one timer call at the start.

``decide`` must not allocate, do I/O or read globals that change (numba freezes them), and must
be deterministic: the backtest relies on it for byte-identical results.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numba import njit

ISTATE_WAKE_NS = 0
"""Slot of ``istate`` holding the next local time the strategy wants a timer call (0: none)."""
ISTATE_HALTED = 1
"""Slot of ``istate`` the engine sets to 1 while trading is halted (kill switch), else 0."""
ISTATE_USER = 2
"""First slot of ``istate`` a strategy may use for its own state."""


class Wake(IntEnum):
    """Why ``decide`` is called."""

    EVENT = 0
    """A market-data event of ``inst`` was applied to the local book."""
    TIMER = 1
    """The time stored in ``istate[ISTATE_WAKE_NS]`` has come."""
    ORDER = 2
    """An order update or fill of ``inst`` arrived."""


ORDER_VIEW_DTYPE = np.dtype(
    [
        ("status", np.uint8),  # OrderStatus as known locally (0 = free slot)
        ("side", np.int8),  # Side
        ("flags", np.uint8),  # OrderFlag bits
        ("_reserved", np.uint8),
        ("instrument", np.uint32),
        ("client_order_id", np.int64),
        ("price_tick", np.int64),
        ("qty_lot", np.int64),
        ("filled_lot", np.int64),
        ("ts_sent_ns", np.int64),  # local time the NEW left
    ],
    align=True,
)
"""One of our live orders as the local side knows it (the router's view, shared with backtest)."""

# values mirrored from bot.core.dtypes for use inside kernels
_NEW = 1
_CANCEL = 2


@njit(cache=True, nogil=True)
def emit_new(
    intents: np.ndarray,
    n: int,
    inst: int,
    side: int,
    price_tick: int,
    qty_lot: int,
    flags: int,
    now_ns: int,
) -> int:
    """Write a NEW intent at ``intents[n]`` if there is room; return the new count."""
    if n >= intents.shape[0]:
        return n
    it = intents[n]
    it["action"] = _NEW
    it["side"] = side
    it["flags"] = flags
    it["instrument"] = inst
    it["client_order_id"] = 0
    it["price_tick"] = price_tick
    it["qty_lot"] = qty_lot
    it["ts_local_ns"] = now_ns
    return n + 1


@njit(cache=True, nogil=True)
def emit_cancel(intents: np.ndarray, n: int, inst: int, client_order_id: int, now_ns: int) -> int:
    """Write a CANCEL intent for ``client_order_id`` at ``intents[n]``; return the new count."""
    if n >= intents.shape[0]:
        return n
    it = intents[n]
    it["action"] = _CANCEL
    it["side"] = 0
    it["flags"] = 0
    it["instrument"] = inst
    it["client_order_id"] = client_order_id
    it["price_tick"] = 0
    it["qty_lot"] = 0
    it["ts_local_ns"] = now_ns
    return n + 1


def new_order_view(capacity: int = 64) -> np.ndarray:
    """Allocate an empty order view of ``capacity`` slots."""
    if capacity < 1:
        raise ValueError("order view capacity must be >= 1")
    return np.zeros(capacity, dtype=ORDER_VIEW_DTYPE)
