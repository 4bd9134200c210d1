"""Binance USD-M test material: fixtures, a naive sync oracle and the loopback protocol."""

from __future__ import annotations

import json
from decimal import Decimal

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support.shared import fixture_file
from tests.support.venue_server import VenueProtocol

SYMBOLS = ("AKROUSDT", "CTKUSDT")
DEPTH_PATH = "/fapi/v1/depth?symbol={symbol}&limit=1000"
PROTOCOL = VenueProtocol(ws_paths=("/public/stream", "/market/stream"))


def specs() -> list[InstrumentSpec]:
    """Specs of the captured symbols (tick 0.00001, lot 1, as their data shows)."""
    return [
        InstrumentSpec(venue="binance-usdm", symbol=s, tick_size="0.00001", lot_size="1")
        for s in SYMBOLS
    ]


def refs() -> list[InstrumentRef]:
    return [InstrumentRef.of(k, s) for k, s in enumerate(specs())]


def lines(kind: str, symbol: str) -> list[str]:
    """Raw frames of ``ws_<kind>_<symbol>.ndjson`` (combined-stream envelopes)."""
    return fixture_file("binance_usdm", f"ws_{kind}_{symbol}.ndjson").read_text().splitlines()


def snapshot(symbol: str) -> bytes:
    return fixture_file("binance_usdm", f"rest_depth_snapshot_{symbol}.json").read_bytes()


def expected() -> dict:
    return json.loads(fixture_file("binance_usdm", "book_sequences_expected.json").read_text())


class NaiveSync:
    """The venue's documented algorithm with dicts and Decimals (independent oracle)."""

    def __init__(self, snapshot_body: bytes) -> None:
        snap = json.loads(snapshot_body)
        self.last_update_id = snap["lastUpdateId"]
        self.bids = {Decimal(p): Decimal(q) for p, q in snap["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snap["asks"]}
        self.prev_u: int | None = None
        self.applied: list[int] = []
        self.dropped = 0

    def apply(self, frame: str) -> None:
        data = json.loads(frame)["data"]
        if self.prev_u is None:
            if data["u"] < self.last_update_id:
                self.dropped += 1
                return
            assert data["U"] <= self.last_update_id <= data["u"]
        else:
            assert data["pu"] == self.prev_u
        for side, key in ((self.bids, "b"), (self.asks, "a")):
            for p, q in data[key]:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        self.prev_u = data["u"]
        self.applied.append(data["u"])

    def snapshot_json(self) -> bytes:
        """The book as a REST snapshot body with ``lastUpdateId`` = last applied ``u``."""
        body = {
            "lastUpdateId": self.prev_u,
            "E": 0,
            "T": 0,
            "bids": [[str(p), str(q)] for p, q in sorted(self.bids.items(), reverse=True)],
            "asks": [[str(p), str(q)] for p, q in sorted(self.asks.items())],
        }
        return json.dumps(body).encode()


def snapshot_after(symbol: str, upto: int) -> bytes:
    """A snapshot body equal to the true book after the first ``upto`` diff frames."""
    oracle = NaiveSync(snapshot(symbol))
    for frame in lines("depth_diff", symbol)[:upto]:
        oracle.apply(frame)
    return oracle.snapshot_json()
