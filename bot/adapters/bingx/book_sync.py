"""BingX book sync: ``@incrDepth`` (full depth, then updates numbered +1) or ``@depthN``.

``incrDepth`` (docs/venues.md): after subscribing, ``action: all`` carries the full depth and a
``lastUpdateId``; every ``action: update`` must carry exactly the previous ``lastUpdateId + 1``,
otherwise the book is invalid and the stream is resubscribed (a fresh ``all``). Sizes "0.0000"
delete a level. No real incrDepth sequence was available to test against (only the docs example):
this follows the current documentation. ``depthN`` pushes a full top-N snapshot each time, so
every push replaces the book and no resync is ever needed. BingX defines no checksum.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from bot.adapters.base import EventBuffer
from bot.adapters.bingx import schemas
from bot.adapters.bookfeed import BookSync

if TYPE_CHECKING:
    from bot.adapters.bingx.feed import BingxFeed

_NS_PER_MS = 1_000_000


def on_incr_depth(
    feed: BingxFeed, sync: BookSync, data: schemas.IncrDepth, ts_local_ns: int, out: EventBuffer
) -> None:
    """Apply one ``@incrDepth`` push, or invalidate the book."""
    snapshot = data.action == "all"
    if not snapshot and data.action != "update":
        feed.malformed("bingx_depth_action", data.action)
        feed.invalidate(sync, "malformed", ts_local_ns, out)
        return
    if not snapshot:
        if not sync.synced:
            feed.drop_unsynced(sync, ts_local_ns)
            return
        if sync.last_seq is not None and data.lastUpdateId != sync.last_seq + 1:
            feed.gap(sync, ts_local_ns, out, expected=sync.last_seq + 1, got=data.lastUpdateId)
            return
    _apply(feed, sync, snapshot, data.bids, data.asks, data.time, data.lastUpdateId,
           ts_local_ns, out)  # fmt: skip


def on_depth_snapshot(
    feed: BingxFeed, sync: BookSync, data: schemas.Depth, ts_exch_ms: int,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Replace the book with one ``@depthN`` push."""
    _apply(feed, sync, True, data.bids, data.asks, data.T or ts_exch_ms, 0, ts_local_ns, out)


def _apply(
    feed: BingxFeed, sync: BookSync, snapshot: bool, bids: msgspec.Raw, asks: msgspec.Raw,
    ts_ms: int, seq: int,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    if not 0 <= ts_ms <= (2**63 - 1) // _NS_PER_MS:
        raise ValueError(f"timestamp out of range: {ts_ms}")
    if not feed.apply_levels(
        sync, snapshot=snapshot, bids=bids, asks=asks, ts_exch_ns=ts_ms * _NS_PER_MS,
        ts_local_ns=ts_local_ns, seq=seq, out=out,
    ):  # fmt: skip
        feed.stats.malformed += 1
        feed.invalidate(sync, "malformed", ts_local_ns, out, seq)
        return
    if feed.finish_book_message(
        sync, snapshot=snapshot, checksum=None, ts_local_ns=ts_local_ns, out=out, seq=seq
    ):
        sync.last_seq = seq
