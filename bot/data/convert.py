"""``tickbot convert``: tardis.dev / Binance public-data CSV or raw captures to an event file.

Every input becomes a stream of event chunks in replay order (``ts_local_ns``), with its
``BATCH_END`` flags set; the streams are merged by local time (ties: input order) and written
through ``EventFileWriter``. Memory is bounded by the chunk size times the number of inputs,
whatever the input size. Instrument ids are positions in the ``--instruments`` list, which is
written to the output header as is.
"""

from __future__ import annotations

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
from bot.ingest.capture import (
    FORMAT as CAPTURE_FORMAT,
)
from bot.ingest.capture import (
    CaptureError,
    feed_for_capture,
    header_specs,
    iter_replay,
    read_header,
)

FORMATS = ("auto", "tardis", "binance-trades", "binance-aggtrades", "binance-bookticker", "capture")
_BINANCE_DATASETS = {
    "binance-trades": "trades",
    "binance-aggtrades": "aggTrades",
    "binance-bookticker": "bookTicker",
}


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
    """Return the format of ``path`` from its first line (capture header, tardis header or
    Binance layout)."""
    if is_capture(path):
        return "capture"
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


class CaptureReader:
    """A raw tickbot capture replayed through the venue's live parser and book sync.

    The feed comes from the venue registry, built from the capture header's venue and
    instruments (ids: positions in ``specs``); its rows carry their own ``BATCH_END`` flags.
    """

    def __init__(self, path: Path, specs: list[InstrumentSpec]) -> None:
        self.path = path
        self.rows = 0
        try:
            self.venue = str(read_header(path).get("venue"))
            self.feed, _ = feed_for_capture(path, specs)
        except CaptureError as e:
            raise ConvertError(str(e)) from None

    @property
    def data_type(self) -> str:
        """Return ``capture <venue>``."""
        return f"capture {self.venue}"

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks in receive order."""
        try:
            for chunk in iter_replay(self.path, self.feed):
                self.rows += chunk.shape[0]
                yield chunk
        except CaptureError as e:
            raise ConvertError(str(e)) from None


def capture_specs(inputs: list[Path]) -> list[InstrumentSpec]:
    """Return the instruments of every capture header, in input order, each once."""
    specs: dict[tuple[str, str], InstrumentSpec] = {}
    for path in inputs:
        try:
            captured = header_specs(path)
        except CaptureError as e:
            raise ConvertError(str(e)) from None
        for spec in captured:
            specs.setdefault((spec.venue, spec.symbol), spec)
    return list(specs.values())


def is_capture(path: Path) -> bool:
    """Return whether ``path`` is a tickbot capture (file or directory of rotated files)."""
    try:
        return read_header(path).get("format") == CAPTURE_FORMAT
    except CaptureError:
        return False


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
    if fmt == "auto" and all(is_capture(p) for p in inputs):
        fmt = "capture"
    if fmt == "capture":
        specs = specs or capture_specs(inputs)
        readers: list[Reader] = [CaptureReader(p, specs) for p in inputs]
        streams: list[Iterable[np.ndarray]] = [r.chunks() for r in readers]
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
