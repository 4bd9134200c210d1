"""`tickbot record` end to end: a subprocess records a loopback venue, stopped by SIGTERM."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from bot.cli import main
from bot.core.book import ST_BEST_BID, ST_VALID, new_books
from bot.core.instruments import parse_specs
from bot.ingest.capture import ReplayStats, read_capture, read_header, replay_capture
from bot.ingest.venues import build_feed
from tests.support import binance as bn
from tests.support.asyncutil import eventually
from tests.support.ingest import captured_so_far
from tests.support.shared import fixture_file
from tests.support.venue_server import LoopbackVenue, RestRoute, hold, send

ROOT = Path(__file__).resolve().parents[2]


def exchange_info() -> bytes:
    """The docs exchangeInfo example, re-pointed at the captured symbol's grid."""
    info = json.loads(fixture_file("binance_usdm", "docs_exchangeInfo_response.json").read_text())
    symbol = info["symbols"][0]
    symbol["symbol"] = "AKROUSDT"
    symbol["filters"][0]["tickSize"] = "0.00001"
    return json.dumps(info).encode()


async def test_record_until_sigterm_then_replay(tmp_path: Path) -> None:
    frames = bn.lines("depth_diff", "AKROUSDT")
    trades = bn.lines("aggTrade", "AKROUSDT")
    async with LoopbackVenue(bn.PROTOCOL, []) as server:
        server.script_for("/public/stream", [[send(f) for f in frames] + [hold()]])
        server.script_for("/market/stream", [[send(f) for f in trades] + [hold()]])
        server.rest["/fapi/v1/exchangeInfo"] = RestRoute(bodies=[exchange_info()])
        server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")] = RestRoute(
            bodies=[bn.snapshot("AKROUSDT")]
        )
        out = tmp_path / "capture"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "record",
            "--venue",
            "binance-usdm",
            "--symbols",
            "akrousdt",
            "--out",
            str(out),
            "--ws-url",
            server.ws_base,
            "--rest-url",
            server.http_base,
            cwd=ROOT,
            env=env,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            await eventually(
                lambda: (
                    server.rest[bn.DEPTH_PATH.format(symbol="AKROUSDT")].served == 1
                    and len(server.connections) == 2
                ),
                60.0,
                "recorder connected and fetched the snapshot",
            )
            # SIGTERM once everything sent is on disk: shutdown must then keep all of it
            await eventually(
                lambda: len(captured_so_far(out)) >= len(frames) + len(trades),
                60.0,
                "every frame recorded",
            )
            proc.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(proc.communicate(), 30.0)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, stderr.decode()
    head = read_header(out)
    assert head["venue"] == "binance-usdm"
    assert head["symbols"] == ["AKROUSDT"]
    assert head["instruments"][0]["tick_size"] == "0.00001"
    lines = list(read_capture(out))
    ws = [ln.msg for ln in lines if ln.ch == "ws"]
    assert [m for m in ws if "depthUpdate" in m] == frames
    assert [m for m in ws if "aggTrade" in m] == trades
    rest = [ln for ln in lines if ln.ch == "rest"]
    assert [ln.src for ln in rest] == [bn.DEPTH_PATH.format(symbol="AKROUSDT")]
    assert rest[0].msg == bn.snapshot("AKROUSDT").decode()
    # tickbot convert's path: the capture replays to the expected book.
    specs = parse_specs(head["instruments"])
    qty, state = new_books(1, 1 << 12)
    feed = build_feed("binance-usdm", specs, qty, state)
    stats = ReplayStats()
    replay_capture(out, feed, stats=stats)
    assert stats.unmatched_rest == 0
    assert state[0, ST_VALID] == 1
    assert state[0, ST_BEST_BID] == 1734


def test_user_errors_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["record", "--venue", "nope", "--symbols", "X", "--out", str(tmp_path)]) == 2
    assert "unknown venue" in capsys.readouterr().err
    args = ["record", "--venue", "bybit", "--symbols", "X", "--out", str(tmp_path)]
    assert main([*args, "--duration", "soon"]) == 2
    assert "not a duration" in capsys.readouterr().err
