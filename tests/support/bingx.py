"""BingX swap test material: the real push frames, an ``@incrDepth`` sequence (the documented
update, a full depth it applies to, and numbered updates after it: no real incrDepth capture
exists, see docs/venues.md), and the loopback protocol: every server frame is gzip-compressed
binary, the server pings with ``Ping`` and the client must answer ``Pong``."""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from decimal import Decimal

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file
from tests.support.venue_server import Action, ConnectionLog, VenueProtocol, send_gzip
from tests.support.wsbook import LevelBook, Plugin

WS_PATH = "/swap-market"
ETH = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
BTC = InstrumentSpec(venue="bingx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.0001")
INCR = "BTC-USDT@incrDepth"


def refs(spec: InstrumentSpec) -> list[InstrumentRef]:
    return [InstrumentRef.of(0, spec)]


def fixture(name: str) -> str:
    """A fixture frame as compact JSON text (what BingX gzips)."""
    return json.dumps(json.loads(fixture_file("bingx", name).read_text()), separators=(",", ":"))


def _push(action: str, update_id: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    data = {"action": action, "lastUpdateId": update_id, "time": 1760002514979 + update_id % 1000,
            "bids": bids, "asks": asks}  # fmt: skip
    return json.dumps({"code": 0, "dataType": INCR, "data": data}, separators=(",", ":"))


def incr_frames(updates: int = 40) -> list[str]:
    """``all`` + the documented update + ``updates`` numbered updates (ids +1 each)."""
    doc = json.loads(
        fixture_file("bingx", "docs_current_ws_incrDepth_update_example.json").read_text()
    )
    upd = doc["data"]
    first = upd["lastUpdateId"] - 1
    bids = [[p, "1.0000"] for p, _ in upd["bids"]] + [["121600.0", "2.0000"]]
    asks = [[p, "1.0000"] for p, _ in upd["asks"]] + [["121800.0", "2.0000"]]
    frames = [
        _push("all", first, bids, asks),
        fixture("docs_current_ws_incrDepth_update_example.json"),
    ]
    best_bid, best_ask = Decimal("121706.6"), Decimal("121706.8")
    for k in range(1, updates + 1):
        size = f"{k % 7}.{k:04d}"[:6] if k % 7 else "0.0000"  # every 7th update deletes
        bid = str(best_bid - Decimal("0.1") * (k % 5 + 1))
        ask = str(best_ask + Decimal("0.1") * (k % 5 + 1))
        frames.append(_push("update", upd["lastUpdateId"] + k, [[bid, size]], [[ask, "0.5000"]]))
    return frames


def snapshot_after(frames: Sequence[str], n: int) -> str:
    """A ``{"action": "all"}`` push of the true book after ``frames[:n]``."""
    book = LevelBook()
    last_id = 0
    for frame in frames[:n]:
        data = json.loads(frame)["data"]
        book.apply(data["bids"], data["asks"], data["action"] == "all")
        last_id = data["lastUpdateId"]
    bids, asks = book.levels()
    return _push("all", last_id, bids, asks)


def true_book(frames: Sequence[str]) -> LevelBook:
    book = LevelBook()
    for frame in frames:
        data = json.loads(frame)["data"]
        book.apply(data["bids"], data["asks"], data["action"] == "all")
    return book


def requests(log: ConnectionLog) -> list[dict]:
    """The JSON requests the client sent (``Pong`` answers left out)."""
    return [json.loads(m) for m in log.received if m != "Pong"]


def book_subscriptions(log: ConnectionLog) -> int:
    return sum(1 for r in requests(log) if r["reqType"] == "sub" and r["dataType"] == INCR)


def plugin(frames: Sequence[str]) -> Plugin:
    return Plugin(
        frame=send_gzip,
        snapshot_after=lambda n: snapshot_after(frames, n),
        book_subscriptions=book_subscriptions,
        garbage="",
    )


def server_ping() -> Action:
    """BingX's heartbeat: the text ``Ping``, gzip-compressed like every server frame."""
    return send_gzip("Ping")


def not_gzip() -> Action:
    """A binary frame that is not gzip (a broken frame on the wire)."""
    return Action("send_bytes", b"\x00\x01 not gzip")


def reply(text: str) -> Sequence[bytes]:
    """Gzip-compressed ``{"id", "code": 0}`` for every request; nothing for ``Pong``."""
    if text == "Pong":
        return []
    msg = json.loads(text)
    ack = {"id": msg["id"], "code": 0, "msg": "", "dataType": "", "data": None}
    return [gzip.compress(json.dumps(ack).encode())]


PROTOCOL = VenueProtocol(ws_paths=(WS_PATH,), reply=reply)
