"""Bitget book sync: ``books`` snapshot/update with ``seq``/``pseq`` and the CRC32 checksum.

Rules (docs/venues.md, Bitget): a snapshot replaces the book; updates are applied with size "0"
deleting a level, and after each message the CRC32 of the top 25 levels must match (0 means the
venue sent none: ``books1/5/15`` and some snapshots). Sequence numbers are optional on v2: when
an update carries ``pseq`` it must equal the last applied ``seq``; with ``seq`` alone it must
grow (Bitget does not promise +1, so a lost update without ``pseq`` is caught by the checksum).
``books1/5/15`` push a full snapshot every time.
"""

from __future__ import annotations

from bot.adapters.base import EventBuffer
from bot.adapters.bitget import schemas
from bot.adapters.wire.feed import BookFeed
from bot.adapters.wire.push import apply_book_push


def on_books(
    feed: BookFeed, local: int, action: str, data: schemas.BookData,
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Apply one ``books*`` data entry to book ``local``, or invalidate it."""

    def sequence_ok() -> bool:
        last = feed.last_seq(local)
        if last is None:
            return True
        if data.pseq is not None and data.pseq != last:
            feed.gap(local, ts_local_ns, out, expected=last, got=data.pseq)
            return False
        if data.pseq is None and data.seq is not None and data.seq <= last:
            feed.gap(local, ts_local_ns, out, expected=last + 1, got=data.seq)
            return False
        return True

    apply_book_push(
        feed, local, action, data, seq=data.seq, sequence_ok=sequence_ok,
        ts_local_ns=ts_local_ns, out=out,
    )  # fmt: skip
