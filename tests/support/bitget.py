"""Bitget v2 test material: the real books capture (v1 ``mix`` frames carry the same payload and
checksum as v2; re-labelled ``USDT-FUTURES`` here as v2 sends them) and the loopback protocol,
which is OKX's envelope (see ``tests.support.okx``)."""

from __future__ import annotations

import json

from bot.adapters.base import InstrumentRef
from bot.core.instruments import InstrumentSpec
from tests.support import okx
from tests.support.shared import fixture_file
from tests.support.venue_server import VenueProtocol

SYMBOL = "UNIUSDT"
WS_PATH = "/v2/ws/public"
CAPTURE = "legacy_v1mix_ws_books_UNIUSDT.ndjson"
snapshot_after = okx.snapshot_after
plugin = okx.plugin


def spec() -> InstrumentSpec:
    return InstrumentSpec(venue="bitget", symbol=SYMBOL, tick_size="0.001", lot_size="1")


def refs() -> list[InstrumentRef]:
    return [InstrumentRef.of(0, spec())]


def book_frames(seq: bool = False) -> list[str]:
    """The real capture as v2 frames; with ``seq``, numbered ``seq``/``pseq`` (steps of 3)."""
    out = []
    for k, line in enumerate(fixture_file("bitget", CAPTURE).read_text().splitlines()):
        msg = json.loads(line)
        msg["arg"]["instType"] = "USDT-FUTURES"
        if seq:
            msg["data"][0]["seq"] = 500 + 3 * k
            if k:
                msg["data"][0]["pseq"] = 500 + 3 * (k - 1)
        out.append(json.dumps(msg, separators=(",", ":")))
    return out


def expected() -> dict:
    return json.loads(fixture_file("bitget", "book_sequences_expected.json").read_text())[
        "results"
    ][CAPTURE]


PROTOCOL = VenueProtocol(ws_paths=(WS_PATH,), reply=okx.reply)
