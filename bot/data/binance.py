"""Binance public-data CSV (data.binance.vision): trades, aggTrades and bookTicker to event rows.

Follows the rules in ``docs/data.md`` (Binance public data):

* header rows vary per file: a first byte that is a digit means no header; with a header,
  columns are found by name, without one by position (spot and futures layouts differ);
* times are ms, or µs for spot from 2025: a value of 1e14 or more is µs, per row;
* ``is_buyer_maker=true`` means the taker sold: ``TRADE_SELL``;
* rows are not guaranteed to be ordered: each file is sorted by (time, id) with an
  external sort, so memory stays bounded.

The files carry no symbol: it comes from ``--symbol``, else from the official file name
(``BTCUSDT-aggTrades-2023-05.csv``), else from a single-instrument spec list. They carry no
receive time either: ``ts_local_ns`` is the exchange time plus ``feed_latency_ns``. bookTicker
rows (best bid/ask) become ``BBO_BID``/``BBO_ASK`` rows, never book rows (a BBO stream must not
write into an L2 book of the same instrument); ``ts_exch_ns`` is the transaction time and
``ts_local_ns`` the event (send) time plus the feed latency.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numba import njit

from bot.core.dtypes import EVENT_DTYPE
from bot.core.ticks import POW10, parse_units
from bot.data.csvscan import (
    DEFAULT_CHUNK_BYTES,
    ConvertError,
    ScanStatus,
    emit_row,
    iter_line_blocks,
    line_end,
    line_text,
    parse_bool,
    parse_int,
    read_first_line,
    scan_error,
    split_fields,
    units_status,
)
from bot.data.merge import external_sort
from bot.data.resolve import Resolver
from bot.data.source import Counts

DATASETS = ("trades", "aggTrades", "bookTicker")
_FILE_NAME = re.compile(r"^([A-Z0-9_]+)-(trades|aggTrades|bookTicker)-\d{4}-\d{2}")
_ALIASES = {
    "id": "id",
    "aggtradeid": "id",
    "updateid": "id",
    "price": "price",
    "qty": "qty",
    "quantity": "qty",
    "time": "time",
    "transacttime": "time",
    "isbuyermaker": "maker",
}
BOOK_TICKER_COLUMNS = (
    "update_id",
    "best_bid_price",
    "best_bid_qty",
    "best_ask_price",
    "best_ask_qty",
    "transaction_time",
    "event_time",
)


@dataclass(frozen=True)
class Layout:
    """Where a Binance file keeps its fields."""

    dataset: str
    header: bool
    names: tuple[str, ...]
    id: int = 0
    price: int = 1
    qty: int = 2
    time: int = 4
    maker: int = 5


def _headless_layout(first: list[str]) -> Layout:
    n = len(first)

    def is_bool(i: int) -> bool:
        return i < n and first[i].lower() in ("true", "false")

    if n == 6 and is_bool(5):  # futures trades
        return Layout("trades", False, ("id", "price", "qty", "quote_qty", "time", "maker"))
    if n == 7 and is_bool(5):  # spot trades
        names: tuple[str, ...] = ("id", "price", "qty", "quote_qty", "time", "maker", "best_match")
        return Layout("trades", False, names)
    if n in (7, 8) and is_bool(6):  # futures (7) or spot (8) aggTrades
        names = ("id", "price", "qty", "first_id", "last_id", "time", "maker", "best_match")[:n]
        return Layout("aggTrades", False, names, time=5, maker=6)
    if n == 7:
        return Layout("bookTicker", False, BOOK_TICKER_COLUMNS)
    raise ValueError(f"unrecognised Binance CSV row with {n} fields")


def detect_layout(first_line: bytes) -> Layout:
    """Return the layout of a Binance CSV from its first line; raise ``ValueError`` if unknown."""
    text = first_line.decode("utf-8", "replace").lstrip("\ufeff").strip()
    fields = text.split(",")
    if text[:1].isdigit():
        return _headless_layout(fields)
    keys = [f.strip().lower().replace("_", "") for f in fields]
    if keys[:2] == ["updateid", "bestbidprice"]:
        return Layout("bookTicker", True, tuple(fields))
    pos = {_ALIASES[k]: i for i, k in enumerate(keys) if k in _ALIASES}
    if {"id", "price", "qty", "time", "maker"} <= set(pos):
        dataset = "aggTrades" if keys[0] == "aggtradeid" else "trades"
        return Layout(dataset, True, tuple(fields), **pos)
    raise ValueError(f"unrecognised Binance CSV header {text!r}")


def symbol_from_name(path: Path) -> tuple[str, str] | None:
    """Return ``(symbol, dataset)`` from an official file name, or None."""
    match = _FILE_NAME.match(path.name)
    return (match.group(1), match.group(2)) if match else None


@njit(cache=True, nogil=True)
def _time_ns(value):
    if value >= 100_000_000_000_000_000:
        return value  # ns
    return value * 1000 if value >= 100_000_000_000_000 else value * 1_000_000


@njit(cache=True, nogil=True)
def _scan(buf, pos, line, ticker, ncols, cols, inst, venue, grid, latency, out, fs, fe, pow10):
    """Parse lines from ``pos`` into ``out``; return ``(rows, pos, line, status, field)``."""
    r = 0
    n = buf.shape[0]
    c_id, c_price, c_qty, c_time, c_maker = cols[0], cols[1], cols[2], cols[3], cols[4]
    while pos < n:
        end, nxt = line_end(buf, pos)
        if end == pos:
            pos, line = nxt, line + 1
            continue
        if split_fields(buf, pos, end, fs, fe) != ncols:
            return r, pos, line, 2, -1
        if ticker:
            uid, ok = parse_int(buf, fs[0], fe[0])
            if not ok:
                return r, pos, line, 3, 0
            t_tx, ok = parse_int(buf, fs[5], fe[5])
            if not ok:
                return r, pos, line, 3, 5
            t_ev, ok = parse_int(buf, fs[6], fe[6])
            if not ok:
                return r, pos, line, 3, 6
            for side in range(2):
                fp, fq = 1 + 2 * side, 2 + 2 * side
                price, st = parse_units(buf, fs[fp], fe[fp], grid[0], grid[1], pow10)
                if st != 0:
                    return r, pos, line, units_status(st), fp
                qty, st = parse_units(buf, fs[fq], fe[fq], grid[2], grid[3], pow10)
                if st != 0:
                    return r, pos, line, units_status(st), fq
                ts, local = _time_ns(t_tx), _time_ns(t_ev) + latency
                emit_row(out, r, 7 + side, 0, venue, inst, ts, local, price, qty, uid, 0)
                r += 1
        else:
            tid, ok = parse_int(buf, fs[c_id], fe[c_id])
            if not ok:
                return r, pos, line, 3, c_id
            t, ok = parse_int(buf, fs[c_time], fe[c_time])
            if not ok:
                return r, pos, line, 3, c_time
            maker = parse_bool(buf, fs[c_maker], fe[c_maker])
            if maker < 0:
                return r, pos, line, 5, c_maker
            price, st = parse_units(buf, fs[c_price], fe[c_price], grid[0], grid[1], pow10)
            if st != 0:
                return r, pos, line, units_status(st), c_price
            qty, st = parse_units(buf, fs[c_qty], fe[c_qty], grid[2], grid[3], pow10)
            if st != 0:
                return r, pos, line, units_status(st), c_qty
            ts = _time_ns(t)
            kind = 5 if maker == 1 else 4  # buyer was maker => the taker sold
            emit_row(out, r, kind, 2, venue, inst, ts, ts + latency, price, qty, tid, tid)
            r += 1
        pos, line = nxt, line + 1
    return r, pos, line, 0, -1


@dataclass
class BinanceReader:
    """Stream one Binance CSV file as event chunks, sorted by (time, id)."""

    path: Path
    layout: Layout
    instrument: int
    resolver: Resolver
    feed_latency_ns: int = 0
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    rows: int = 0
    tmp_dir: Path | None = None
    counts: Counts = field(default_factory=Counts)
    """Where sorted runs of large files are spilled (the output's directory)."""

    @classmethod
    def open(
        cls,
        path: Path,
        resolver: Resolver,
        dataset: str | None,
        symbol: str | None,
        feed_latency_ns: int = 0,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
        instrument: int | None = None,
    ) -> BinanceReader:
        """Detect the layout and symbol of ``path``; check them against ``dataset``."""
        try:
            layout = detect_layout(read_first_line(path))
        except ValueError as e:
            raise ConvertError(f"{path}:1: {e}") from None
        if dataset is not None and layout.dataset != dataset:
            raise ConvertError(f"{path}: looks like Binance {layout.dataset}, not {dataset}")
        if instrument is None:
            named = symbol_from_name(path)
            if symbol is None and named is not None:
                symbol = named[0]
            if symbol is None and len(resolver.specs) == 1:
                symbol = resolver.specs[0].symbol
            if symbol is None:
                raise ConvertError(
                    f"{path}: cannot tell the symbol from the file name; pass --symbol"
                )
            instrument = resolver.resolve(symbol, str(path))
        return cls(path, layout, instrument, resolver, feed_latency_ns, chunk_bytes)

    @property
    def data_type(self) -> str:
        """Return the Binance dataset of this file."""
        return self.layout.dataset

    def _parsed(self) -> Iterator[np.ndarray]:
        lay, res, inst = self.layout, self.resolver, self.instrument
        ticker = lay.dataset == "bookTicker"
        cols = np.array([lay.id, lay.price, lay.qty, lay.time, lay.maker], dtype=np.int64)
        tick = (res.tick_mantissa[inst], res.tick_exponent[inst])
        lot = (res.lot_mantissa[inst], res.lot_exponent[inst])
        grid = np.array([*tick, *lot], dtype=np.int64)
        ncols = len(lay.names)
        fs, fe = np.zeros(ncols, np.int64), np.zeros(ncols, np.int64)
        skip = 1 if lay.header else 0
        for buf, first_line, lines in iter_line_blocks(self.path, self.chunk_bytes, skip):
            out = np.zeros((2 if ticker else 1) * lines, dtype=EVENT_DTYPE)
            r, pos, line, status, fld = _scan(
                buf,
                0,
                first_line,
                ticker,
                ncols,
                cols,
                inst,
                res.venue[inst],
                grid,
                self.feed_latency_ns,
                out,
                fs,
                fe,
                POW10,
            )
            if status != ScanStatus.OK:
                text = line_text(buf, pos)
                price = fld in (1, 3) if ticker else fld == lay.price
                raise scan_error(
                    self.path, line, text, status, fld, lay.names, res.grid_text(inst, price)
                )
            self.rows += r // 2 if ticker else r  # a bookTicker line is two rows
            yield out[:r]

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks in replay order; raise ``ConvertError`` on bad input."""
        yield from external_sort(self._parsed(), self.tmp_dir or Path(tempfile.gettempdir()))
