"""Shared test material for venues whose book snapshot comes over the WebSocket (OKX, Bitget,
BingX, BitMEX): a naive book oracle that keeps the venue's original strings (for checksums), and a
builder of loopback scripts that replay a capture with faults injected.

A fault makes the feed resubscribe; the script then waits (``until``) for that resubscription and
answers it with a snapshot of the true book at that point of the stream, as the venue would, and
goes on with the rest of the capture. The venue plug-in supplies how to build that snapshot and
how to recognise a book subscription.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from bot.core.book import ST_ASK_LEVELS, ST_BEST_ASK, ST_BEST_BID, ST_BID_LEVELS, ST_VALID, depth
from bot.core.dtypes import EventKind
from bot.core.instruments import InstrumentSpec
from bot.metrics import registry
from tests.support.venue_server import Action, ConnectionLog, garbage, until


class LevelBook:
    """A book of ``[price, size, ...]`` levels kept as the venue's original strings."""

    def __init__(self) -> None:
        self.sides: tuple[dict[Decimal, list[str]], dict[Decimal, list[str]]] = ({}, {})

    def apply(self, bids: Sequence[list[str]], asks: Sequence[list[str]], snapshot: bool) -> None:
        """Apply levels (size 0 deletes); a snapshot replaces the book."""
        for side, levels in zip(self.sides, (bids, asks), strict=True):
            if snapshot:
                side.clear()
            for level in levels:
                if Decimal(level[1]) == 0:
                    side.pop(Decimal(level[0]), None)
                else:
                    side[Decimal(level[0])] = list(level)

    def levels(self) -> tuple[list[list[str]], list[list[str]]]:
        """Return (bids best first, asks best first)."""
        bids, asks = self.sides
        return (
            [bids[p] for p in sorted(bids, reverse=True)],
            [asks[p] for p in sorted(asks)],
        )

    def checksum(self) -> int:
        """OKX/Bitget CRC32 of the top 25 levels, interleaved, as a signed int32 (zlib)."""
        bids, asks = self.levels()
        parts = [f"{lv[0]}:{lv[1]}" for i in range(25) for lv in _pair(bids, asks, i)]
        crc = zlib.crc32(":".join(parts).encode())
        return crc - (1 << 32) if crc >= 1 << 31 else crc


def _pair(bids: list[list[str]], asks: list[list[str]], i: int) -> list[list[str]]:
    return [side[i] for side in (bids, asks) if i < len(side)]


@dataclass(frozen=True)
class Fault:
    """One injected fault: ``drop``, ``duplicate``, ``swap`` (with the next message),
    ``corrupt`` (the venue plug-in's corruption), or ``garbage`` (before message ``at``)."""

    kind: str
    at: int


@dataclass(frozen=True)
class Plugin:
    """What the script builder needs from a venue."""

    frame: Callable[[str], Action]
    """How the venue sends one text frame (``send``, or gzip for BingX)."""
    snapshot_after: Callable[[int], str]
    """A snapshot frame of the true book after the first ``n`` messages."""
    book_subscriptions: Callable[[ConnectionLog], int]
    """How many book subscriptions the client sent on the connection."""
    corrupt: Callable[[str], str] = lambda frame: frame
    garbage: str = '{"arg":{"channel":"books"'


def faulted_script(
    frames: Sequence[str], faults: Sequence[Fault], plugin: Plugin, *, resyncs_before: int = 0
) -> list[Action]:
    """Return a script that replays ``frames`` with ``faults`` and answers each resubscription.

    The first action waits for the client's initial subscription. ``resyncs_before`` counts book
    subscriptions the connection has seen before this script's first resync (the initial one is
    counted automatically).
    """
    script: list[Action] = [until(lambda log: plugin.book_subscriptions(log) >= 1)]
    subs = 1 + resyncs_before
    by_index = {f.at: f for f in faults}
    k = 0
    while k < len(frames):
        fault = by_index.get(k)
        if fault is None:
            script.append(plugin.frame(frames[k]))
            k += 1
            continue
        if fault.kind == "garbage":
            script += [garbage(plugin.garbage), plugin.frame(frames[k])]
            k += 1
            continue
        if fault.kind == "drop":
            script.append(plugin.frame(frames[k + 1]))
            k += 2
        elif fault.kind == "duplicate":
            script += [plugin.frame(frames[k]), plugin.frame(frames[k])]
            k += 1
        elif fault.kind == "swap":
            script += [plugin.frame(frames[k + 1]), plugin.frame(frames[k])]
            k += 2
        elif fault.kind == "corrupt":
            script.append(plugin.frame(plugin.corrupt(frames[k])))
            k += 1
        else:
            raise ValueError(f"unknown fault {fault.kind!r}")
        subs += 1
        script += answer_resubscription(plugin, subs, k)
    return script


def answer_resubscription(plugin: Plugin, subscriptions: int, upto: int) -> list[Action]:
    """Wait for the client's ``subscriptions``-th book subscription on the connection, then
    send the true book after ``upto`` messages as the venue's snapshot."""
    return [
        until(lambda log: plugin.book_subscriptions(log) >= subscriptions),
        plugin.frame(plugin.snapshot_after(upto)),
    ]


def ticks(spec: InstrumentSpec, price: str | float) -> int:
    """Return a decimal price (or a float from a JSON expected file) in ticks."""
    return spec.tick.to_units(str(Decimal(str(price))))


def book_matches(
    state, spec: InstrumentSpec, best_bid: str | float, best_ask: str | float, bid_levels: int
) -> bool:
    """Return whether instrument 0's book is valid with the given top and bid level count."""
    return bool(
        state[0, ST_VALID] == 1
        and state[0, ST_BEST_BID] == ticks(spec, best_bid)
        and state[0, ST_BEST_ASK] == ticks(spec, best_ask)
        and state[0, ST_BID_LEVELS] == bid_levels
    )


def book_equals(qty, state, spec: InstrumentSpec, book: LevelBook, inst: int = 0) -> bool:
    """Return whether ``inst``'s book is valid and holds exactly ``book``'s levels and sizes."""
    if state[inst, ST_VALID] != 1:
        return False
    for side, levels in enumerate(book.levels()):
        n = int(state[inst, (ST_BID_LEVELS, ST_ASK_LEVELS)[side]])
        if n != len(levels):
            return False
        px = np.zeros(n, dtype=np.int64)
        sz = np.zeros(n, dtype=np.int64)
        depth(qty, state, inst, side, n, px, sz)
        want = [(ticks(spec, lv[0]), spec.lot.to_units(lv[1])) for lv in levels]
        if list(zip(px.tolist(), sz.tolist(), strict=True)) != want:
            return False
    return True


def invalid_rows(rows: np.ndarray, instrument: int = 0) -> int:
    """Return how many BOOK_INVALID rows reached the core for ``instrument``."""
    if rows.shape[0] == 0:
        return 0
    return int(
        ((rows["kind"] == EventKind.BOOK_INVALID) & (rows["instrument"] == instrument)).sum()
    )


def counter(metric: str, **labels: str) -> float:
    """Return a Prometheus sample's value (0 when never set)."""
    return registry.REGISTRY.get_sample_value(metric, labels) or 0.0
