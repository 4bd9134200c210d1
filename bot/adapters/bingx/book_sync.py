"""BingX book sync: ``@incrDepth`` (full depth, then updates numbered +1) or ``@depthN``.

``incrDepth`` (docs/venues.md): after subscribing, ``action: all`` carries the full depth and a
``lastUpdateId``; every ``action: update`` must carry exactly the previous ``lastUpdateId + 1``,
otherwise the book is invalid and the stream is resubscribed (a fresh ``all``). Sizes "0.0000"
delete a level. No real incrDepth sequence was available to test against (only the docs example):
this follows the current documentation. ``depthN`` pushes a full top-N snapshot each time, so
every push replaces the book and no resync is ever needed. BingX defines no checksum.
"""

from __future__ import annotations

import msgspec

from bot.adapters.base import EventBuffer, Reason
from bot.adapters.bingx import schemas
from bot.adapters.wire.feed import BookFeed
from bot.adapters.wire.scalars import ms_to_ns


def on_incr_depth(
    feed: BookFeed, local: int, data: schemas.IncrDepth, ts_local_ns: int, out: EventBuffer
) -> None:
    """Apply one ``@incrDepth`` push, or invalidate the book."""
    snapshot = data.action == "all"
    if not snapshot and data.action != "update":
        feed.malformed("bingx_depth_action", data.action)
        feed.invalidate(local, Reason.MALFORMED, ts_local_ns, out)
        return
    if not snapshot:
        if not feed.synced(local):
            feed.drop_unsynced(local, ts_local_ns)
            return
        last = feed.last_seq(local)
        if last is not None and data.lastUpdateId != last + 1:
            feed.gap(local, ts_local_ns, out, expected=last + 1, got=data.lastUpdateId)
            return
    _apply(feed, local, snapshot, data.bids, data.asks, data.time, data.lastUpdateId,
           ts_local_ns, out)  # fmt: skip


def on_depth_snapshot(
    feed: BookFeed, local: int, data: schemas.Depth, ts_exch_ms: int,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Replace the book with one ``@depthN`` push."""
    _apply(feed, local, True, data.bids, data.asks, data.T or ts_exch_ms, 0, ts_local_ns, out)


def _apply(
    feed: BookFeed, local: int, snapshot: bool, bids: msgspec.Raw, asks: msgspec.Raw,
    ts_ms: int, seq: int,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    if feed.apply_book_message(
        local, snapshot=snapshot, bids=bids, asks=asks, ts_exch_ns=ms_to_ns(ts_ms),
        ts_local_ns=ts_local_ns, seq=seq, checksum=None, out=out,
    ):  # fmt: skip
        feed.set_last_seq(local, seq)
