"""Bitget book sync: ``books`` snapshot/update with ``seq``/``pseq`` and the CRC32 checksum.

Rules (PROTOCOLS.md 4.3): a snapshot replaces the book; updates are applied with size "0"
deleting a level, and after each message the CRC32 of the top 25 levels must match (0 means the
venue sent none: ``books1/5/15`` and some snapshots). Sequence numbers are optional on v2: when
an update carries ``pseq`` it must equal the last applied ``seq``; with ``seq`` alone it must
grow (Bitget does not promise +1, so a lost update without ``pseq`` is caught by the checksum).
``books1/5/15`` push a full snapshot every time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.base import EventBuffer
from bot.adapters.bitget import schemas
from bot.adapters.bookfeed import BookSync
from bot.adapters.fixed import ms_to_ns

if TYPE_CHECKING:
    from bot.adapters.bitget.feed import BitgetFeed


def _sequence_ok(
    feed: BitgetFeed, sync: BookSync, data: schemas.BookData, ts_local_ns: int, out: EventBuffer
) -> bool:
    last = sync.last_seq
    if last is None:
        return True
    if data.pseq is not None and data.pseq != last:
        feed.gap(sync, ts_local_ns, out, expected=last, got=data.pseq)
        return False
    if data.pseq is None and data.seq is not None and data.seq <= last:
        feed.gap(sync, ts_local_ns, out, expected=last + 1, got=data.seq)
        return False
    return True


def on_books(
    feed: BitgetFeed, sync: BookSync, action: str, data: schemas.BookData,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Apply one ``books*`` data entry to ``sync``'s book, or invalidate it."""
    snapshot = action == "snapshot"
    if not snapshot and action != "update":
        feed.malformed("bitget_book_action", action)
        feed.invalidate(sync, "malformed", ts_local_ns, out)
        return
    seq = data.seq if data.seq is not None else 0
    if not snapshot:
        if not sync.synced:
            feed.drop_unsynced(sync)
            return
        if not _sequence_ok(feed, sync, data, ts_local_ns, out):
            return
    ts_exch_ns = ms_to_ns(data.ts)
    if not feed.apply_levels(
        sync, snapshot=snapshot, bids=data.bids, asks=data.asks,
        ts_exch_ns=ts_exch_ns, ts_local_ns=ts_local_ns, seq=seq, out=out,
    ):  # fmt: skip
        feed.stats.malformed += 1
        feed.invalidate(sync, "malformed", ts_local_ns, out, seq)
        return
    if feed.finish_book_message(
        sync, snapshot=snapshot, checksum=data.checksum, ts_local_ns=ts_local_ns, out=out, seq=seq
    ):
        sync.last_seq = data.seq
