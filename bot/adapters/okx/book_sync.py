"""OKX book sync: ``books`` snapshot/update with seqId/prevSeqId and the CRC32 checksum.

Rules (PROTOCOLS.md 3.4): a snapshot (``prevSeqId == -1``) replaces the book and sets the
sequence; each update's ``prevSeqId`` must equal the last applied ``seqId``, otherwise it is a
gap. An update with ``seqId == prevSeqId`` and no levels is a heartbeat; an update whose
``seqId`` is smaller than its ``prevSeqId`` follows a sequence reset after maintenance and is
accepted. Frames recorded before OKX added seqId carry none: then only the checksum guards the
book. A checksum of 0 (OKX stops sending them on 2026-06-23) is not verified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.adapters.base import EventBuffer
from bot.adapters.bookfeed import BookSync
from bot.adapters.fixed import ms_to_ns
from bot.adapters.okx import schemas

if TYPE_CHECKING:
    from bot.adapters.okx.feed import OkxFeed


def on_books(
    feed: OkxFeed, sync: BookSync, action: str, data: schemas.BookData,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Apply one ``books`` data entry to ``sync``'s book, or invalidate it."""
    snapshot = action == "snapshot"
    if not snapshot and action != "update":
        feed.malformed("okx_book_action", action)
        feed.invalidate(sync, "malformed", ts_local_ns, out)
        return
    seq = data.seqId if data.seqId is not None else 0
    if not snapshot:
        if not sync.synced:
            feed.drop_unsynced(sync)
            return
        if (
            data.prevSeqId is not None
            and sync.last_seq is not None
            and data.prevSeqId != sync.last_seq
        ):
            feed.gap(sync, ts_local_ns, out, expected=sync.last_seq, got=data.prevSeqId)
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
        sync.last_seq = data.seqId
