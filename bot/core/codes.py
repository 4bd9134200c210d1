"""Event kinds, flags, venue ids and book-check results as plain module-level ints, for kernels.

The enums of ``bot.core.dtypes`` and ``bot.core.book`` name these values for Python code; kernels
import the ints from here instead of writing literals (``kind == 1``, ``flags & 2``), and numba
folds them as constants. Book state columns (``ST_*``) live with the book
(``bot.core.book_overflow``) and are re-exported here so a kernel needs one import.
"""

from __future__ import annotations

from bot.core.book import BookCheck, BookStatus
from bot.core.book_overflow import (
    ST_ASK_LEVELS,
    ST_BEST_ASK,
    ST_BEST_BID,
    ST_BID_LEVELS,
    ST_LAST_TS,
    ST_VALID,
)
from bot.core.dtypes import EventFlag, EventKind, VenueId

BOOK_BID = int(EventKind.BOOK_BID)
BOOK_ASK = int(EventKind.BOOK_ASK)
BOOK_CLEAR = int(EventKind.BOOK_CLEAR)
BOOK_INVALID = int(EventKind.BOOK_INVALID)

FLAG_SNAPSHOT = int(EventFlag.SNAPSHOT)
FLAG_BATCH_END = int(EventFlag.BATCH_END)
FLAG_FROM_REST = int(EventFlag.FROM_REST)

VENUE_BINANCE_USDM = int(VenueId.BINANCE_USDM)
VENUE_BYBIT = int(VenueId.BYBIT)
VENUE_OKX = int(VenueId.OKX)
VENUE_BITGET = int(VenueId.BITGET)
VENUE_BINGX = int(VenueId.BINGX)
VENUE_BITMEX = int(VenueId.BITMEX)

CHECK_OK = int(BookCheck.OK)
CHECK_CROSSED = int(BookCheck.CROSSED)
CHECK_LOCKED = int(BookCheck.LOCKED)
APPLY_INVALID = int(BookStatus.INVALID)
"""``apply_event`` result for a row that could not be applied (``BookStatus.INVALID``)."""

__all__ = [
    "APPLY_INVALID", "BOOK_ASK", "BOOK_BID", "BOOK_CLEAR", "BOOK_INVALID", "CHECK_CROSSED",
    "CHECK_LOCKED", "CHECK_OK", "FLAG_BATCH_END", "FLAG_FROM_REST", "FLAG_SNAPSHOT",
    "ST_ASK_LEVELS", "ST_BEST_ASK", "ST_BEST_BID", "ST_BID_LEVELS", "ST_LAST_TS", "ST_VALID",
    "VENUE_BINANCE_USDM", "VENUE_BINGX", "VENUE_BITGET", "VENUE_BITMEX", "VENUE_BYBIT",
    "VENUE_OKX",
]  # fmt: skip
