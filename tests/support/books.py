"""Naive oracles: books as plain dicts, rebuilt from event rows or from venue messages."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID, ST_VALID
from bot.core.dtypes import EventKind


def book_from_rows(rows: np.ndarray, instrument: int) -> tuple[dict[int, int], dict[int, int]]:
    """Rebuild ``(bids, asks)`` as {price_tick: qty_lot} from the event rows of one instrument."""
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for row in rows[rows["instrument"] == instrument]:
        kind = int(row["kind"])
        if kind == EventKind.BOOK_CLEAR:
            bids.clear()
            asks.clear()
        elif kind in (EventKind.BOOK_BID, EventKind.BOOK_ASK):
            side = bids if kind == EventKind.BOOK_BID else asks
            price, size = int(row["price_tick"]), int(row["qty_lot"])
            if size:
                side[price] = size
            else:
                side.pop(price, None)
    return bids, asks


def decimal_book(levels: list[list[str]]) -> dict[Decimal, Decimal]:
    """Return {price: size} from venue ``[[price, size], ...]`` strings (size 0 deleted)."""
    return {Decimal(p): Decimal(q) for p, q in levels if Decimal(q) != 0}


def valid_books_uncrossed(state: np.ndarray, instruments: list[int]) -> bool:
    """Return whether every book flagged valid has best bid < best ask (or an empty side)."""
    for inst in instruments:
        if state[inst, ST_VALID] == 0:
            continue
        bid, ask = state[inst, ST_BEST_BID], state[inst, ST_BEST_ASK]
        if bid != NO_BID and ask != NO_ASK and bid >= ask:
            return False
    return True
