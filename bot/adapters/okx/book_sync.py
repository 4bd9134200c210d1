"""OKX book sync: ``books`` snapshot/update with seqId/prevSeqId and the CRC32 checksum.

Rules (docs/venues.md, OKX): a snapshot (``prevSeqId == -1``) replaces the book and sets the
sequence; each update's ``prevSeqId`` must equal the last applied ``seqId``, otherwise it is a
gap. An update with ``seqId == prevSeqId`` and no levels is a heartbeat; an update whose
``seqId`` is smaller than its ``prevSeqId`` follows a sequence reset after maintenance and is
accepted. Frames recorded before OKX added seqId carry none: then only the checksum guards the
book. A checksum of 0 (OKX stops sending them on 2026-06-23) is not verified.
"""

from __future__ import annotations

from bot.adapters.base import EventBuffer
from bot.adapters.okx import schemas
from bot.adapters.wire.feed import BookFeed
from bot.adapters.wire.push import apply_book_push


def on_books(
    feed: BookFeed, local: int, action: str, data: schemas.BookData,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Apply one ``books`` data entry to book ``local``, or invalidate it."""

    def sequence_ok() -> bool:
        last, prev = feed.last_seq(local), data.prevSeqId
        if prev is None or last is None or prev == last:
            return True
        feed.gap(local, ts_local_ns, out, expected=last, got=prev)
        return False

    apply_book_push(
        feed, local, action, data, seq=data.seqId, sequence_ok=sequence_ok,
        ts_local_ns=ts_local_ns, out=out,
    )  # fmt: skip
