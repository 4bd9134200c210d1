"""BitMEX ``orderBookL2`` sync: ``partial``, then ``insert``/``update``/``delete`` keyed by id.

Rules (docs/venues.md): ignore a symbol's rows until its ``partial``, which replaces the book.
Rows are keyed by (side, id); an ``insert`` brings price and size, an ``update`` a new size, a
``delete`` removes the row. Update and delete rows from before mid-2023 carry no price, so the
price of every id is remembered from its partial/insert row (never derived from the id: BitMEX
made ids arbitrary in 2023). BitMEX has no sequence numbers or checksum: an update or delete of
an unknown id, an insert of a known id, or a crossed book means a message was lost or reordered,
and the book is resynced (unsubscribe + subscribe brings a new ``partial``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.adapters.base import EventBuffer, InstrumentRef, Reason
from bot.adapters.bitmex import schemas
from bot.adapters.wire.feed import MALFORMED_ERRORS, BookFeed
from bot.adapters.wire.jsonscan import apply_rows
from bot.adapters.wire.scalars import exact_units, iso_to_ns
from bot.core.dtypes import EventFlag, EventKind, VenueId

logger = logging.getLogger(__name__)

_SIDES = {"Buy": 0, "Sell": 1}
_KINDS = (int(EventKind.BOOK_BID), int(EventKind.BOOK_ASK))
_SNAPSHOT = int(EventFlag.SNAPSHOT)
_BATCH_END = int(EventFlag.BATCH_END)
_CLEAR = int(EventKind.BOOK_CLEAR)
_VENUE = int(VenueId.BITMEX)


class BookMismatchError(ValueError):
    """A row refers to an id the book does not hold (or inserts one it already holds)."""


def on_l2(
    feed: BookFeed, ids: Sequence[dict[int, int]], action: str, rows: Sequence[schemas.L2Row],
    filter_symbol: str | None, ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    """Apply one ``orderBookL2`` frame to the books of the symbols it carries.

    ``ids[local]`` maps ``id * 2 + side`` to the price tick of every row in book ``local``.
    """
    by_symbol: dict[str, list[schemas.L2Row]] = {}
    if filter_symbol is not None:
        by_symbol[filter_symbol] = []
    for row in rows:
        by_symbol.setdefault(row.symbol, []).append(row)
    for symbol, symbol_rows in by_symbol.items():
        local = feed.local.get(symbol)
        if local is not None:
            _on_symbol(feed, local, ids[local], action, symbol_rows, ts_local_ns, out)


def _on_symbol(
    feed: BookFeed, local: int, ids: dict[int, int], action: str, rows: list[schemas.L2Row],
    ts_local_ns: int, out: EventBuffer,
) -> None:  # fmt: skip
    snapshot = action == "partial"
    if not snapshot and not feed.synced(local):
        feed.drop_unsynced(local, ts_local_ns)
        return
    ref = feed.refs[local]
    inst = ref.instrument
    start = out.n
    try:
        if snapshot:
            ids.clear()
            out.append(_CLEAR, inst, 0, ts_local_ns, flags=_SNAPSHOT, venue=_VENUE)
        for row in rows:
            _row(ref, ids, action, row, ts_local_ns, out, _SNAPSHOT if snapshot else 0)
    except BookMismatchError as e:
        out.n = start
        feed.stats.gaps += 1
        logger.warning("bitmex %s: %s; resyncing", ref.spec.symbol, e)
        feed.invalidate(local, Reason.UNKNOWN_ID, ts_local_ns, out)
        return
    except MALFORMED_ERRORS as e:
        out.n = start
        feed.malformed(f"bitmex_l2_{type(e).__name__}", str(e))
        feed.invalidate(local, Reason.MALFORMED, ts_local_ns, out)
        return
    if out.n > start:
        out.rows["flags"][out.n - 1] |= _BATCH_END
    if apply_rows(feed.qty, feed.state, out.rows, start, out.n):
        feed.count(Reason.LEVEL_REFUSED)
    feed.finish_book_message(local, snapshot=snapshot, ts_local_ns=ts_local_ns, out=out)


def _row(
    ref: InstrumentRef, ids: dict[int, int], action: str, row: schemas.L2Row,
    ts_local_ns: int, out: EventBuffer, flags: int,
) -> None:  # fmt: skip
    side = _SIDES.get(row.side)
    if side is None:
        raise ValueError(f"unknown side {row.side!r}")
    key = row.id * 2 + side
    if action in ("partial", "insert"):
        if key in ids:
            raise BookMismatchError(f"insert of id {row.id} ({row.side}) already in the book")
        if row.price is None or row.size is None:
            raise ValueError(f"{action} row {row.id} without price or size")
        price_tick = exact_units(ref.tick, row.price, "book price")
        ids[key] = price_tick
        qty_lot = exact_units(ref.lot, row.size, "book size")
    elif action == "update":
        price_tick = _known(ids, key, row, action)
        if row.size is None:
            raise ValueError(f"update row {row.id} without size")
        qty_lot = exact_units(ref.lot, row.size, "book size")
    elif action == "delete":
        price_tick = _known(ids, key, row, action)
        del ids[key]
        qty_lot = 0
    else:
        raise ValueError(f"unknown orderBookL2 action {action!r}")
    ts_exch_ns = iso_to_ns(row.timestamp) if row.timestamp else 0
    out.append(
        _KINDS[side], ref.instrument, ts_exch_ns, ts_local_ns, price_tick, qty_lot,
        flags=flags, venue=_VENUE, aux=row.id,
    )  # fmt: skip


def _known(ids: dict[int, int], key: int, row: schemas.L2Row, action: str) -> int:
    price_tick = ids.get(key)
    if price_tick is None:
        raise BookMismatchError(f"{action} of unknown id {row.id} ({row.side})")
    return price_tick
