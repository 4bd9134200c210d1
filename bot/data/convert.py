"""``tickbot convert``: tardis.dev / Binance public-data CSV or raw captures to an event file.

Every input is recognised by its first line (``bot.data.formats``, read once) and becomes a
stream of event chunks, put in replay order (``ts_local_ns``) by its format's rule
(``bot.data.order``: arrival order kept for book streams, a bounded reorder window for the
rest), with its ``BATCH_END`` flags set; the streams are merged by local time (ties: input
order) and written through ``EventFileWriter``. Memory is bounded by the chunk size and the
reorder window times the number of inputs, whatever the input size. Instrument ids are
positions in the ``--instruments`` list, which is written to the output header as is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.core.instruments import InstrumentSpec
from bot.data import formats
from bot.data.binance_extra import TDepthReader, snap_partner
from bot.data.csvscan import DEFAULT_CHUNK_BYTES, ConvertError
from bot.data.eventfile import EventFileWriter
from bot.data.formats import Options, Order, Reader
from bot.data.merge import merge_streams, with_batch_ends
from bot.data.order import DEFAULT_WINDOW_NS, clamp_arrival, drop_bad_trades, sort_window
from bot.data.resolve import Resolver
from bot.data.source import READ_ERRORS, Counts, read_first
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

FORMATS = tuple(formats.names())
"""Every ``--format`` value (``auto`` detects; see ``bot.data.formats``)."""


@dataclass
class ConvertResult:
    """What a conversion wrote."""

    output: Path
    events: int
    inputs: list[dict[str, Any]] = field(default_factory=list)


def detect_format(path: Path) -> str:
    """Return the name of the format of ``path`` (capture header, else the registry)."""
    if is_capture(path):
        return formats.CAPTURE
    return formats.detect(read_first(path)).name


def _ordered(reader: Reader, order: Order, window_ns: int) -> Iterable[np.ndarray]:
    chunks = drop_bad_trades(reader.chunks(), reader.counts)
    if order is Order.ARRIVAL:
        return clamp_arrival(chunks, reader.counts)
    if order is Order.TIME:
        return sort_window(chunks, reader.counts, window_ns)
    return chunks


def _partner(path: Path, inputs: list[Path]) -> Path | None:
    """Return the T_DEPTH snapshot file among ``inputs`` that belongs to update file ``path``."""
    snap = snap_partner(path)
    return next((p for p in inputs if snap is not None and p.name == snap.name), None)


def _open_inputs(inputs: list[Path], fmt: str, opts: Options) -> list[tuple[Reader, Order]]:
    """Open every CSV input; a T_DEPTH update file is read together with its snapshot file."""
    firsts = {p: read_first(p) for p in inputs}
    chosen = {p: formats.resolve_format(fmt, first) for p, first in firsts.items()}
    snaps = {s for p in inputs if (s := _partner(p, inputs)) is not None}
    opened: list[tuple[Reader, Order]] = []
    for path in inputs:
        if path in snaps and chosen[path].name == "binance-tdepth":
            continue  # read with its update file
        spec = chosen[path]
        reader = spec.open(firsts[path], opts)
        snap = _partner(path, inputs)
        if isinstance(reader, TDepthReader) and snap is not None:
            reader.snap = TDepthReader.source(
                firsts[snap],
                reader.inst,
                reader.counts,
                resolver=opts.resolver,
                symbols=opts.symbols,
                chunk_bytes=opts.chunk_bytes,
            )
        opened.append((reader, spec.order))
    return opened


class CaptureReader:
    """A raw tickbot capture replayed through the venue's live parser and book sync.

    The feed comes from the venue registry, built from the capture header's venue and
    instruments (ids: positions in ``specs``); its rows carry their own ``BATCH_END`` flags.
    """

    def __init__(self, path: Path, specs: list[InstrumentSpec]) -> None:
        self.path = path
        self.rows = 0
        self.counts = Counts()
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
    except (CaptureError, *READ_ERRORS):  # a damaged file: read_first reports it
        return False


def convert(
    inputs: list[Path],
    output: Path,
    specs: list[InstrumentSpec],
    *,
    fmt: str = "auto",
    symbol: str | None = None,
    symbols: list[str] | None = None,
    feed_latency_ns: int = 0,
    chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    reorder_window_ns: int = DEFAULT_WINDOW_NS,
) -> ConvertResult:
    """Convert ``inputs`` into one event file at ``output``; raise ``ConvertError`` on bad input.

    ``symbols`` keeps only those symbols of multi-symbol files (the other rows are counted).
    """
    if not inputs:
        raise ConvertError("no input files")
    output = Path(output)
    for path in inputs:
        if not path.exists():
            raise ConvertError(f"{path}: no such file")
        if path.resolve() == output.resolve():
            raise ConvertError(f"{output}: the output must not be one of the inputs")
    if fmt == "auto" and all(is_capture(p) for p in inputs):
        fmt = formats.CAPTURE
    if fmt == formats.CAPTURE:
        specs = specs or capture_specs(inputs)
        readers: list[Any] = [CaptureReader(p, specs) for p in inputs]
        streams: list[Iterable[np.ndarray]] = [clamp_arrival(r.chunks(), r.counts) for r in readers]
    else:
        if not specs:
            raise ConvertError(
                f"{inputs[0]}: the input carries no instrument specs; "
                "pass --instruments SPECS.json|yaml with tick_size and lot_size"
            )
        if symbols:
            unknown = sorted(set(symbols) - {s.symbol for s in specs})
            if unknown:
                raise ConvertError(
                    f"--symbols {', '.join(unknown)}: not in --instruments "
                    f"({', '.join(s.symbol for s in specs)})"
                )
        opts = Options(
            resolver=Resolver(specs),
            symbols=frozenset(symbols) if symbols else None,
            symbol=symbol,
            feed_latency_ns=feed_latency_ns,
            chunk_bytes=chunk_bytes,
            tmp_dir=output.parent,
        )
        opened = _open_inputs(inputs, fmt, opts)
        readers = [r for r, _ in opened]
        streams = [with_batch_ends(_ordered(r, o, reorder_window_ns)) for r, o in opened]
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
            "skipped_before_snapshot": r.counts.skipped_before_snapshot,
            "notes": r.counts.notes(),
            "counts": dataclasses.asdict(r.counts),
        }
        for r in readers
    ]
    return ConvertResult(output=output, events=writer.count, inputs=stats)
