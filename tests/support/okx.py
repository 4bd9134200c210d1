"""OKX v5 (and, by the same envelope, Bitget v2) test material: fixtures, snapshots of the true
book at any point of the capture, and the loopback protocol (text ``ping`` -> ``pong``, acks)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file
from tests.support.venue_server import ConnectionLog, VenueProtocol, send
from tests.support.wsbook import LevelBook, Plugin

SYMBOL = "BTC-USDT"
WS_PATH = "/ws/v5/public"
CAPTURE = "ws_books_BTC-USDT.ndjson"


def spec() -> InstrumentSpec:
    return InstrumentSpec(venue="okx", symbol=SYMBOL, tick_size="0.1", lot_size="0.00000001")


def refs() -> list[InstrumentRef]:
    return [InstrumentRef.of(0, spec())]


def lines(name: str) -> list[str]:
    return [ln for ln in fixture_file("okx", name).read_text().splitlines() if ln.strip()]


def book_frames(seq: bool = False) -> list[str]:
    """The real 2022 capture (1 snapshot + 97 updates), optionally numbered with the
    ``seqId``/``prevSeqId`` OKX sends today (steps of 7: OKX does not promise +1)."""
    frames = lines(CAPTURE)
    if not seq:
        return frames
    out, last = [], 1000
    for frame in frames:
        msg = json.loads(frame)
        data = msg["data"][0]
        if msg["action"] == "snapshot":
            data["prevSeqId"], data["seqId"] = -1, last
        else:
            data["prevSeqId"], data["seqId"] = last, last + 7
            last += 7
        out.append(json.dumps(msg, separators=(",", ":")))
    return out


def expected() -> dict:
    return json.loads(fixture_file("okx", "book_sequences_expected.json").read_text())["results"][
        CAPTURE
    ]


def snapshot_after(frames: Sequence[str], n: int) -> str:
    """A ``snapshot`` push of the true book after ``frames[:n]`` (checksum and seqId of that
    point), as OKX/Bitget answer a (re)subscription."""
    book = LevelBook()
    last = json.loads(frames[0])
    for frame in frames[:n]:
        last = json.loads(frame)
        data = last["data"][0]
        book.apply(data.get("bids", []), data.get("asks", []), last["action"] == "snapshot")
    data = dict(last["data"][0])
    data["bids"], data["asks"] = book.levels()
    data["checksum"] = book.checksum()
    if "seqId" in data:
        data["prevSeqId"] = -1
    if "seq" in data:
        data.pop("pseq", None)
    return json.dumps({"arg": last["arg"], "action": "snapshot", "data": [data]})


def corrupt_size(frame: str) -> str:
    """Add 1 to the first level's size in an update: still a valid number on the lot grid, but
    the book it builds no longer matches the venue's checksum."""
    msg = json.loads(frame)
    data = msg["data"][0]
    side = data["asks"] if data["asks"] else data["bids"]
    side[0][1] = str(Decimal(side[0][1]) + 1)
    return json.dumps(msg, separators=(",", ":"))


def book_subscriptions(log: ConnectionLog, channel: str = "books") -> int:
    """How many subscribe requests for a book channel the client sent on the connection."""
    count = 0
    for text in log.received:
        if text == "ping":
            continue
        msg = json.loads(text)
        if msg.get("op") == "subscribe":
            count += sum(1 for a in msg["args"] if a.get("channel") == channel)
    return count


def plugin(frames: Sequence[str]) -> Plugin:
    return Plugin(
        frame=send,
        snapshot_after=lambda n: snapshot_after(frames, n),
        book_subscriptions=book_subscriptions,
        corrupt=corrupt_size,
    )


def reply(text: str) -> Sequence[str]:
    """OKX/Bitget framing: ``pong`` for the text ``ping``; an ack per (un)subscribed arg."""
    if text == "ping":
        return ["pong"]
    msg = json.loads(text)
    op = msg.get("op")
    if op in ("subscribe", "unsubscribe"):
        return [json.dumps({"event": op, "arg": arg}) for arg in msg["args"]]
    return [json.dumps({"event": "error", "code": "60012", "msg": f"Invalid request: {text}"})]


PROTOCOL = VenueProtocol(ws_paths=(WS_PATH,), reply=reply)
