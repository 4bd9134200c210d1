"""Column and phase numbers of the per-feed sync table that venue kernels read and write.

Every feed keeps one ``int64[n_instruments, columns]`` table (``BookFeed.table``), a row per
subscribed instrument in feed order. The first ``N_COMMON`` columns mean the same in every venue;
a venue whose kernel needs more state declares its extra columns from ``N_COMMON`` on. Kernels
take the table as an argument (numba freezes globals, so per-instrument data is never a global)
and read these module-level ints, which numba folds into constants.
"""

from __future__ import annotations

SY_PHASE = 0
"""Sync phase of the instrument's book (``PHASE_*``)."""
SY_LAST_SEQ = 1
"""Venue sequence of the last applied book message (the ``seq`` of a ``BOOK_INVALID`` row)."""
SY_HAS_SEQ = 2
"""1 when ``SY_LAST_SEQ`` holds a venue sequence (some venues send none on some channels)."""
SY_INST = 3
"""Global instrument id (row of the shared book arrays)."""
SY_TICK_M = 4
SY_TICK_E = 5
SY_LOT_M = 6
SY_LOT_E = 7
SY_SYMLEN = 8
"""Length of the venue symbol in bytes."""
SY_SYM0 = 9
"""Four columns holding the symbol's bytes packed little-endian (``SYMBOL_COLUMNS``)."""
SYMBOL_COLUMNS = 4
MAX_SYMBOL_BYTES = 8 * SYMBOL_COLUMNS
SY_PX_FMT = 13
"""Number format of prices on the wire (checksum venues; ``bot.adapters.wire.checksum``)."""
SY_SZ_FMT = 14
"""Number format of sizes on the wire."""
N_COMMON = 15
"""First column a venue may use for its own state."""

PHASE_WAIT = 0
"""Waiting for a snapshot (after connect or an invalidation): updates are not applied."""
PHASE_FIRST = 1
"""REST snapshot applied, waiting for the first update that bridges it (Binance)."""
PHASE_SYNCED = 2
"""In sync: every update must follow the venue's sequence rule."""
