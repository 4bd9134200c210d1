"""A preallocated open-addressing hash map ``id -> value`` per (book, side), for kernels.

BitMEX's ``orderBookL2`` keys its rows by an arbitrary int64 id and later updates and deletes
name only the id, so the price of every live id must be remembered. A Python dict per book
would cost objects per row; this map lives in one ``int64[books, 2, capacity, 2]`` array
(``[..., 0]`` the key, ``[..., 1]`` the value; ``EMPTY`` marks a free slot), with linear probing
and backward-shift deletion (no tombstones, so lookups stay short however many rows churn).
The caller keeps the live count per (book, side) and treats ``count > capacity * MAX_LOAD`` as
full (grow with ``grown`` and resync). Keys are ids >= 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

EMPTY = -1
"""Key of a free slot (ids are never negative)."""
KEY = 0
VALUE = 1
DEFAULT_CAPACITY = 1 << 14
"""Slots per (book, side): BitMEX's XBTUSD full-depth partial holds ~5,500 bids."""
MAX_LOAD_SHIFT = 1
"""A side is full beyond ``capacity >> MAX_LOAD_SHIFT`` live keys (load 0.5)."""
_LOW_MASK = 0xFFFFFFFF
_MUL_LOW = 0x7FEB352D
"""Odd multipliers below 2**31: ``low * m`` stays inside int64 both compiled and as Python."""
_MUL_HIGH = 0x68E31DA5
_HASH_SHIFT = 15


def new_idmap(books: int, capacity: int = DEFAULT_CAPACITY) -> np.ndarray:
    """Return an empty map for ``books`` books; ``capacity`` must be a power of two."""
    if capacity <= 0 or capacity & (capacity - 1):
        raise ValueError(f"id map capacity must be a power of two, got {capacity}")
    return np.full((books, 2, capacity, 2), EMPTY, dtype=np.int64)


def grown(table: np.ndarray) -> np.ndarray:
    """Return an empty map with twice the capacity of ``table`` (its books are resynced)."""
    return new_idmap(table.shape[0], table.shape[2] * 2)


def max_live(table: np.ndarray) -> int:
    """Return how many keys a side may hold before it counts as full."""
    return int(table.shape[2]) >> MAX_LOAD_SHIFT


@njit(cache=True, nogil=True, inline="always")
def _home(key: int, mask: int) -> int:
    mixed = ((key & _LOW_MASK) * _MUL_LOW) ^ ((key >> 32) * _MUL_HIGH)
    return (mixed >> _HASH_SHIFT) & mask


@njit(cache=True, nogil=True)
def find(table: np.ndarray, book: int, side: int, key: int) -> int:
    """Return the slot holding ``key``, or ``-1 - slot`` of the free slot where it would go."""
    mask = table.shape[2] - 1
    h = _home(key, mask)
    while True:
        k = table[book, side, h, KEY]
        if k == key:
            return h
        if k == EMPTY:
            return -1 - h
        h = (h + 1) & mask


@njit(cache=True, nogil=True)
def remove(table: np.ndarray, book: int, side: int, slot: int) -> None:
    """Free ``slot``, shifting later keys of its probe run back so no lookup breaks."""
    mask = table.shape[2] - 1
    hole = slot
    j = slot
    while True:
        j = (j + 1) & mask
        k = table[book, side, j, KEY]
        if k == EMPTY:
            break
        home = _home(k, mask)
        # move k into the hole unless its home lies cyclically in (hole, j]
        if (j > hole and (home <= hole or home > j)) or (j < hole and hole >= home > j):
            table[book, side, hole, KEY] = k
            table[book, side, hole, VALUE] = table[book, side, j, VALUE]
            hole = j
    table[book, side, hole, KEY] = EMPTY


@njit(cache=True, nogil=True)
def clear(table: np.ndarray, book: int) -> None:
    """Empty both sides of ``book``."""
    for side in range(2):
        for h in range(table.shape[2]):
            table[book, side, h, KEY] = EMPTY
