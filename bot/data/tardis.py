"""tardis.dev downloadable CSV: every data type tickbot reads, columns found by name.

Common rules (``docs/data.md``): a header always; ``exchange,symbol,timestamp,local_timestamp``
plus the type's columns, in any order; times are µs since the epoch (values of 1e17 or more
are taken as ns, values under 1e14 are refused naming the unit); rows are keyed by
(exchange, symbol), so grouped files work and ``--symbols`` selects some of their symbols.

* ``incremental_book_L2``: ``amount`` is the new absolute size (0 deletes). A snapshot row that
  follows a non-snapshot row, or whose ``timestamp`` differs from the previous snapshot row's,
  starts a new snapshot: a ``BOOK_CLEAR`` row first. Rows before an instrument's first snapshot
  are skipped and counted; snapshot rows of size 0 are absent levels.
* ``trades``: ``side`` is the taker side; numeric ids go to ``seq``/``aux`` (GUIDs: 0).
* ``quotes`` (and ``book_ticker``): ``BBO_ASK``/``BBO_BID`` rows (size 0 for an empty side), never
  book rows: a BBO stream does not write into the L2 book.
* ``book_snapshot_N``: every row is a whole top-N book: ``BOOK_CLEAR``, then its levels.
* ``derivative_ticker``: ``MARK_PRICE``, ``INDEX_PRICE`` (nearest tick), ``FUNDING_RATE``
  (nearest 1e-9 in ``aux``, the next funding time in ``seq``) and ``OPEN_INTEREST`` rows, each
  only when its value changed (tardis repeats unchanged fields).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind
from bot.data.csvscan import ConvertError
from bot.data.source import Counts, FirstLine, TableSource
from bot.data.table import MISSING, OUT_FIRST, OUT_INST, OUT_LINE, Col, ColKind, Grid

COMMON = ("exchange", "symbol", "timestamp", "local_timestamp")
BOOK_COLUMNS = (*COMMON, "is_snapshot", "side", "price", "amount")
"""The header tardis writes for ``incremental_book_L2`` (``bot.data.export`` writes it too)."""
TRADE_COLUMNS = (*COMMON, "id", "side", "price", "amount")
TYPE_COLUMNS: dict[str, tuple[str, ...]] = {
    "incremental_book_L2": ("is_snapshot", "side", "price", "amount"),
    "trades": ("id", "side", "price", "amount"),
    "quotes": ("ask_amount", "ask_price", "bid_price", "bid_amount"),
    "derivative_ticker": (
        "funding_timestamp",
        "funding_rate",
        "open_interest",
        "index_price",
        "mark_price",
    ),
}
SNAPSHOT_RE = re.compile(r"^(asks|bids)\[(\d+)\]\.(price|amount)$")
SECONDS_MIN = 10**9
US_MIN = 10**14
"""Values in ``[SECONDS_MIN, US_MIN)`` have the size of epoch s or ms (2001 on), not µs, and are
refused; smaller values are small µs times (synthetic files), kept."""
NS_MIN = 10**17
"""Timestamps of 1e17 or more are ns (µs would be the year 5138)."""
FUNDING_EXPONENT = -9
_SNAP = int(EventFlag.SNAPSHOT)
_K_CLEAR = int(EventKind.BOOK_CLEAR)
_K_BID = int(EventKind.BOOK_BID)
_K_ASK = int(EventKind.BOOK_ASK)
_K_BBO_BID = int(EventKind.BBO_BID)
_K_BBO_ASK = int(EventKind.BBO_ASK)
_K_MARK = int(EventKind.MARK_PRICE)
_K_INDEX = int(EventKind.INDEX_PRICE)
_K_FUNDING = int(EventKind.FUNDING_RATE)
_K_OI = int(EventKind.OPEN_INTEREST)


def tardis_type(first: FirstLine) -> str | None:
    """Return the tardis data type of a header (columns in any order), or None."""
    names = set(first.names)
    if not set(COMMON) <= names:
        return None
    for data_type, cols in TYPE_COLUMNS.items():
        if set(cols) <= names:
            return data_type
    levels = _snapshot_levels(first.names)
    if levels:
        return f"book_snapshot_{levels}"
    return None


def _snapshot_levels(names: list[str]) -> int:
    found = {(m[1], int(m[2]), m[3]) for n in names if (m := SNAPSHOT_RE.match(n))}
    n = 0
    while all((s, n, f) in found for s in ("asks", "bids") for f in ("price", "amount")):
        n += 1
    return n


def _columns(data_type: str) -> list[Col]:
    ts = [Col("timestamp", ColKind.INT), Col("local_timestamp", ColKind.INT)]
    tick, lot = Grid.TICK, Grid.LOT
    if data_type == "incremental_book_L2":
        return [
            *ts,
            Col("is_snapshot", ColKind.BOOL),
            Col("side", ColKind.ENUM, enums=("bid", "ask")),
            Col("price", ColKind.UNITS, tick),
            Col("amount", ColKind.UNITS, lot),
        ]
    if data_type == "trades":
        return [
            *ts,
            Col("id", ColKind.ID),
            Col("side", ColKind.ENUM, enums=("buy", "sell", "unknown")),
            Col("price", ColKind.UNITS, tick),
            Col("amount", ColKind.UNITS, lot),
        ]
    if data_type == "quotes":
        return [
            *ts,
            Col("bid_price", ColKind.UNITS, tick),
            Col("bid_amount", ColKind.UNITS, lot),
            Col("ask_price", ColKind.UNITS, tick),
            Col("ask_amount", ColKind.UNITS, lot),
        ]
    if data_type == "derivative_ticker":
        return [
            *ts,
            Col("funding_timestamp", ColKind.INT),
            Col("funding_rate", ColKind.NEAREST, Grid.FIXED, FUNDING_EXPONENT),
            Col("open_interest", ColKind.NEAREST, lot),
            Col("index_price", ColKind.NEAREST, tick),
            Col("mark_price", ColKind.NEAREST, tick),
        ]
    levels = int(data_type.rsplit("_", 1)[1])
    cols = list(ts)
    for i in range(levels):
        for s in ("bids", "asks"):
            cols.append(Col(f"{s}[{i}].price", ColKind.UNITS, tick))
            cols.append(Col(f"{s}[{i}].amount", ColKind.UNITS, lot))
    return cols


def times_ns(path: object, table: np.ndarray, col: int, name: str) -> np.ndarray:
    """Return column ``col`` (µs, or ns when >= 1e17) as ns; refuse other units naming µs."""
    raw = table[:, col]
    bad = (raw >= SECONDS_MIN) & (raw < US_MIN)
    if bad.any():
        k = int(np.argmax(bad))
        raise ConvertError(
            f"{path}:{table[k, OUT_LINE]}: {name} {raw[k]} is not a time in µs since the epoch "
            "(it looks like s or ms; tardis CSV uses µs, 19-digit ns are also accepted)"
        )
    return np.where(raw >= NS_MIN, raw, raw * 1000)


@njit(cache=True, nogil=True)
def _l2_rows(tab, ts, local, venue, state, out):
    """Book rows with the snapshot rule of the module docstring; return the count."""
    r = 0
    for i in range(tab.shape[0]):
        inst = tab[i, 0]
        snap = tab[i, 4]
        kind = _K_BID + tab[i, 5]  # side enum: 0 bid, 1 ask
        qty = tab[i, 7]
        if snap == 1 and (state[inst, 1] == 0 or ts[i] != state[inst, 2]):
            out[r]["kind"] = _K_CLEAR
            out[r]["flags"] = _SNAP
            out[r]["venue"] = venue[inst]
            out[r]["instrument"] = inst
            out[r]["ts_exch_ns"] = ts[i]
            out[r]["ts_local_ns"] = local[i]
            r += 1
            state[inst, 0] = 1
        state[inst, 1] = snap
        state[inst, 2] = ts[i]
        if state[inst, 0] == 0:
            state[inst, 3] += 1
            continue
        if snap == 1 and qty == 0:
            continue
        out[r]["kind"] = kind
        out[r]["flags"] = snap
        out[r]["venue"] = venue[inst]
        out[r]["instrument"] = inst
        out[r]["ts_exch_ns"] = ts[i]
        out[r]["ts_local_ns"] = local[i]
        out[r]["price_tick"] = tab[i, 6]
        out[r]["qty_lot"] = qty
        r += 1
    return r


@njit(cache=True, nogil=True)
def _snapshot_rows(tab, ts, local, venue, levels, missing, out):
    r = 0
    for i in range(tab.shape[0]):
        inst = tab[i, 0]
        out[r]["kind"] = _K_CLEAR
        out[r]["flags"] = _SNAP
        out[r]["venue"] = venue[inst]
        out[r]["instrument"] = inst
        out[r]["ts_exch_ns"] = ts[i]
        out[r]["ts_local_ns"] = local[i]
        r += 1
        for k in range(2 * levels):
            price = tab[i, 4 + 2 * k]
            qty = tab[i, 5 + 2 * k]
            if price == missing or qty == missing or qty == 0:
                continue
            out[r]["kind"] = _K_BID + (k % 2)  # bids first, then asks, level by level
            out[r]["flags"] = _SNAP
            out[r]["venue"] = venue[inst]
            out[r]["instrument"] = inst
            out[r]["ts_exch_ns"] = ts[i]
            out[r]["ts_local_ns"] = local[i]
            out[r]["price_tick"] = price
            out[r]["qty_lot"] = qty
            r += 1
    return r


@njit(cache=True, nogil=True)
def _ticker_rows(tab, ts, local, fund_ns, venue, last, missing, out):
    """Mark, index, funding and open-interest rows, each when its value changed."""
    r = 0
    kinds = (_K_FUNDING, _K_OI, _K_INDEX, _K_MARK)
    for i in range(tab.shape[0]):
        inst = tab[i, 0]
        for f in range(4):
            value = tab[i, 5 + f]
            extra = fund_ns[i] if f == 0 else 0
            if value == missing or (value == last[inst, f] and extra == last[inst, 4 + f]):
                continue
            last[inst, f] = value
            last[inst, 4 + f] = extra
            kind = kinds[f]
            out[r]["kind"] = kind
            out[r]["venue"] = venue[inst]
            out[r]["instrument"] = inst
            out[r]["ts_exch_ns"] = ts[i]
            out[r]["ts_local_ns"] = local[i]
            if kind == _K_FUNDING:
                out[r]["aux"] = value
                out[r]["seq"] = extra
            elif kind == _K_OI:
                out[r]["qty_lot"] = value
            else:
                out[r]["price_tick"] = value
            r += 1
    return r


@dataclass
class TardisReader:
    """Stream one tardis CSV file as event chunks in file (arrival) order."""

    source: TableSource
    data_type: str
    counts: Counts = field(default_factory=Counts)

    @classmethod
    def open(cls, first: FirstLine, data_type: str, **source_args: object) -> TardisReader:
        """Find the type's columns by name in ``first``; raise naming the ones missing."""
        cols = _columns(data_type)
        names = first.names
        missing = [c.name for c in cols if c.name not in names]
        if missing or "exchange" not in names or "symbol" not in names:
            raise ConvertError(
                f"{first.path}:1: tardis {data_type} needs columns {', '.join(missing)}; "
                f"the header has {', '.join(first.fields)}"
            )
        ex, sym = names.index("exchange"), names.index("symbol")
        key = (ex, sym) if sym == ex + 1 else (sym, sym)  # else: the symbol, exchange read aside
        counts = Counts()
        source = TableSource(
            first=first,
            cols=cols,
            positions=[names.index(c.name) for c in cols],
            counts=counts,
            ncols=len(names),
            key=key,
            exchange_pos=ex,
            **source_args,  # type: ignore[arg-type]
        )
        return cls(source, data_type, counts)

    @property
    def path(self) -> Path:
        """Return the input path."""
        return self.source.path

    @property
    def rows(self) -> int:
        """Return the rows read."""
        return self.source.rows

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks; raise ``ConvertError`` naming file and line on bad input."""
        n_inst = len(self.source.resolver.specs)
        venue = self.source.resolver.venue
        state = np.zeros((n_inst, 4), dtype=np.int64)
        last = np.full((n_inst, 8), MISSING, dtype=np.int64)
        for tab in self.source.tables():
            if tab.shape[0] == 0:
                continue
            ts = times_ns(self.path, tab, OUT_FIRST, "timestamp")
            local = times_ns(self.path, tab, OUT_FIRST + 1, "local_timestamp")
            yield self._rows(tab, ts, local, venue, state, last)
        self.counts.skipped_before_snapshot = int(state[:, 3].sum())

    def _rows(self, tab, ts, local, venue, state, last) -> np.ndarray:
        n = tab.shape[0]
        kind = self.data_type
        if kind == "incremental_book_L2":
            out = np.zeros(2 * n, dtype=EVENT_DTYPE)
            return out[: _l2_rows(tab, ts, local, venue, state, out)]
        if kind.startswith("book_snapshot_"):
            levels = (tab.shape[1] - OUT_FIRST - 2) // 4
            out = np.zeros(n * (1 + 2 * levels), dtype=EVENT_DTYPE)
            return out[: _snapshot_rows(tab, ts, local, venue, levels, MISSING, out)]
        if kind == "derivative_ticker":
            fund = tab[:, OUT_FIRST + 2]
            fund_ns = np.where(fund == MISSING, 0, np.where(fund >= NS_MIN, fund, fund * 1000))
            out = np.zeros(4 * n, dtype=EVENT_DTYPE)
            return out[: _ticker_rows(tab, ts, local, fund_ns, venue, last, MISSING, out)]
        inst = tab[:, OUT_INST]
        if kind == "trades":
            out = np.zeros(n, dtype=EVENT_DTYPE)
            out["kind"] = int(EventKind.TRADE_BUY) + tab[:, OUT_FIRST + 3]
            ident = tab[:, OUT_FIRST + 2]
            out["seq"] = out["aux"] = np.where(ident == MISSING, 0, ident)
            out["price_tick"], out["qty_lot"] = tab[:, OUT_FIRST + 4], tab[:, OUT_FIRST + 5]
        else:  # quotes: a bid row and an ask row per quote
            out = np.zeros(2 * n, dtype=EVENT_DTYPE)
            inst, ts, local = np.repeat(inst, 2), np.repeat(ts, 2), np.repeat(local, 2)
            out["kind"] = np.tile([_K_BBO_BID, _K_BBO_ASK], n)
            prices = tab[:, [OUT_FIRST + 2, OUT_FIRST + 4]].reshape(-1)
            sizes = tab[:, [OUT_FIRST + 3, OUT_FIRST + 5]].reshape(-1)
            empty = (prices == MISSING) | (sizes == MISSING)
            out["price_tick"] = np.where(empty, 0, prices)
            out["qty_lot"] = np.where(empty, 0, sizes)
        out["instrument"] = inst
        out["venue"] = venue[inst]
        out["ts_exch_ns"], out["ts_local_ns"] = ts, local
        return out
