"""Event file summaries and the book reconstructed at a point in time (``tickbot inspect``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from bot.core.book import (
    DEFAULT_OVERFLOW,
    DEFAULT_WINDOW,
    ST_DROPPED,
    BookStatus,
    apply_events,
    depth,
    new_books,
)
from bot.core.dtypes import EventKind
from bot.data.eventfile import EventFile

SCAN_ROWS = 1 << 20
"""Rows read at a time, so inspecting a file larger than memory stays bounded."""


def summary(opened: EventFile) -> dict[str, Any]:
    """Return header facts plus per-kind and per-instrument row counts (one pass, chunked)."""
    kinds = np.zeros(256, dtype=np.int64)
    per_inst = np.zeros(len(opened.instruments), dtype=np.int64)
    for part in opened.iter_chunks(rows=SCAN_ROWS):
        kinds += np.bincount(part["kind"], minlength=256)
        per_inst += np.bincount(part["instrument"], minlength=per_inst.shape[0])[: len(per_inst)]
    header = opened.header
    return {
        "path": str(opened.path),
        "format": header["format"],
        "version": header["version"],
        "schema_version": header["schema_version"],
        "source": header["source"],
        "created_at": header["created_at"],
        "events": header["count"],
        "time_range": header["time_range"],
        "kinds": {_kind_name(int(k)): int(kinds[k]) for k in np.nonzero(kinds)[0]},
        "instruments": [
            {**spec_dict, "id": i, "events": int(per_inst[i])}
            for i, spec_dict in enumerate(header["instruments"])
        ],
    }


def _kind_name(kind: int) -> str:
    try:
        return EventKind(kind).name
    except ValueError:
        return str(kind)  # a kind newer than this tickbot: still counted


def pick_instrument(opened: EventFile, symbol: str | None) -> int:
    """Return the id of ``symbol`` (``venue:symbol`` also accepted); without one, the only one.

    Raises ``ValueError`` with a user-facing message when the choice is unknown or ambiguous.
    """
    specs = opened.instruments
    if symbol is None:
        if len(specs) == 1:
            return 0
        names = ", ".join(s.symbol for s in specs)
        raise ValueError(f"the file holds {len(specs)} instruments ({names}); pass --symbol")
    venue, _, name = symbol.rpartition(":")
    hits = [i for i, s in enumerate(specs) if s.symbol == name and venue in ("", s.venue)]
    if len(hits) == 1:
        return hits[0]
    known = ", ".join(f"{s.venue}:{s.symbol}" for s in specs)
    if not hits:
        raise ValueError(f"unknown instrument {symbol!r} in {opened.path} (holds: {known})")
    raise ValueError(f"instrument {symbol!r} is on several venues; pass VENUE:SYMBOL ({known})")


def book_at(
    opened: EventFile, instrument: int, at_ns: int | None = None, levels: int = 10
) -> dict[str, Any]:
    """Replay rows with ``ts_local_ns <= at_ns`` (all when None); return the book as JSON data.

    Prices and sizes are exact decimal strings on the instrument's grids, best level first.
    ``ts`` is ``at_ns``, or the last row's local time when no time is given.
    """
    events = opened.events
    end = events.shape[0]
    if at_ns is not None:
        end = int(np.searchsorted(events["ts_local_ns"], at_ns, side="right"))
    overflow = DEFAULT_OVERFLOW
    while True:  # exact at any depth: a replay that fills the overflow is re-run with more room
        qty, state = new_books(len(opened.instruments), DEFAULT_WINDOW, overflow)
        counts = np.zeros(len(BookStatus), dtype=np.int64)
        for part in opened.iter_chunks(0, end, SCAN_ROWS):
            apply_events(qty, state, part, counts)
        if state[instrument, ST_DROPPED] == 0:
            break
        overflow *= 4
    spec = opened.instruments[instrument]
    tick, lot = spec.tick, spec.lot
    sides = []
    for side in (0, 1):
        prices = np.zeros(levels, dtype=np.int64)
        sizes = np.zeros(levels, dtype=np.int64)
        n = depth(qty, state, instrument, side, levels, prices, sizes)
        sides.append([[tick.to_str(int(prices[k])), lot.to_str(int(sizes[k]))] for k in range(n)])
    ts = at_ns if at_ns is not None else int(events["ts_local_ns"][end - 1]) if end else 0
    return {"symbol": spec.symbol, "ts": ts, "bids": sides[0], "asks": sides[1]}
