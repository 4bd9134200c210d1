"""Binance public data beyond trades: klines, bookDepth, fundingRate and T_DEPTH order books.

* ``klines`` (any interval; 12 columns, header or not): four rows per candle, ``BAR_OPEN``,
  ``BAR_HIGH``, ``BAR_LOW`` and ``BAR_CLOSE`` (volume, taker-buy volume and trade count on the
  close row); ``ts_exch_ns`` the open time, ``ts_local_ns`` the close time plus the feed latency
  (a candle is known when it closes). Times are ms, µs (spot from 2025) or ns, per value.
* ``bookDepth`` (``timestamp,percentage,depth,notional``): one ``DEPTH_BAND`` row per band; the
  text timestamp is UTC.
* ``fundingRate`` (``calc_time,funding_interval_hours,last_funding_rate``): ``FUNDING_RATE``
  rows, the rate to the nearest 1e-9 in ``aux``.
* ``T_DEPTH`` (``symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu``):
  the snapshot file (``update_type`` ``snap``) and the update file (``set``) of one symbol are
  read together by update id: each snapshot is a ``BOOK_CLEAR`` and its levels; updates already
  in it are skipped (counted), later ones are applied while ``pu`` continues the previous
  ``last_update_id`` (a break is a gap: ``BOOK_INVALID`` until the next snapshot).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind
from bot.data.csvscan import ConvertError
from bot.data.source import Counts, FirstLine, TableSource
from bot.data.table import MISSING, OUT_FIRST, OUT_LINE, Col, ColKind, Grid

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
BOOK_DEPTH_COLUMNS = ("timestamp", "percentage", "depth", "notional")
FUNDING_COLUMNS = ("calc_time", "funding_interval_hours", "last_funding_rate")
TDEPTH_COLUMNS = (
    "symbol",
    "timestamp",
    "first_update_id",
    "last_update_id",
    "side",
    "update_type",
    "price",
    "qty",
    "pu",
)
BAND_EXPONENT = -6
"""bookDepth percentages and notionals in units of 1e-6."""
FUNDING_EXPONENT = -9
MS_MAX = 10**14
"""Values below are ms; from 1e14 µs; from 1e17 ns (``docs/data.md``)."""
NS_MIN = 10**17
_BARS = (
    int(EventKind.BAR_OPEN),
    int(EventKind.BAR_HIGH),
    int(EventKind.BAR_LOW),
    int(EventKind.BAR_CLOSE),
)


def binance_ns(values: np.ndarray) -> np.ndarray:
    """Return Binance times (ms, µs or ns, told apart per value by magnitude) as ns."""
    return np.where(
        values >= NS_MIN, values, np.where(values >= MS_MAX, values * 1000, values * 1_000_000)
    )


def is_klines(first: FirstLine) -> bool:
    """Return whether ``first`` starts a klines file (12 columns, header or data)."""
    fields = first.fields
    if first.is_header:
        return [f.lower() for f in fields[:7]] == list(KLINE_COLUMNS[:7])
    return len(fields) == len(KLINE_COLUMNS) and all(f.replace(".", "").isdigit() for f in fields)


def _require(first: FirstLine, names: tuple[str, ...], what: str) -> list[int]:
    have = first.names
    missing = [n for n in names if n not in have]
    if missing:
        raise ConvertError(
            f"{first.path}:1: Binance {what} needs columns {', '.join(missing)}; "
            f"the header has {', '.join(first.fields)}"
        )
    return [have.index(n) for n in names]


@dataclass
class BinanceTableReader:
    """A Binance file of klines, bookDepth or fundingRate rows, one instrument."""

    source: TableSource
    data_type: str
    feed_latency_ns: int = 0
    counts: Counts = field(default_factory=Counts)

    @classmethod
    def open(
        cls,
        first: FirstLine,
        data_type: str,
        inst: int,
        feed_latency_ns: int,
        **source_args: object,
    ) -> BinanceTableReader:
        """Place the columns of ``data_type`` (by name with a header, else by position)."""
        tick, lot = Grid.TICK, Grid.LOT
        if data_type == "klines":
            cols = [
                Col("open_time", ColKind.INT),
                Col("open", ColKind.UNITS, tick),
                Col("high", ColKind.UNITS, tick),
                Col("low", ColKind.UNITS, tick),
                Col("close", ColKind.UNITS, tick),
                Col("volume", ColKind.UNITS, lot),
                Col("close_time", ColKind.INT),
                Col("count", ColKind.INT),
                Col("taker_buy_volume", ColKind.UNITS, lot),
            ]
            names: tuple[str, ...] = KLINE_COLUMNS
        elif data_type == "bookDepth":
            cols = [
                Col("timestamp", ColKind.DATETIME),
                Col("percentage", ColKind.NEAREST, Grid.FIXED, BAND_EXPONENT),
                Col("depth", ColKind.NEAREST, lot),
                Col("notional", ColKind.NEAREST, Grid.FIXED, BAND_EXPONENT),
            ]
            names = BOOK_DEPTH_COLUMNS
        else:
            cols = [
                Col("calc_time", ColKind.INT),
                Col("last_funding_rate", ColKind.NEAREST, Grid.FIXED, FUNDING_EXPONENT),
            ]
            names = FUNDING_COLUMNS
        wanted = tuple(c.name for c in cols)
        if first.is_header:
            positions = _require(first, wanted, data_type)
            ncols = len(first.fields)
        else:
            positions = [names.index(n) for n in wanted]
            ncols = len(names)
        counts = Counts()
        source = TableSource(
            first=first,
            cols=cols,
            positions=positions,
            counts=counts,
            ncols=ncols,
            fixed_inst=inst,
            **source_args,  # type: ignore[arg-type]
        )
        return cls(source, data_type, feed_latency_ns, counts)

    @property
    def path(self) -> Path:
        """Return the input path."""
        return self.source.path

    @property
    def rows(self) -> int:
        """Return the rows read."""
        return self.source.rows

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks in file order."""
        venue = self.source.resolver.venue
        for tab in self.source.tables():
            if tab.shape[0] == 0:
                continue
            missing = (tab[:, OUT_FIRST:] == MISSING).any(axis=1)
            if missing.any():
                line = int(tab[int(np.argmax(missing)), OUT_LINE])
                raise ConvertError(f"{self.path}:{line}: an empty field where a value is needed")
            inst = tab[:, 0]
            if self.data_type == "klines":
                out = self._klines(tab)
                inst = np.repeat(inst, len(_BARS))
            else:
                out = np.zeros(tab.shape[0], dtype=EVENT_DTYPE)
                ts = tab[:, OUT_FIRST]
                ts = ts if self.data_type == "bookDepth" else binance_ns(ts)
                out["ts_exch_ns"] = ts
                out["ts_local_ns"] = ts + self.feed_latency_ns
                if self.data_type == "bookDepth":
                    out["kind"] = EventKind.DEPTH_BAND
                    out["seq"] = tab[:, OUT_FIRST + 1]
                    out["qty_lot"] = tab[:, OUT_FIRST + 2]
                    out["aux"] = tab[:, OUT_FIRST + 3]
                else:
                    out["kind"] = EventKind.FUNDING_RATE
                    out["aux"] = tab[:, OUT_FIRST + 1]
            out["instrument"] = inst
            out["venue"] = venue[inst]
            yield out

    def _klines(self, tab: np.ndarray) -> np.ndarray:
        n = tab.shape[0]
        out = np.zeros(n * len(_BARS), dtype=EVENT_DTYPE)
        out["kind"] = np.tile(_BARS, n)
        out["price_tick"] = tab[:, OUT_FIRST + 1 : OUT_FIRST + 5].reshape(-1)
        out["ts_exch_ns"] = np.repeat(binance_ns(tab[:, OUT_FIRST]), len(_BARS))
        close_ns = binance_ns(tab[:, OUT_FIRST + 6])
        out["ts_local_ns"] = np.repeat(close_ns + self.feed_latency_ns, len(_BARS))
        last = out[len(_BARS) - 1 :: len(_BARS)]
        last["qty_lot"] = tab[:, OUT_FIRST + 5]
        last["seq"] = tab[:, OUT_FIRST + 7]
        last["aux"] = tab[:, OUT_FIRST + 8]
        return out


_T_COLS = [
    Col("timestamp", ColKind.INT),
    Col("first_update_id", ColKind.INT),
    Col("last_update_id", ColKind.INT),
    Col("side", ColKind.ENUM, enums=("b", "a")),
    Col("update_type", ColKind.ENUM, enums=("snap", "set")),
    Col("price", ColKind.UNITS, Grid.TICK),
    Col("qty", ColKind.UNITS, Grid.LOT),
    Col("pu", ColKind.NEAREST, Grid.FIXED, 0),
]  # -1 in snapshot files
# table columns of a T_DEPTH row
_TS, _FIRST_ID, _LAST_ID, _SIDE, _TYPE, _PRICE, _QTY, _PU = range(OUT_FIRST, OUT_FIRST + 8)
# T_DEPTH sync state
_BOOK_ID, _PREV_U, _SYNCED, _STALE, _GAPS, _BEFORE = range(6)
_NONE = -1
_K_CLEAR = int(EventKind.BOOK_CLEAR)
_K_BID = int(EventKind.BOOK_BID)
_K_INVALID = int(EventKind.BOOK_INVALID)
_SNAP = int(EventFlag.SNAPSHOT)


@njit(cache=True, nogil=True)
def _snap_rows(tab, start, stop, inst, venue, ts_ns, out, r):
    out[r]["kind"] = _K_CLEAR
    out[r]["flags"] = _SNAP
    out[r]["venue"] = venue
    out[r]["instrument"] = inst
    out[r]["ts_exch_ns"] = ts_ns[start]
    out[r]["ts_local_ns"] = ts_ns[start]
    out[r]["seq"] = tab[start, _LAST_ID]
    r += 1
    for i in range(start, stop):
        if tab[i, _QTY] == 0:
            continue
        out[r]["kind"] = _K_BID + tab[i, _SIDE]
        out[r]["flags"] = _SNAP
        out[r]["venue"] = venue
        out[r]["instrument"] = inst
        out[r]["ts_exch_ns"] = ts_ns[i]
        out[r]["ts_local_ns"] = ts_ns[i]
        out[r]["price_tick"] = tab[i, _PRICE]
        out[r]["qty_lot"] = tab[i, _QTY]
        out[r]["seq"] = tab[i, _LAST_ID]
        r += 1
    return r


@njit(cache=True, nogil=True)
def _update_rows(tab, start, stop_id, inst, venue, ts_ns, state, out, r):
    """Apply update rows from ``start`` while their ``last_update_id`` < ``stop_id``.

    Return ``(next row, rows written)``.
    """
    i = start
    while i < tab.shape[0] and tab[i, _LAST_ID] < stop_id:
        u = tab[i, _LAST_ID]
        if state[_BOOK_ID] == _NONE:
            state[_BEFORE] += 1
        elif u <= state[_BOOK_ID]:
            state[_STALE] += 1
        else:
            first = state[_SYNCED] == 0
            ok = (
                tab[i, _FIRST_ID] <= state[_BOOK_ID] + 1 or tab[i, _PU] == state[_BOOK_ID]
                if first
                else tab[i, _PU] == state[_PREV_U] or u == state[_PREV_U]
            )
            if not ok and state[_SYNCED] >= 0:
                state[_GAPS] += 1
                state[_SYNCED] = -1  # invalid until the next snapshot
                out[r]["kind"] = _K_INVALID
                out[r]["venue"] = venue
                out[r]["instrument"] = inst
                out[r]["ts_exch_ns"] = ts_ns[i]
                out[r]["ts_local_ns"] = ts_ns[i]
                out[r]["seq"] = u
                r += 1
            if state[_SYNCED] >= 0:
                state[_SYNCED] = 1
                state[_PREV_U] = u
                out[r]["kind"] = _K_BID + tab[i, _SIDE]
                out[r]["venue"] = venue
                out[r]["instrument"] = inst
                out[r]["ts_exch_ns"] = ts_ns[i]
                out[r]["ts_local_ns"] = ts_ns[i]
                out[r]["price_tick"] = tab[i, _PRICE]
                out[r]["qty_lot"] = tab[i, _QTY]
                out[r]["seq"] = u
                r += 1
            else:
                state[_BEFORE] += 1
        i += 1
    return i, r


def is_tdepth(first: FirstLine) -> bool:
    """Return whether ``first`` is the header of a T_DEPTH snapshot or update file."""
    return set(TDEPTH_COLUMNS) <= set(first.names)


def snap_partner(path: Path) -> Path | None:
    """Return the snapshot file name beside a ``..._depth_update.csv`` (None: not that name)."""
    name = path.name
    if "depth_update" not in name:
        return None
    return path.with_name(name.replace("depth_update", "depth_snap"))


@dataclass
class TDepthReader:
    """One symbol's T_DEPTH snapshot file and (optionally) update file, merged by update id."""

    snap: TableSource | None
    update: TableSource | None
    inst: int
    counts: Counts = field(default_factory=Counts)
    data_type: str = "T_DEPTH"

    @property
    def path(self) -> Path:
        """Return the first input path."""
        return (self.snap or self.update).path  # type: ignore[union-attr]

    @property
    def rows(self) -> int:
        """Return the rows read."""
        return sum(s.rows for s in (self.snap, self.update) if s is not None)

    @staticmethod
    def source(first: FirstLine, inst: int, counts: Counts, **source_args: object) -> TableSource:
        """Return a table source over one T_DEPTH file."""
        positions = _require(first, tuple(c.name for c in _T_COLS), "T_DEPTH")
        return TableSource(
            first=first,
            cols=_T_COLS,
            positions=positions,
            counts=counts,
            ncols=len(first.fields),
            fixed_inst=inst,
            **source_args,  # type: ignore[arg-type]
        )

    def _snapshots(self) -> Iterator[tuple[np.ndarray, int, int]]:
        """Yield ``(table, start, stop)`` of each snapshot (rows of one ``last_update_id``)."""
        if self.snap is None:
            return
        held = np.zeros((0, OUT_FIRST + len(_T_COLS)), dtype=np.int64)
        for tab in self.snap.tables():
            rows = np.concatenate((held, tab)) if held.shape[0] else tab
            ids = rows[:, _LAST_ID]
            cuts = np.flatnonzero(ids[1:] != ids[:-1]) + 1
            bounds = [0, *cuts.tolist()]
            for a, b in itertools.pairwise(bounds):
                yield rows, a, b
            held = rows[bounds[-1] :]
        if held.shape[0]:
            yield held, 0, held.shape[0]

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks: snapshots and updates in update-id order."""
        venue = int((self.snap or self.update).resolver.venue[self.inst])  # type: ignore[union-attr]
        state = np.array([_NONE, 0, 0, 0, 0, 0], dtype=np.int64)
        snaps = self._snapshots()
        pending = next(snaps, None)
        updates = self.update.tables() if self.update is not None else iter(())
        for tab in updates:
            ts_ns = binance_ns(tab[:, _TS])
            out = np.zeros(2 * tab.shape[0] + 1, dtype=EVENT_DTYPE)
            i, r = 0, 0
            while i < tab.shape[0]:
                stop_id = (
                    int(pending[0][pending[1], _LAST_ID]) if pending else np.iinfo(np.int64).max
                )
                i, r = _update_rows(tab, i, stop_id, self.inst, venue, ts_ns, state, out, r)
                if i < tab.shape[0] and pending is not None:
                    yield out[:r]
                    yield self._snapshot(pending, venue, state)
                    pending = next(snaps, None)
                    out = np.zeros(2 * (tab.shape[0] - i) + 1, dtype=EVENT_DTYPE)
                    r = 0
            yield out[:r]
        while pending is not None:
            yield self._snapshot(pending, venue, state)
            pending = next(snaps, None)
        self.counts.stale += int(state[_STALE])
        self.counts.gaps += int(state[_GAPS])
        self.counts.skipped_before_snapshot += int(state[_BEFORE])

    def _snapshot(
        self, snap: tuple[np.ndarray, int, int], venue: int, state: np.ndarray
    ) -> np.ndarray:
        rows, a, b = snap
        ts_ns = binance_ns(rows[:, _TS])
        out = np.zeros(b - a + 1, dtype=EVENT_DTYPE)
        r = _snap_rows(rows, a, b, self.inst, venue, ts_ns, out, 0)
        state[_BOOK_ID] = rows[a, _LAST_ID]
        state[_SYNCED] = 0
        return out[:r]
