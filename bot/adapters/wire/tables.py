"""The sync table of a feed: building it, and finding a symbol's row from inside a kernel.

Nothing here does I/O. There is one way to hand per-instrument data to a kernel: the table of
``bot.adapters.wire.layout``, symbols included (packed into ``SYMBOL_COLUMNS`` int64 columns), so a
kernel matches a symbol against the table it already takes, with no extra argument.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

from bot.adapters.base import InstrumentRef
from bot.adapters.wire.layout import (
    MAX_SYMBOL_BYTES,
    N_COMMON,
    SY_INST,
    SY_LOT_E,
    SY_LOT_M,
    SY_SYM0,
    SY_SYMLEN,
    SY_TICK_E,
    SY_TICK_M,
    SYMBOL_COLUMNS,
)


def new_sync_table(refs: Sequence[InstrumentRef], columns: int = N_COMMON) -> np.ndarray:
    """Return a zeroed sync table for ``refs`` with instrument, grid and symbol columns filled."""
    if columns < N_COMMON:
        raise ValueError(f"a sync table has at least {N_COMMON} columns")
    table = np.zeros((len(refs), columns), dtype=np.int64)
    for k, ref in enumerate(refs):
        table[k, SY_INST] = ref.instrument
        table[k, SY_TICK_M] = ref.tick.mantissa
        table[k, SY_TICK_E] = ref.tick.exponent
        table[k, SY_LOT_M] = ref.lot.mantissa
        table[k, SY_LOT_E] = ref.lot.exponent
        raw = ref.spec.symbol.encode("ascii")
        if len(raw) > MAX_SYMBOL_BYTES:
            raise ValueError(f"symbol {ref.spec.symbol!r} is longer than {MAX_SYMBOL_BYTES} bytes")
        table[k, SY_SYMLEN] = len(raw)
        padded = raw.ljust(MAX_SYMBOL_BYTES, b"\0")
        for j in range(SYMBOL_COLUMNS):
            chunk = padded[8 * j : 8 * j + 8]
            table[k, SY_SYM0 + j] = int.from_bytes(chunk, "little", signed=True)
    return table


@njit(cache=True, nogil=True)
def symbol_row(buf: np.ndarray, s: int, e: int, table: np.ndarray) -> int:
    """Return the table row whose symbol equals ``buf[s:e]``, or -1."""
    length = e - s
    for k in range(table.shape[0]):
        if table[k, SY_SYMLEN] != length:
            continue
        same = True
        for j in range(length):
            if buf[s + j] != (table[k, SY_SYM0 + (j >> 3)] >> ((j & 7) * 8)) & 255:
                same = False
                break
        if same:
            return k
    return -1
