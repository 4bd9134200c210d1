"""The registry of input formats: each entry a name, a test of its first line, and its reader.

``tickbot convert`` reads an input's first line once (``bot.data.source.read_first``) and asks
each entry in turn whether it recognises it; ``--format NAME`` skips the question. Adding a
format is one module with a reader (``chunks()`` of event rows, ``rows``, ``counts``) and one
entry here. Each entry also says how its rows are ordered (``Order``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.data import binance_extra as bx
from bot.data import hftbacktest_raw as hbt
from bot.data.binance import BinanceReader, detect_layout
from bot.data.csvscan import DEFAULT_CHUNK_BYTES, ConvertError
from bot.data.resolve import Resolver
from bot.data.source import Counts, FirstLine
from bot.data.tardis import TardisReader, tardis_type


class Order(Enum):
    """How a format's rows reach replay order (``bot.data.order``)."""

    ARRIVAL = "arrival"
    """File order is the truth (a book stream): kept; a local time lower than the one before is
    raised to it and counted."""
    TIME = "time"
    """Independent rows: sorted stably by local time within the reorder window."""
    SORTED = "sorted"
    """The reader sorts the whole file itself (Binance trades: interleaved files)."""


class Reader(Protocol):
    """One input as a stream of event chunks."""

    counts: Counts

    @property
    def path(self) -> Path:
        """Return the input path."""
        ...

    @property
    def rows(self) -> int:
        """Return the rows read so far."""
        ...

    @property
    def data_type(self) -> str:
        """Return what the file holds."""
        ...

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks."""
        ...


@dataclass(frozen=True)
class Options:
    """What every reader may need from the command line."""

    resolver: Resolver
    symbols: frozenset[str] | None = None
    symbol: str | None = None
    feed_latency_ns: int = 0
    chunk_bytes: int = DEFAULT_CHUNK_BYTES
    tmp_dir: Path | None = None


@dataclass(frozen=True)
class Format:
    """One input format."""

    name: str
    summary: str
    matches: Callable[[FirstLine], bool]
    open: Callable[[FirstLine, Options], Reader]
    order: Order


_MARKETS = {"spot": "binance-spot", "um": "binance-usdm", "cm": "binance-coinm"}


def binance_venue(path: Path) -> str | None:
    """Return the Binance market a path names (``.../spot/...``, ``binance_um_...``), or None."""
    parts = [p.lower() for p in re.split(r"[/\\_\-.]", str(path))]
    found = {_MARKETS[p] for p in parts if p in _MARKETS}
    return found.pop() if len(found) == 1 else None


def binance_instrument(first: FirstLine, opts: Options, dataset: str) -> int:
    """Return the instrument of a Binance file (no symbol inside): ``--symbol``, else the file
    name, else the only spec; the market (spot, um, cm) from the path when several match."""
    symbol = opts.symbol
    if symbol is None:
        match = re.match(r"^([A-Z0-9_]+?)(?:_T_DEPTH|-\w+-\d{4}-\d{2})", first.path.name)
        symbol = match.group(1) if match else None
    if symbol is None and len(opts.resolver.specs) == 1:
        symbol = opts.resolver.specs[0].symbol
    if symbol is None:
        raise ConvertError(
            f"{first.path}: cannot tell the symbol of this Binance {dataset} file; pass --symbol"
        )
    return opts.resolver.resolve(symbol, str(first.path), venue=binance_venue(first.path))


def _source_args(opts: Options) -> dict[str, object]:
    return {"resolver": opts.resolver, "symbols": opts.symbols, "chunk_bytes": opts.chunk_bytes}


def _tardis(data_type: str) -> Format:
    def matches(first: FirstLine) -> bool:
        found = tardis_type(first)
        return found == data_type or (
            data_type == "book_snapshot_N" and (found or "").startswith("book_snapshot_")
        )

    def open_(first: FirstLine, opts: Options) -> Reader:
        found = tardis_type(first) or data_type
        return TardisReader.open(first, found, **_source_args(opts))

    book = data_type in ("incremental_book_L2", "book_snapshot_N")
    summary = {
        "incremental_book_L2": "tardis.dev L2 book: snapshots and absolute-size updates",
        "trades": "tardis.dev trades (taker side, numeric or text ids)",
        "quotes": "tardis.dev quotes / book_ticker: BBO rows, never book rows",
        "book_snapshot_N": "tardis.dev book_snapshot_5 / _25 (any N): a top-N book per row",
        "derivative_ticker": "tardis.dev derivative_ticker: mark, index, funding, open interest",
    }[data_type]
    return Format(
        f"tardis-{data_type}", summary, matches, open_, Order.ARRIVAL if book else Order.TIME
    )


def _binance(dataset: str, summary: str) -> Format:
    def matches(first: FirstLine) -> bool:
        try:
            return detect_layout(first.raw).dataset == dataset
        except ValueError:
            return False

    def open_(first: FirstLine, opts: Options) -> Reader:
        inst = binance_instrument(first, opts, dataset)
        reader = BinanceReader.open(
            first.path,
            opts.resolver,
            dataset,
            opts.resolver.specs[inst].symbol,
            opts.feed_latency_ns,
            opts.chunk_bytes,
            instrument=inst,
        )
        reader.tmp_dir = opts.tmp_dir
        return reader

    return Format(f"binance-{dataset.lower()}", summary, matches, open_, Order.SORTED)


def _binance_table(
    name: str, data_type: str, matches: Callable[[FirstLine], bool], summary: str
) -> Format:
    def open_(first: FirstLine, opts: Options) -> Reader:
        inst = binance_instrument(first, opts, data_type)
        return bx.BinanceTableReader.open(
            first, data_type, inst, opts.feed_latency_ns, **_source_args(opts)
        )

    return Format(name, summary, matches, open_, Order.TIME)


def _open_hftbacktest_raw(first: FirstLine, opts: Options) -> Reader:
    return hbt.HftbacktestRawReader(
        first.path,
        opts.resolver.specs,
        feed_latency_ns=opts.feed_latency_ns,
        symbols=opts.symbols,
    )


def _open_tdepth(first: FirstLine, opts: Options) -> Reader:
    inst = binance_instrument(first, opts, "T_DEPTH")
    counts = Counts()
    src = bx.TDepthReader.source(first, inst, counts, **_source_args(opts))
    if "depth_update" in first.path.name:
        return bx.TDepthReader(None, src, inst, counts)
    return bx.TDepthReader(src, None, inst, counts)


FORMATS: tuple[Format, ...] = (
    _tardis("incremental_book_L2"),
    _tardis("trades"),
    _tardis("quotes"),
    _tardis("book_snapshot_N"),
    _tardis("derivative_ticker"),
    _binance("trades", "Binance public data trades (spot 7 columns, futures 6)"),
    _binance("aggTrades", "Binance public data aggTrades (spot 8 columns, futures 7)"),
    _binance("bookTicker", "Binance public data bookTicker: BBO rows, never book rows"),
    _binance_table(
        "binance-klines",
        "klines",
        bx.is_klines,
        "Binance public data klines, any interval: a candle as 4 rows",
    ),
    _binance_table(
        "binance-bookdepth",
        "bookDepth",
        lambda f: f.names[:4] == list(bx.BOOK_DEPTH_COLUMNS),
        "Binance public data bookDepth: cumulative size per +-% band",
    ),
    _binance_table(
        "binance-fundingrate",
        "fundingRate",
        lambda f: set(bx.FUNDING_COLUMNS) <= set(f.names),
        "Binance public data fundingRate",
    ),
    Format(
        "binance-tdepth",
        "Binance historical order book T_DEPTH snapshot and update files",
        bx.is_tdepth,
        _open_tdepth,
        Order.ARRIVAL,
    ),
    Format(
        hbt.NAME,
        "hftbacktest's raw Binance USD-M collector files (receive ns + frame per line)",
        hbt.matches,
        _open_hftbacktest_raw,
        Order.ARRIVAL,
    ),
)
"""Every format, in the order ``auto`` tries them."""
CAPTURE = "capture"
"""tickbot's own raw captures (not a CSV: detected from their header, see bot.ingest.capture)."""
ALIASES = {"tardis": "tardis-*"}
"""Older names: ``tardis`` means any tardis type, told by the header."""


def by_name(name: str) -> Format | None:
    """Return the format called ``name``, or None."""
    return next((f for f in FORMATS if f.name == name), None)


def names() -> list[str]:
    """Return every format name ``--format`` takes."""
    return ["auto", *(f.name for f in FORMATS), CAPTURE, *ALIASES]


def detect(first: FirstLine) -> Format:
    """Return the format recognising ``first``; raise naming the columns seen and the formats."""
    for fmt in FORMATS:
        if fmt.matches(first):
            return fmt
    seen = first.text[:200]
    what = "columns" if first.is_header else "a first row"
    raise ConvertError(
        f"{first.path}: not a format tickbot knows ({what}: {seen}); known formats: "
        + ", ".join(f.name for f in FORMATS)
        + f", {CAPTURE}"
    )


def resolve_format(name: str, first: FirstLine) -> Format:
    """Return the format ``name`` (``auto``: detected) for ``first``; check that it fits."""
    if name == "auto":
        return detect(first)
    if name == "tardis":
        found = detect(first)
        if not found.name.startswith("tardis-"):
            raise ConvertError(f"{first.path}:1: not a tardis CSV header ({first.text[:200]})")
        return found
    fmt = by_name(name)
    if fmt is None:
        raise ConvertError(f"unknown format {name!r} (choose from {', '.join(names())})")
    if not fmt.matches(first):
        try:
            actual = f"looks like {detect(first).name}, not {name}"
        except ConvertError:
            actual = f"does not look like {name} ({first.text[:200]})"
        raise ConvertError(f"{first.path}:1: {actual}; try --format auto")
    return fmt
