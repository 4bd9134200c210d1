"""Bybit v5 test material: fixtures, a naive book oracle and the loopback protocol."""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file
from tests.support.venue_server import VenueProtocol

SYMBOL = "XRPUSDT"
WS_PATH = "/v5/public/linear"
DEPTH = 500
"""The depth of the real capture (``orderbook.500``): feeds replaying it subscribe to that."""
BOOK_TOPIC = f"orderbook.{DEPTH}.{SYMBOL}"


def spec() -> InstrumentSpec:
    return InstrumentSpec(venue="bybit", symbol=SYMBOL, tick_size="0.0001", lot_size="1")


def refs() -> list[InstrumentRef]:
    return [InstrumentRef.of(0, spec())]


def book_frames() -> list[str]:
    """The real ob500 sequence: one snapshot then 49 deltas."""
    return (
        fixture_file("bybit", "ws_orderbook500_XRPUSDT_2024-12-01.ndjson").read_text().splitlines()
    )


def expected() -> dict:
    return json.loads(fixture_file("bybit", "book_sequence_expected.json").read_text())


def naive_book(frames: Sequence[str]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal], int]:
    """Apply snapshot/delta frames with dicts; return (bids, asks, last u)."""
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    last_u = 0
    for frame in frames:
        msg = json.loads(frame)
        data = msg["data"]
        if msg["type"] == "snapshot":
            bids.clear()
            asks.clear()
        for side, key in ((bids, "b"), (asks, "a")):
            for p, q in data[key]:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        last_u = data["u"]
    return bids, asks, last_u


def snapshot_frame(frames: Sequence[str], topic: str = BOOK_TOPIC) -> str:
    """A snapshot frame holding the true book after ``frames`` (what a resubscribe returns)."""
    bids, asks, last_u = naive_book(frames)
    data = {
        "s": SYMBOL,
        "b": [[str(p), str(q)] for p, q in sorted(bids.items(), reverse=True)],
        "a": [[str(p), str(q)] for p, q in sorted(asks.items())],
        "u": last_u,
        "seq": 1,
    }
    return json.dumps({"topic": topic, "type": "snapshot", "ts": 1, "data": data, "cts": 1})


def protocol(resubscribe_snapshot: str | None = None) -> VenueProtocol:
    """Bybit framing: pong for ``{"op":"ping"}``, acks for subscriptions; a book resubscribe
    (after the first subscription) is answered with ``resubscribe_snapshot`` if given."""
    state = {"subscribed": 0}

    def reply(text: str) -> Sequence[str]:
        msg = json.loads(text)
        op = msg.get("op")
        if op == "ping":
            return [
                json.dumps(
                    {"success": True, "ret_msg": "pong", "conn_id": "t", "req_id": "", "op": "ping"}
                )
            ]
        if op in ("subscribe", "unsubscribe"):
            ack = json.dumps(
                {"success": True, "ret_msg": "", "conn_id": "t", "req_id": "", "op": op}
            )
            frames = [ack]
            if op == "subscribe":
                state["subscribed"] += 1
                if state["subscribed"] > 1 and resubscribe_snapshot is not None:
                    frames.append(resubscribe_snapshot)
            return frames
        return []

    return VenueProtocol(
        ws_paths=(WS_PATH,), reply=reply, topic_of=topic_of, subscription=subscription
    )


def topic_of(frame: str) -> str | None:
    """The ``topic`` of a push (None for anything else)."""
    try:
        msg = json.loads(frame)
    except ValueError:
        return None
    topic = msg.get("topic") if isinstance(msg, dict) else None
    return topic if isinstance(topic, str) else None


def subscription(text: str) -> tuple[str, Sequence[str]] | None:
    """``(op, topics)`` of a client (un)subscribe request."""
    try:
        msg = json.loads(text)
    except ValueError:
        return None
    if msg.get("op") in ("subscribe", "unsubscribe"):
        return msg["op"], list(msg.get("args", []))
    return None
