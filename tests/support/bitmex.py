"""BitMEX test material: the real 2021 XBTUSD orderBookL2 capture, a naive (side, id) book to
build the ``partial`` BitMEX answers a resubscription with, and the loopback protocol (text
``ping`` -> ``pong``, one ack per subscribed topic, the welcome message on connect)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file
from tests.support.venue_server import ConnectionLog, VenueProtocol, send
from tests.support.wsbook import Plugin

SYMBOL = "XBTUSD"
WS_PATH = "/realtime"
CAPTURE = "ws_orderBookL2_XBTUSD.ndjson"
WINDOW = 1 << 22
"""The capture's partial spans 0.5 .. 1,000,000 USD: 2M ticks of 0.5."""
LINKED_INSERT = 345
"""An insert whose id the very next frame updates: dropping or reordering it is detectable."""


def spec() -> InstrumentSpec:
    """The 2021 contract: tick 0.5, lot 100."""
    return InstrumentSpec(venue="bitmex", symbol=SYMBOL, tick_size="0.5", lot_size="100",
                          inverse=True)  # fmt: skip


def refs() -> list[InstrumentRef]:
    return [InstrumentRef.of(0, spec())]


def book_frames() -> list[str]:
    return fixture_file("bitmex", CAPTURE).read_text().splitlines()


def welcome() -> str:
    return (
        fixture_file("bitmex", "ws_welcome_and_subscribe_acks.ndjson").read_text().splitlines()[0]
    )


def expected() -> dict:
    return json.loads(fixture_file("bitmex", "book_sequences_expected.json").read_text())[
        "per_symbol"
    ][SYMBOL]


def snapshot_after(frames: Sequence[str], n: int) -> str:
    """A ``partial`` holding the true XBTUSD book after ``frames[:n]``."""
    rows: dict[tuple[str, int], dict[str, Any]] = {}
    for frame in frames[:n]:
        msg = json.loads(frame)
        if msg["action"] == "partial":
            rows.clear()
        for row in msg["data"]:
            if row["symbol"] != SYMBOL:
                continue
            key = (row["side"], row["id"])
            if msg["action"] in ("partial", "insert"):
                rows[key] = dict(row)
            elif msg["action"] == "update":
                rows[key]["size"] = row["size"]
            else:
                del rows[key]
    return json.dumps({"table": "orderBookL2", "action": "partial",
                       "keys": ["symbol", "id", "side"], "filter": {"symbol": SYMBOL},
                       "data": sorted(rows.values(), key=lambda r: r["id"])})  # fmt: skip


def book_subscriptions(log: ConnectionLog) -> int:
    """How many ``orderBookL2`` topics the client subscribed on the connection."""
    count = 0
    for text in log.received:
        if text != "ping":
            msg = json.loads(text)
            if msg.get("op") == "subscribe":
                count += sum(1 for a in msg["args"] if a.startswith("orderBookL2:"))
    return count


def plugin(frames: Sequence[str]) -> Plugin:
    return Plugin(
        frame=send,
        snapshot_after=lambda n: snapshot_after(frames, n),
        book_subscriptions=book_subscriptions,
        corrupt=lambda frame: frame[: len(frame) // 2],  # cut in transit
        garbage='{"table":"orderBookL2","action":"update","data":[{"symbol":"XBTUSD"',
    )


def reply(text: str) -> Sequence[str]:
    """``pong`` for the text ``ping``; ``{"success": true, "<op>": topic}`` per topic."""
    if text == "ping":
        return ["pong"]
    msg = json.loads(text)
    op = msg.get("op")
    if op in ("subscribe", "unsubscribe"):
        return [json.dumps({"success": True, op: arg, "request": msg}) for arg in msg["args"]]
    return [json.dumps({"status": 400, "error": f"Unknown or unsupported command {op}"})]


PROTOCOL = VenueProtocol(ws_paths=(WS_PATH,), reply=reply)
