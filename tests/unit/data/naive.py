"""Naive oracles for the data tests: a dict-based L2 book replayed row by row."""

from __future__ import annotations

import numpy as np

from bot.core.dtypes import EventKind


class NaiveBook:
    """Price -> size per side, per instrument; no windows, no kernels."""

    def __init__(self) -> None:
        self.sides: dict[int, tuple[dict[int, int], dict[int, int]]] = {}

    def side(self, inst: int, side: int) -> dict[int, int]:
        return self.sides.setdefault(inst, ({}, {}))[side]

    def apply(self, row: np.void) -> None:
        kind, inst = int(row["kind"]), int(row["instrument"])
        if kind == EventKind.BOOK_CLEAR:
            self.sides[inst] = ({}, {})
        elif kind in (EventKind.BOOK_BID, EventKind.BOOK_ASK):
            levels = self.side(inst, kind - 1)
            price, qty = int(row["price_tick"]), int(row["qty_lot"])
            if qty == 0:
                levels.pop(price, None)
            else:
                levels[price] = qty

    def best(self, inst: int, side: int) -> int | None:
        levels = self.side(inst, side)
        if not levels:
            return None
        return max(levels) if side == 0 else min(levels)

    def top(self, inst: int, side: int, n: int) -> list[tuple[int, int]]:
        levels = self.side(inst, side)
        prices = sorted(levels, reverse=side == 0)[:n]
        return [(p, levels[p]) for p in prices]


def replay(events: np.ndarray) -> NaiveBook:
    """Return the naive book after all ``events``."""
    book = NaiveBook()
    for row in events:
        book.apply(row)
    return book
