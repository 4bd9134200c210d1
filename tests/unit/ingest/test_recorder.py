"""Captures: writing, rotation, cancellation, reading back, replay and hand-built captures."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.adapters.binance_usdm import BinanceUsdmFeed
from bot.core.book import ST_BEST_BID, ST_VALID, new_books
from bot.ingest.capture import (
    CaptureError,
    ReplayStats,
    capture_files,
    header,
    read_capture,
    read_header,
    replay_capture,
    write_capture,
)
from bot.ingest.recorder import CaptureRecorder, CaptureWriter
from tests.support import binance as bn
from tests.support.asyncutil import eventually

HEAD = header(
    "binance-usdm",
    ["AKROUSDT"],
    [{"venue": "binance-usdm", "symbol": "AKROUSDT"}],
    "2026-01-01T00:00:00Z",
)


def test_lines_round_trip_exactly(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, HEAD)
    rec = CaptureRecorder(writer)
    frames = bn.lines("depth_diff", "AKROUSDT")[:20]
    for k, f in enumerate(frames):
        rec.ws("/public/stream", f, 1000 + k)
    rec.rest("/fapi/v1/depth?symbol=AKROUSDT&limit=1000", bn.snapshot("AKROUSDT"), 5000)
    rec.ws("/public/stream", b"\xff\xfe not utf-8", 6000)
    writer.write(rec._pending)
    writer.close()
    (path,) = writer.files
    with gzip.open(path, "rt") as f:
        first = json.loads(f.readline())
    assert first == HEAD
    assert read_header(path) == HEAD
    lines = list(read_capture(path))
    assert [ln.msg for ln in lines[:20]] == frames
    assert [ln.ts for ln in lines[:20]] == list(range(1000, 1020))
    assert lines[20].ch == "rest"
    assert lines[20].src == "/fapi/v1/depth?symbol=AKROUSDT&limit=1000"
    assert lines[20].msg == bn.snapshot("AKROUSDT").decode()
    assert lines[21].msg == b"\xff\xfe not utf-8"


def test_rotation_by_size_gives_self_contained_files(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, HEAD, rotate_bytes=4000)
    frames = bn.lines("depth_diff", "AKROUSDT")
    rec = CaptureRecorder(writer)
    for k, f in enumerate(frames):
        rec.ws("/public/stream", f, k)
    writer.write(rec._pending)
    writer.close()
    assert len(writer.files) > 3
    for path in writer.files:
        assert read_header(path) == HEAD
    assert capture_files(tmp_path) == sorted(writer.files)
    assert [ln.msg for ln in read_capture(tmp_path)] == frames


def test_rotation_by_time(tmp_path: Path) -> None:
    writer = CaptureWriter(tmp_path, HEAD, rotate_s=0.0)
    writer.write([b'{"ts":1,"ch":"ws","src":"/x","msg":"a"}\n'] * 3)
    writer.close()
    assert len(writer.files) == 3


async def test_cancelled_recorder_writes_everything(tmp_path: Path) -> None:
    """What SIGTERM does in ``tickbot record``: cancel, and nothing received is lost."""
    writer = CaptureWriter(tmp_path, HEAD)
    rec = CaptureRecorder(writer, flush_period_s=0.05)
    task = asyncio.create_task(rec.run())
    frames = bn.lines("depth_diff", "AKROUSDT")
    for k, f in enumerate(frames[:100]):
        rec.ws("/public/stream", f, k)
    await eventually(lambda: writer.lines == 100, 10.0, "the periodic flush wrote the first 100")
    for k, f in enumerate(frames[100:]):
        rec.ws("/public/stream", f, 100 + k)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [ln.msg for ln in read_capture(tmp_path)] == frames


class _SlowWriter(CaptureWriter):
    """A disk that takes a while on its first batch (a busy or network-backed volume)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.started = threading.Event()
        self.slow = True

    def write(self, lines: Sequence[bytes]) -> None:
        if self.slow and lines:
            self.slow = False
            self.started.set()
            time.sleep(0.3)
        super().write(lines)


async def test_cancel_during_a_slow_disk_write_keeps_every_frame_in_order(tmp_path: Path) -> None:
    """SIGTERM while a batch is still being written: that batch lands first, then the rest."""
    writer = _SlowWriter(tmp_path, HEAD)
    rec = CaptureRecorder(writer, flush_period_s=0.01)
    task = asyncio.create_task(rec.run())
    frames = bn.lines("depth_diff", "AKROUSDT")
    for k, f in enumerate(frames[:50]):
        rec.ws("/public/stream", f, k)
    await asyncio.to_thread(writer.started.wait)  # the first batch is now on the disk thread
    for k, f in enumerate(frames[50:]):
        rec.ws("/public/stream", f, 50 + k)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [ln.msg for ln in read_capture(tmp_path)] == frames


def test_truncated_and_bad_lines_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "cap.ndjson.gz"
    with gzip.open(path, "wb") as f:
        f.write(json.dumps(HEAD).encode() + b"\n")
        f.write(b'{"ts":1,"ch":"ws","src":"/x","msg":"a"}\n')
        f.write(b'{"ts":"x","ch":"ws","src":"/x","msg":"a"}\n')
        f.write(b'{"ts":2,"ch":"ws","src":"/x","msg":"b')
    stats = ReplayStats()
    assert [ln.msg for ln in read_capture(path, stats)] == ["a"]
    assert stats.bad_lines == 2


@pytest.mark.parametrize(
    "content",
    [b"", b"not json\n", b'{"format":"other"}\n', b'{"format":"tickbot-capture","version":9}\n'],
)
def test_not_a_capture(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.ndjson.gz"
    with gzip.open(path, "wb") as f:
        f.write(content)
    with pytest.raises(CaptureError):
        read_header(path)
    with pytest.raises(CaptureError):
        read_capture(tmp_path / "missing.ndjson.gz").__next__()


def replay_feed() -> tuple[BinanceUsdmFeed, np.ndarray]:
    qty, state = new_books(1, 1 << 12)
    return BinanceUsdmFeed(bn.refs()[:1], qty, state), state


def test_hand_built_capture_replays_to_the_expected_book(tmp_path: Path) -> None:
    frames = bn.lines("depth_diff", "AKROUSDT")
    lines = [("ws", "/public/stream", f) for f in frames[:10]]
    lines.append(("rest", bn.DEPTH_PATH.format(symbol="AKROUSDT"), bn.snapshot("AKROUSDT")))
    lines += [("ws", "/public/stream", f) for f in frames[10:]]
    path = write_capture(
        tmp_path / "hand.ndjson.gz",
        venue="binance-usdm",
        symbols=["AKROUSDT"],
        instruments=[],
        lines=lines,
    )
    feed, state = replay_feed()
    stats = ReplayStats()
    rows = replay_capture(path, feed, stats=stats)
    exp = bn.expected()["AKROUSDT"]
    assert state[0, ST_VALID] == 1
    assert state[0, ST_BEST_BID] == 1734
    assert stats.ws_lines == len(frames)
    assert stats.rest_lines == 1
    assert stats.unmatched_rest == 0
    # Replay gives exactly the rows live processing gives for the same inputs.
    live_feed, _ = replay_feed()
    from bot.adapters.base import EventBuffer

    out = EventBuffer()
    live_feed.on_connect(1_700_000_000_000_000_000, out, url=live_feed.ws_urls()[0])
    request = live_feed.pending_snapshots()[0]
    for k, (ch, _src, msg) in enumerate(lines):
        ts = 1_700_000_000_000_000_000 + k * 1_000_000
        if ch == "ws":
            live_feed.on_message(msg, ts, out)
        else:
            live_feed.on_snapshot(request, msg, ts, out)
    assert np.array_equal(rows, out.view())
    assert exp["final_best_bid"][1] == "502"


def test_unrequested_rest_lines_are_skipped(tmp_path: Path) -> None:
    path = write_capture(
        tmp_path / "c.ndjson.gz",
        venue="binance-usdm",
        symbols=["AKROUSDT"],
        instruments=[],
        lines=[("rest", "/fapi/v1/depth?symbol=XYZ", b"{}")],
    )
    feed, _ = replay_feed()
    stats = ReplayStats()
    replay_capture(path, feed, stats=stats)
    assert stats.unmatched_rest == 1


def test_write_capture_rejects_unknown_channels(tmp_path: Path) -> None:
    with pytest.raises(CaptureError):
        write_capture(
            tmp_path / "c.ndjson.gz",
            venue="binance-usdm",
            symbols=[],
            instruments=[],
            lines=[("udp", "/", "x")],
        )


async def test_cancel_before_the_disk_thread_took_the_batch_keeps_it(tmp_path: Path) -> None:
    """SIGTERM while a batch is still queued for the disk thread (the thread is busy): the
    cancelled await must not cancel that batch; it is written, in order, before the rest."""
    writer = CaptureWriter(tmp_path, HEAD)
    rec = CaptureRecorder(writer, flush_period_s=0.01)
    busy = threading.Event()
    release = threading.Event()

    def occupy() -> None:
        busy.set()
        release.wait(10.0)

    rec._disk.submit(occupy)  # the one disk thread is busy: the next batch waits in its queue
    await asyncio.to_thread(busy.wait)
    task = asyncio.create_task(rec.run())
    frames = bn.lines("depth_diff", "AKROUSDT")
    for k, f in enumerate(frames[:50]):
        rec.ws("/public/stream", f, k)
    await eventually(lambda: rec._inflight is not None, 10.0, "the first batch was submitted")
    assert rec._inflight is not None
    assert not rec._inflight.running()
    for k, f in enumerate(frames[50:]):
        rec.ws("/public/stream", f, 50 + k)
    task.cancel()
    threading.Timer(0.2, release.set).start()  # the shutdown waits for the thread to be free
    with pytest.raises(asyncio.CancelledError):
        await task
    assert [ln.msg for ln in read_capture(tmp_path)] == frames
