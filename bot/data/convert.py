"""``tickbot convert``: tardis.dev / Binance public-data CSV or raw captures to an event file.

Every input becomes a stream of event chunks in replay order (``ts_local_ns``), with its
``BATCH_END`` flags set; the streams are merged by local time (ties: input order) and written
through ``EventFileWriter``. Memory is bounded by the chunk size times the number of inputs,
whatever the input size. Instrument ids are positions in the ``--instruments`` list, which is
written to the output header as is.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from bot.core.instruments import InstrumentSpec
from bot.data.binance import BinanceReader, detect_layout
from bot.data.csvscan import DEFAULT_CHUNK_BYTES, ConvertError, read_first_line
from bot.data.eventfile import EventFileWriter
from bot.data.merge import merge_streams, with_batch_ends
from bot.data.resolve import Resolver
from bot.data.tardis import TardisReader, tardis_type

FORMATS = ("auto", "tardis", "binance-trades", "binance-aggtrades", "binance-bookticker", "capture")
_BINANCE_DATASETS = {
    "binance-trades": "trades",
    "binance-aggtrades": "aggTrades",
    "binance-bookticker": "bookTicker",
}
CAPTURE_MISSING = "capture conversion needs the live ingest module (bot.ingest.recorder)"


class Reader(Protocol):
    """One input file as a stream of event chunks."""

    path: Path
    rows: int

    @property
    def data_type(self) -> str:
        """Return the data type (tardis type or Binance dataset)."""
        ...

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks in replay order."""
        ...


@dataclass
class ConvertResult:
    """What a conversion wrote."""

    output: Path
    events: int
    inputs: list[dict[str, Any]] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """Return the format of ``path`` from its first line (tardis header or Binance layout)."""
    first = read_first_line(path)
    if tardis_type(first) is not None:
        return "tardis"
    try:
        dataset = detect_layout(first).dataset
    except ValueError:
        raise ConvertError(
            f"{path}: cannot tell the input format from its first line; pass --format"
        ) from None
    return "binance-" + dataset.lower()


def open_reader(
    path: Path,
    fmt: str,
    resolver: Resolver,
    *,
    symbol: str | None = None,
    feed_latency_ns: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    tmp_dir: Path | None = None,
) -> Reader:
    """Open one input in ``fmt`` (``auto`` detects it)."""
    if fmt == "auto":
        fmt = detect_format(path)
    if fmt == "tardis":
        data_type = tardis_type(read_first_line(path))
        if data_type is None:
            raise ConvertError(
                f"{path}:1: not a supported tardis CSV header (incremental_book_L2 or trades)"
            )
        return TardisReader(path, data_type, resolver, chunk_bytes)
    if fmt in _BINANCE_DATASETS:
        reader = BinanceReader.open(
            path, resolver, _BINANCE_DATASETS[fmt], symbol, feed_latency_ns, chunk_bytes
        )
        reader.tmp_dir = tmp_dir
        return reader
    raise ConvertError(f"unknown format {fmt!r} (choose from {', '.join(FORMATS)})")


def capture_chunks(path: Path, specs: list[InstrumentSpec]) -> Iterable[np.ndarray]:
    """Replay a raw tickbot capture through the venue's live parser and book sync.

    The live ingest module owns the capture format: ``bot.ingest.recorder.replay_capture(path,
    feed)`` yields event chunks, with ``feed`` built by ``feed_for_capture(path, specs)`` when the
    module offers it (else ``None``: the capture names its venue). Without the module this is a
    clear error, never a fake conversion.
    """
    try:
        recorder = importlib.import_module("bot.ingest.recorder")
    except ModuleNotFoundError as e:
        if e.name is not None and (e.name == "bot.ingest" or e.name.startswith("bot.ingest.")):
            raise ConvertError(CAPTURE_MISSING) from None
        raise
    replay = getattr(recorder, "replay_capture", None)
    if replay is None:
        raise ConvertError(CAPTURE_MISSING)
    make_feed = getattr(recorder, "feed_for_capture", None)
    feed = make_feed(path, specs) if make_feed is not None else None
    return replay(path, feed)  # type: ignore[no-any-return]


def convert(
    inputs: list[Path],
    output: Path,
    specs: list[InstrumentSpec],
    *,
    fmt: str = "auto",
    symbol: str | None = None,
    feed_latency_ns: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
) -> ConvertResult:
    """Convert ``inputs`` into one event file at ``output``; raise ``ConvertError`` on bad input."""
    if not inputs:
        raise ConvertError("no input files")
    output = Path(output)
    for path in inputs:
        if not path.exists():
            raise ConvertError(f"{path}: no such file")
        if path.resolve() == output.resolve():
            raise ConvertError(f"{output}: the output must not be one of the inputs")
    if fmt == "capture":
        streams: list[Iterable[np.ndarray]] = [capture_chunks(p, specs) for p in inputs]
        readers: list[Reader] = []
    else:
        if not specs:
            raise ConvertError(
                f"{inputs[0]}: the input carries no instrument specs; "
                "pass --instruments SPECS.json|yaml with tick_size and lot_size"
            )
        resolver = Resolver(specs)
        readers = [
            open_reader(
                p,
                fmt,
                resolver,
                symbol=symbol,
                feed_latency_ns=feed_latency_ns,
                chunk_bytes=chunk_bytes,
                tmp_dir=output.parent,
            )
            for p in inputs
        ]
        streams = [with_batch_ends(r.chunks()) for r in readers]
    names = [p.name for p in inputs]
    source = f"tickbot convert --format {fmt}: " + ", ".join(names)
    extra = {"converter": {"format": fmt, "inputs": names}}
    with EventFileWriter(output, specs, source, extra=extra) as writer:
        for chunk in merge_streams(streams):
            writer.write(chunk)
    stats = [
        {
            "input": str(r.path),
            "type": r.data_type,
            "rows": r.rows,
            "skipped_before_snapshot": getattr(r, "skipped_before_snapshot", 0),
        }
        for r in readers
    ]
    return ConvertResult(output=output, events=writer.count, inputs=stats)
