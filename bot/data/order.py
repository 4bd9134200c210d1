"""Put one input's rows in replay order, and drop the trades no replay should see, counted.

Rules (``docs/data.md``):

* ``arrival`` (book streams: L2 updates, T_DEPTH, snapshots): the file order is the order the
  venue's messages arrived and is kept; a ``ts_local_ns`` lower than the row before it (the
  collector's clock stepped back) is raised to it. The rows raised are counted as ``clamped``.
* ``time`` (trades, quotes, tickers, candles): rows are sorted stably by ``ts_local_ns`` (equal
  times keep file order) within a window of ``window_ns``: a row is held until a row
  ``window_ns`` later has been read, or until ``MAX_HELD_ROWS`` newer rows are held. Rows
  moved are counted as ``reordered``; a row older than the window allows is kept in place with
  its time raised, counted as ``clamped``.

Trades with quantity 0 and trades repeating the (instrument, id) of one of the last
``ID_MEMORY`` trades of that instrument are dropped and counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, EventKind
from bot.data.source import Counts

DEFAULT_WINDOW_NS = 5_000_000_000
"""Default reorder window: 5 s of local time."""
MAX_HELD_ROWS = 1 << 20
"""The window also holds at most this many rows (56 MiB), so memory is bounded at any rate."""
ID_MEMORY = 1 << 16
"""Trade ids remembered per input for duplicate detection."""
_TRADES = (int(EventKind.TRADE_BUY), int(EventKind.TRADE_SELL), int(EventKind.TRADE_UNKNOWN))
_EMPTY = np.zeros(0, dtype=EVENT_DTYPE)


def clamp_arrival(chunks: Iterable[np.ndarray], counts: Counts) -> Iterator[np.ndarray]:
    """Keep file order; raise local times that go back to the running maximum (counted)."""
    last = np.iinfo(np.int64).min
    for chunk in chunks:
        if chunk.shape[0] == 0:
            continue
        local = chunk["ts_local_ns"]
        running = np.maximum.accumulate(np.concatenate(([last], local)))[1:]
        raised = running != local
        if raised.any():
            chunk = chunk.copy()
            chunk["ts_local_ns"] = running
            counts.clamped += int(raised.sum())
        last = int(running[-1])
        yield chunk


def sort_window(
    chunks: Iterable[np.ndarray], counts: Counts, window_ns: int = DEFAULT_WINDOW_NS
) -> Iterator[np.ndarray]:
    """Sort stably by local time within ``window_ns`` (module docstring); count what moved."""
    held = _EMPTY
    emitted = np.iinfo(np.int64).min  # local time of the last row handed on
    seen = np.iinfo(np.int64).min
    for chunk in chunks:
        if chunk.shape[0] == 0:
            continue
        local = chunk["ts_local_ns"]
        late = local < emitted
        if late.any():  # older than the window: kept in place, time raised
            chunk = chunk.copy()
            chunk["ts_local_ns"][late] = emitted
            counts.clamped += int(late.sum())
        before = np.maximum.accumulate(np.concatenate(([seen], chunk["ts_local_ns"])))[:-1]
        counts.reordered += int((chunk["ts_local_ns"] < before).sum())
        seen = max(seen, int(chunk["ts_local_ns"].max()))
        rows = np.concatenate((held, chunk)) if held.shape[0] else chunk
        rows = rows[np.argsort(rows["ts_local_ns"], kind="stable")]
        cut = int(np.searchsorted(rows["ts_local_ns"], seen - window_ns, side="right"))
        cut = max(cut, rows.shape[0] - MAX_HELD_ROWS)
        if cut:
            emitted = int(rows["ts_local_ns"][cut - 1])
            yield rows[:cut]
        held = rows[cut:]
    if held.shape[0]:
        yield held


def drop_bad_trades(chunks: Iterable[np.ndarray], counts: Counts) -> Iterator[np.ndarray]:
    """Drop zero-quantity trades and trades whose (instrument, id) was just seen; count both."""
    recent: deque[tuple[int, int]] = deque()
    known: set[tuple[int, int]] = set()
    for chunk in chunks:
        trade = np.isin(chunk["kind"], _TRADES)
        if not trade.any():
            yield chunk
            continue
        keep = np.ones(chunk.shape[0], dtype=bool)
        zero = trade & (chunk["qty_lot"] == 0)
        counts.zero_trades += int(zero.sum())
        keep &= ~zero
        for k in np.flatnonzero(trade & ~zero & (chunk["aux"] != 0)):
            key = (int(chunk["instrument"][k]), int(chunk["aux"][k]))
            if key in known:
                keep[k] = False
                counts.duplicate_trades += 1
                continue
            known.add(key)
            recent.append(key)
            if len(recent) > ID_MEMORY:
                known.discard(recent.popleft())
        yield chunk if keep.all() else chunk[keep]
