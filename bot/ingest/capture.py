"""The tickbot capture format, in one module: write lines, read files, replay through a feed.

Format (``docs/capture-format.md``): line 1 is the header ``{"format": "tickbot-capture",
"version": 1, "venue", "symbols", "instruments", "started_at"}``; then one line per message
``{"ts": <local receive ns>, "ch": "ws"|"rest", "src": <URL path>, "msg": <text as received,
after transport decompression>}``; a payload that is not valid UTF-8 is stored base64 in ``b64``.
The live recorder (``bot.ingest.recorder``) writes lines with ``encode_line``. This module imports
no network library, so ``bot.data`` (``tickbot convert``) can use it.

``replay_capture(path, feed)`` drives a ``MarketDataFeed`` exactly as the live supervisor does:
``on_connect`` for every URL at the first line's time, ``ws`` lines to ``on_message``, ``rest``
lines to ``on_snapshot`` for the pending ``SnapshotRequest`` with the same path. So
``tickbot convert`` turns a capture into event rows through the same parsers and book sync as
live trading; ``feed_for_capture`` builds that feed from the capture header (venue and
instruments) through the venue registry, and ``iter_replay`` streams the rows in chunks.
``write_capture`` builds a capture from a REST snapshot plus WebSocket messages (tests, bug
reports, users' own data).
"""

from __future__ import annotations

import base64
import gzip
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bot.adapters.base import EventBuffer, InstrumentRef, MarketDataFeed, SnapshotRequest
from bot.adapters.feeds import feed_factory
from bot.core.book import DEFAULT_WINDOW, new_books
from bot.core.dtypes import EVENT_DTYPE
from bot.core.instruments import InstrumentError, InstrumentSpec, parse_specs

FORMAT = "tickbot-capture"
VERSION = 1


def header(
    venue: str, symbols: Sequence[str], instruments: Sequence[dict[str, Any]], started_at: str
) -> dict[str, Any]:
    """Return a capture header object."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "venue": venue,
        "symbols": list(symbols),
        "instruments": list(instruments),
        "started_at": started_at,
    }


def encode_line(ts_local_ns: int, ch: str, src: str, data: str | bytes) -> bytes:
    """Return one capture line (with the trailing newline)."""
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            obj = {"ts": ts_local_ns, "ch": ch, "src": src, "b64": base64.b64encode(data).decode()}
            return orjson.dumps(obj) + b"\n"
    else:
        text = data
    return orjson.dumps({"ts": ts_local_ns, "ch": ch, "src": src, "msg": text}) + b"\n"


_TS_MAX = 2**63 - 1


class CaptureError(ValueError):
    """A capture file is missing, truncated or not in the tickbot-capture format."""


@dataclass(frozen=True, slots=True)
class CaptureLine:
    """One recorded message."""

    ts: int
    ch: str
    src: str
    msg: str | bytes


@dataclass(slots=True)
class ReplayStats:
    """What a replay did (for ``tickbot convert``'s summary)."""

    ws_lines: int = 0
    rest_lines: int = 0
    unmatched_rest: int = 0
    """REST lines for which the feed had no pending request (skipped)."""
    bad_lines: int = 0


def capture_files(path: str | Path) -> list[Path]:
    """Return the capture files of ``path`` (a file, or a directory of rotated files, sorted)."""
    p = Path(path)
    if p.is_dir():
        files = sorted(p.glob("*.ndjson.gz")) + sorted(p.glob("*.ndjson"))
        if not files:
            raise CaptureError(f"{p}: no *.ndjson.gz capture files")
        return files
    if not p.exists():
        raise CaptureError(f"{p}: no such capture file")
    return [p]


def _open(path: Path) -> Iterator[bytes]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            yield from f
    except (OSError, EOFError, zlib.error) as e:  # zlib.error: a corrupt gzip stream
        raise CaptureError(f"{path}: cannot read ({e})") from None


def read_header(path: str | Path) -> dict[str, Any]:
    """Return the header of a capture file (the first file of a directory)."""
    first = capture_files(path)[0]
    for raw in _open(first):
        return _check_header(raw, first)
    raise CaptureError(f"{first}: empty capture")


def _check_header(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        head = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise CaptureError(f"{path}: first line is not a JSON header") from None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise CaptureError(f"{path}: not a {FORMAT} file")
    if head.get("version") != VERSION:
        raise CaptureError(f"{path}: unsupported capture version {head.get('version')!r}")
    return head


def read_capture(path: str | Path, stats: ReplayStats | None = None) -> Iterator[CaptureLine]:
    """Yield the messages of a capture (all rotated files of a directory, in order).

    Lines that are not valid capture lines are counted in ``stats.bad_lines`` and skipped; a
    truncated final line (crash while writing) is therefore harmless.
    """
    for path_ in capture_files(path):
        first = True
        for raw in _open(path_):
            if first:
                _check_header(raw, path_)
                first = False
                continue
            line = _parse_line(raw)
            if line is None:
                if stats is not None:
                    stats.bad_lines += 1
                continue
            yield line


def _parse_line(raw: bytes) -> CaptureLine | None:
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(obj, dict):
        return None
    ts, ch, src = obj.get("ts"), obj.get("ch"), obj.get("src")
    if not isinstance(ts, int) or not 0 <= ts <= _TS_MAX or ch not in ("ws", "rest"):
        return None  # a ts beyond int64 would overflow the event rows (found by make fuzz)
    if not isinstance(src, str):
        return None
    msg = obj.get("msg")
    if isinstance(msg, str):
        return CaptureLine(ts, ch, src, msg)
    b64 = obj.get("b64")
    if isinstance(b64, str):
        try:
            return CaptureLine(ts, ch, src, base64.b64decode(b64, validate=True))
        except ValueError:
            return None
    return None


def replay_capture(
    path: str | Path | Iterable[CaptureLine],
    feed: MarketDataFeed,
    *,
    stats: ReplayStats | None = None,
) -> np.ndarray:
    """Drive ``feed`` over a capture as live ingest would; return the emitted event rows.

    The feed must have been built with its own books (it applies book rows as it goes).
    """
    chunks = list(iter_replay(path, feed, stats=stats))
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=EVENT_DTYPE)


def iter_replay(
    path: str | Path | Iterable[CaptureLine],
    feed: MarketDataFeed,
    *,
    stats: ReplayStats | None = None,
    chunk_rows: int = 1 << 16,
) -> Iterator[np.ndarray]:
    """Like ``replay_capture``, yielding the rows in chunks of about ``chunk_rows`` (each chunk
    is a fresh array), so a capture of any size converts in bounded memory."""
    stats = stats if stats is not None else ReplayStats()
    lines = read_capture(path, stats) if isinstance(path, str | Path) else iter(path)
    out = EventBuffer(chunk_rows + 1024)
    pending: dict[str, SnapshotRequest] = {}
    connected = False
    for line in lines:
        if not connected:
            for url in feed.ws_urls():
                feed.on_connect(line.ts, out, url=url)
            connected = True
        _collect(feed, pending)
        if line.ch == "ws":
            stats.ws_lines += 1
            feed.on_message(line.msg, line.ts, out)
        else:
            stats.rest_lines += 1
            request = pending.pop(line.src, None)
            if request is None:
                stats.unmatched_rest += 1
                continue
            body = line.msg.encode() if isinstance(line.msg, str) else line.msg
            feed.on_snapshot(request, body, line.ts, out)
        _collect(feed, pending)
        if out.n >= chunk_rows:
            yield out.view().copy()
            out.clear()
    if out.n:
        yield out.view().copy()


def header_specs(path: str | Path, head: dict[str, Any] | None = None) -> list[InstrumentSpec]:
    """Return the instrument specs a capture's header lists (as fetched when recording)."""
    head = head if head is not None else read_header(path)
    try:
        specs = parse_specs(head.get("instruments"), source=f"{path} header")
    except InstrumentError as e:
        raise CaptureError(f"{path}: {e}") from None
    if not specs:
        raise CaptureError(f"{path}: the header lists no instruments")
    return specs


def feed_for_capture(
    path: str | Path,
    specs: Sequence[InstrumentSpec] | None = None,
    *,
    window: int = DEFAULT_WINDOW,
) -> tuple[MarketDataFeed, list[InstrumentSpec]]:
    """Build the feed that replays capture ``path``: the header's venue, over its instruments.

    Without ``specs`` the instrument ids are the header's order. With ``specs`` (the instrument
    table of an event file holding several captures) each captured instrument takes the id of
    its (venue, symbol) in ``specs``; one missing from it is a ``CaptureError``. Returns the
    feed, built over books of its own, and the captured specs in id order.
    """
    head = read_header(path)
    try:
        make_feed = feed_factory(str(head.get("venue")))
    except ValueError as e:
        raise CaptureError(f"{path}: {e}") from None
    captured = header_specs(path, head)
    table = list(specs) if specs is not None else captured
    ids = {(s.venue, s.symbol): k for k, s in enumerate(table)}
    refs = []
    for spec in captured:
        inst = ids.get((spec.venue, spec.symbol))
        if inst is None:
            raise CaptureError(
                f"{path}: captured instrument {spec.venue}:{spec.symbol} is not in the "
                "instrument list"
            )
        refs.append(InstrumentRef.of(inst, spec))
    qty, state = new_books(len(table), window)
    try:
        return make_feed(refs, qty, state), captured
    except ValueError as e:  # a header symbol the feed cannot hold (found by make fuzz)
        raise CaptureError(f"{path}: {e}") from None


def _collect(feed: MarketDataFeed, pending: dict[str, SnapshotRequest]) -> None:
    for request in feed.pending_snapshots():
        pending[request.path] = request
    feed.take_outgoing()  # replay has no connection to answer on


def write_capture(
    path: str | Path,
    *,
    venue: str,
    symbols: Sequence[str],
    instruments: Sequence[dict[str, Any]],
    lines: Iterable[tuple[str, str, str | bytes]],
    start_ns: int = 1_700_000_000_000_000_000,
    step_ns: int = 1_000_000,
    started_at: str = "1970-01-01T00:00:00Z",
) -> Path:
    """Write a capture by hand from ``(ch, src, msg)`` tuples; return the path.

    ``ch`` is ``"ws"`` or ``"rest"``; for a REST snapshot ``src`` must be the path and query the
    feed asks for (e.g. ``/fapi/v1/depth?symbol=BTCUSDT&limit=1000``). Messages get receive
    times ``start_ns + k * step_ns``.
    """
    p = Path(path)
    head = header(venue, symbols, instruments, started_at)
    with gzip.open(p, "wb") as f:
        f.write(orjson.dumps(head) + b"\n")
        for k, (ch, src, msg) in enumerate(lines):
            if ch not in ("ws", "rest"):
                raise CaptureError(f"line {k}: ch must be 'ws' or 'rest', got {ch!r}")
            f.write(encode_line(start_ns + k * step_ns, ch, src, msg))
    return p
