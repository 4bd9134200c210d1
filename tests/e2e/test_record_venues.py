"""`tickbot record` for the venues whose books come over the WebSocket (OKX, Bitget, BingX,
BitMEX), as for Binance and Bybit: specs from the venue's REST endpoint, every frame captured
exactly as received (BingX: after gunzip), SIGTERM ends it cleanly, and the capture replays
through the registry's feed to the true book."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.commands.record import _record
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID, new_books
from bot.core.instruments import parse_specs
from bot.ingest.capture import ReplayStats, read_capture, read_header, replay_capture
from bot.ingest.venues import build_feed, venue
from tests.support import bingx, bitget, bitmex, okx
from tests.support.asyncutil import eventually
from tests.support.ingest import captured_so_far
from tests.support.shared import fixture_file
from tests.support.venue_server import Action, LoopbackVenue, RestRoute, VenueProtocol, hold
from tests.support.wsbook import Plugin, faulted_script, ticks

N = 40


def _okx_specs() -> bytes:
    """OKX's instruments response, re-pointed at the captured instrument's grid."""
    body = json.loads(fixture_file("okx", "rest_instruments_swap.json").read_text())
    body["data"][0].update(instId="BTC-USDT", tickSz="0.1", lotSz="0.00000001", ctVal="1")
    return json.dumps(body).encode()


def _bitget_specs() -> bytes:
    body = json.loads(fixture_file("bitget", "rest_contracts.json").read_text())
    body["data"][0].update(
        symbol="UNIUSDT", pricePlace="3", priceEndStep="1", sizeMultiplier="1", minTradeNum="1"
    )
    return json.dumps(body).encode()


def _bitmex_specs() -> bytes:
    body = json.loads(fixture_file("bitmex", "rest_instrument_xbtusd.json").read_text())
    body["tickSize"] = 0.5  # the 2021 contract the capture is from
    return json.dumps([body]).encode()


@dataclass(frozen=True)
class Case:
    symbol: str
    protocol: VenueProtocol
    ws_path: str
    frames: list[str]
    plugin: Plugin
    specs_body: Callable[[], bytes]
    tick: str
    first: list[Action]


def _case(name: str) -> Case:
    if name == "okx":
        frames = okx.book_frames()[:N]
        return Case("BTC-USDT", okx.PROTOCOL, okx.WS_PATH, frames, okx.plugin(frames),
                    _okx_specs, "0.1", [])  # fmt: skip
    if name == "bitget":
        frames = bitget.book_frames()[:N]
        return Case("UNIUSDT", bitget.PROTOCOL, bitget.WS_PATH, frames, bitget.plugin(frames),
                    _bitget_specs, "0.001", [])  # fmt: skip
    if name == "bingx":
        frames = bingx.incr_frames(N - 2)
        return Case("BTC-USDT", bingx.PROTOCOL, bingx.WS_PATH, frames, bingx.plugin(frames),
                    lambda: fixture_file("bingx", "rest_contracts.json").read_bytes(), "0.1",
                    [bingx.server_ping()])  # fmt: skip
    frames = bitmex.book_frames()[:N]
    return Case("XBTUSD", bitmex.PROTOCOL, bitmex.WS_PATH, frames, bitmex.plugin(frames),
                _bitmex_specs, "0.5", [])  # fmt: skip


@pytest.mark.parametrize("name", ["okx", "bitget", "bingx", "bitmex"])
async def test_record_until_sigterm_then_replay(name: str, tmp_path: Path) -> None:
    case = _case(name)
    entry = venue(name)
    script = [*case.first, *faulted_script(case.frames, [], case.plugin), hold()]
    out = tmp_path / "capture"
    async with LoopbackVenue(case.protocol, [script]) as server:
        (path,) = entry.specs_paths([case.symbol])
        server.rest[path] = RestRoute(bodies=[case.specs_body()])
        args = argparse.Namespace(venue=name, out=str(out), rest_url=server.http_base,
                                  rotate_mb=64.0, rotate_minutes=60.0)  # fmt: skip
        overrides = {"ws_url": server.ws_base + case.ws_path, "rest_url": server.http_base}
        recording = asyncio.create_task(_record(args, [case.symbol.upper()], None, overrides))
        await eventually(lambda: bool(server.connections) or recording.done(), 30.0, "connect")
        if recording.done():
            recording.result()  # raises what stopped it
        conn = server.connections[0]
        await eventually(lambda: case.plugin.book_subscriptions(conn) >= 1, 30.0, "subscribed")
        sent = set(case.frames)
        await eventually(
            lambda: sum(m in sent for m in captured_so_far(out)) >= len(case.frames),
            30.0,
            "every book frame recorded",
        )  # then SIGTERM: shutdown must keep all of it
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(recording, 30.0) == 0
    head = read_header(out)
    assert (head["venue"], head["symbols"]) == (name, [case.symbol])
    assert head["instruments"][0]["tick_size"] == case.tick
    ws = [ln.msg for ln in read_capture(out) if ln.ch == "ws"]
    sent = set(case.frames)
    book_msgs = [m for m in ws if m in sent]  # the rest: acks, pongs, BingX's Pings
    assert book_msgs == case.frames  # exactly as sent (BingX: the gunzipped text)
    if name == "bingx":
        assert "Ping" in ws
    qty, state = new_books(1, 1 << 22 if name == "bitmex" else 1 << 15)
    feed = build_feed(name, parse_specs(head["instruments"]), qty, state)
    stats = ReplayStats()
    replay_capture(out, feed, stats=stats)
    assert stats.bad_lines == 0
    assert feed.stats.malformed == 0
    assert state[0, ST_VALID] == 1
    assert feed.invalid_instruments() == []
    true_book = json.loads(case.plugin.snapshot_after(len(case.frames)))
    assert_top(name, state, true_book, parse_specs(head["instruments"])[0])


def assert_top(name: str, state, snapshot: dict, spec) -> None:
    """The book's best bid and ask are those of the venue snapshot ``snapshot``."""
    if name == "bitmex":
        rows = snapshot["data"]
        bid = max(r["price"] for r in rows if r["side"] == "Buy")
        ask = min(r["price"] for r in rows if r["side"] == "Sell")
    else:
        data = snapshot["data"][0] if isinstance(snapshot["data"], list) else snapshot["data"]
        bid, ask = data["bids"][0][0], data["asks"][0][0]
    assert (state[0, ST_BEST_BID], state[0, ST_BEST_ASK]) == (ticks(spec, bid), ticks(spec, ask))
