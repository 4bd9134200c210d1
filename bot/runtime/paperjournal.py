"""Paper mode's order journal: every request the strategy sent to the simulated venue, in order.

With ``mode: paper`` and ``journal.path`` set, each request the core hands the simulated venue
after risk (new, cancel, amend, cancel-all) is copied out of the venue's request ring by one
kernel into a preallocated buffer: no Python object per order on the order path. Once a second
(the metrics loop) and at shutdown the buffered rows become journal records
(``bot.execution.Journal``: the CRC'd JSON lines of live mode, written and fsynced by its thread)
of type ``paper_request``; ``paper_stop`` marks the shutdown's cancel-all, whose cancels follow.

Why: with the market data captured (``capture.path``) this journal is what a replay is checked
against: ``tickbot backtest`` on the converted capture with ``backtest.venue_clock: local`` sends
the same requests in the same order (``orders.csv`` of its report; docs/running.md says exactly
what is equal).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from bot.backtest import sim_types as st
from bot.backtest.sim_types import kernel
from bot.core.instruments import InstrumentSpec
from bot.execution.journal import Journal

log = logging.getLogger(__name__)

CAPACITY = 1 << 16
"""Requests buffered between two drains (a second); more are counted as lost and logged."""
ACTIONS = {1: "new", 2: "cancel", 3: "amend", 4: "cancel_all"}
"""Request action codes of the simulated venue (``REQUEST_DTYPE.action``) by name."""
_N, _LOST = 0, 1


@kernel
def copy_requests(req, head, tail, buf, state) -> None:
    """Append the request rows ``[head, tail)`` of the ring ``req`` to ``buf``."""
    mask = req.shape[0] - 1
    cap = buf.shape[0]
    for i in range(head, tail):
        n = state[_N]
        if n >= cap:
            state[_LOST] += tail - i
            return
        buf[n] = req[i & mask]
        state[_N] = n + 1


def request_record(row: Any, spec: InstrumentSpec) -> dict[str, Any]:
    """Return the journal fields of one request row (``REQUEST_DTYPE``)."""
    return {
        "op": ACTIONS.get(int(row["action"]), str(int(row["action"]))),
        "venue": spec.venue,
        "symbol": spec.symbol,
        "side": "buy" if row["side"] > 0 else "sell",
        "cid": int(row["client_order_id"]),
        "px_tick": int(row["price_tick"]),
        "qty_lot": int(row["qty_lot"]),
        "flags": int(row["flags"]),
        "ts_venue_ns": int(row["ts_ns"]),
    }


class PaperJournal:
    """Requests of a paper session into ``journal`` (``record`` on the order path)."""

    def __init__(self, journal: Journal, specs: Sequence[InstrumentSpec]) -> None:
        self.journal = journal
        self.specs = list(specs)
        self.buf = np.zeros(CAPACITY, dtype=st.REQUEST_DTYPE)
        self.state = np.zeros(2, dtype=np.int64)
        self.written = 0
        self._lost_logged = 0

    def open(self) -> None:
        """Start a journal file and its writer thread (raises ``JournalError``)."""
        self.journal.open(lambda: {"mode": "paper"})

    def warm_up(self) -> None:
        """Compile (or load from cache) the copy kernel with the real types, no effect."""
        copy_requests(self.buf[:1], 0, 0, self.buf, self.state)

    def record(self, req: np.ndarray, vs: np.ndarray, head: int) -> None:
        """Buffer the requests the venue's ring got since ``head`` (one kernel call)."""
        copy_requests(req, head, vs[st.VS_REQ_TAIL], self.buf, self.state)

    def drain(self) -> int:
        """Turn the buffered rows into journal records; return how many."""
        n = int(self.state[_N])
        for row in self.buf[:n]:
            self.journal.append("paper_request", request_record(row, self.specs[row["instrument"]]))
        self.state[_N] = 0
        self.written += n
        lost = int(self.state[_LOST])
        if lost > self._lost_logged:
            log.error("paper journal: %d request(s) not journaled (buffer full)", lost)
            self._lost_logged = lost
        return n

    def stop(self, ts_ns: int) -> None:
        """Mark the shutdown's cancel-all (the requests after it are its cancels)."""
        self.drain()
        self.journal.append("paper_stop", {"ts_stop_ns": ts_ns})

    def close(self) -> bool:
        """Write what is left, fsync and close; return whether everything was written."""
        self.drain()
        return self.journal.close()
