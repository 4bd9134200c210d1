"""The OKX/Bitget book checksum: CRC32 over the top 25 levels' text, computed in one kernel.

The checksum is CRC32 over the venue's *original strings* of the top 25 levels
(``bid1px:bid1sz:ask1px:ask1sz:bid2px:...``; ``"0.50"`` is not ``"0.5"``). The book keeps
ticks, not strings, so ``book_checksum`` writes each level's digits from ticks straight into the
CRC (no string is built, in Python or in the kernel), in the venue's number format, which the
level scanner observes on the wire (``observe``): either canonical (no trailing fraction zeros:
OKX ``"30244"``, ``"0.08"``) or a fixed number of fraction digits per field (Bitget
``"9.970"``). The format is learnt from each snapshot and checked on every message; a string
that breaks it makes the checksum unverifiable and the feed resyncs rather than trust the book.
Verified on every message of the real OKX and Bitget captures.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bot.adapters.wire.layout import (
    SY_INST,
    SY_LOT_E,
    SY_LOT_M,
    SY_PX_FMT,
    SY_SZ_FMT,
    SY_TICK_E,
    SY_TICK_M,
)
from bot.core.book import depth
from bot.core.ticks import POW10

FMT_CANONICAL = -1
"""Numbers carry no trailing fraction zeros (``"30244"``, ``"0.08"``)."""
FMT_UNKNOWN = -2
"""Format not (yet) known: checksums cannot be verified."""

# Columns of the observation array ``scan_levels`` fills (min/max fraction digits, and how many
# strings ended in a fraction zero), for prices and for non-zero sizes.
OBS_PX_MIN = 0
OBS_PX_MAX = 1
OBS_PX_TRAILING = 2
OBS_SZ_MIN = 3
OBS_SZ_MAX = 4
OBS_SZ_TRAILING = 5
OBS_EXPONENT = 6
N_OBS = 7

CHECKSUM_LEVELS = 25

CHECK_PASSED = 0
CHECK_FORMAT = 1
"""A number on the wire broke the learnt format: the checksum cannot be computed."""
CHECK_MISMATCH = 2


def _crc_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.int64)
    for n in range(256):
        c = n
        for _ in range(8):
            c = (0xEDB88320 ^ (c >> 1)) if c & 1 else (c >> 1)
        table[n] = c
    return table


CRC_TABLE = _crc_table()
"""The zlib (IEEE 802.3, reflected) CRC32 table; kernels take it as an argument."""


def new_observations() -> np.ndarray:
    """Return a reset observation array for ``scan_levels``."""
    obs = np.zeros(N_OBS, dtype=np.int64)
    reset_observations(obs)
    return obs


@njit(cache=True, nogil=True)
def reset_observations(obs: np.ndarray) -> None:
    """Reset the format observations before a message."""
    obs[OBS_PX_MIN] = 99
    obs[OBS_PX_MAX] = -1
    obs[OBS_PX_TRAILING] = 0
    obs[OBS_SZ_MIN] = 99
    obs[OBS_SZ_MAX] = -1
    obs[OBS_SZ_TRAILING] = 0
    obs[OBS_EXPONENT] = 0


@njit(cache=True, nogil=True)
def observe(buf: np.ndarray, s: int, e: int, obs: np.ndarray, col: int) -> None:
    """Record the fraction digits of the number ``buf[s:e]`` in ``obs[col:col+3]``."""
    dot = -1
    for k in range(s, e):
        c = buf[k]
        if c == 46:
            dot = k
        elif c == 101 or c == 69:
            obs[OBS_EXPONENT] += 1
            return
    frac = 0 if dot < 0 else e - dot - 1
    if frac < obs[col]:
        obs[col] = frac
    if frac > obs[col + 1]:
        obs[col + 1] = frac
    if frac > 0 and buf[e - 1] == 48:
        obs[col + 2] += 1


@njit(cache=True, nogil=True)
def _write_uint(out: np.ndarray, pos: int, value: int, width: int) -> int:
    """Write ``value`` in decimal, left-padded with zeros to ``width`` digits."""
    digits = 1
    probe = value
    while probe >= 10:
        probe //= 10
        digits += 1
    if digits < width:
        digits = width
    k = pos + digits - 1
    while k >= pos:
        out[k] = 48 + value % 10
        value //= 10
        k -= 1
    return pos + digits


@njit(cache=True, nogil=True)
def format_units(
    units: int, grid_m: int, grid_e: int, fmt: int, pow10: np.ndarray, out: np.ndarray, pos: int
) -> int:
    """Write ``units * grid`` as decimal text in format ``fmt`` at ``out[pos:]``; return the end.

    ``fmt`` is ``FMT_CANONICAL`` (no trailing fraction zeros) or a fixed number of fraction digits.
    """
    value = units * grid_m
    if value < 0:
        out[pos] = 45
        pos += 1
        value = -value
    if grid_e >= 0:
        pos = _write_uint(out, pos, value * pow10[grid_e], 1)
        if fmt > 0:
            out[pos] = 46
            pos += 1
            for _ in range(fmt):
                out[pos] = 48
                pos += 1
        return pos
    decimals = -grid_e
    scale = pow10[decimals]
    int_part = value // scale
    frac = value % scale
    keep = decimals if fmt > decimals else max(fmt, 0)
    nd = decimals
    while nd > keep and frac % 10 == 0:
        frac //= 10
        nd -= 1
    pos = _write_uint(out, pos, int_part, 1)
    if nd > 0 or fmt > 0:
        out[pos] = 46
        pos += 1
        if nd > 0:
            pos = _write_uint(out, pos, frac, nd)
        for _ in range(fmt - nd if fmt > nd else 0):
            out[pos] = 48
            pos += 1
    return pos


@njit(cache=True, nogil=True)
def crc32(buf: np.ndarray, n: int, table: np.ndarray) -> int:
    """Return the zlib CRC32 of ``buf[:n]`` as an unsigned value."""
    crc = 0xFFFFFFFF
    for k in range(n):
        crc = table[(crc ^ int(buf[k])) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def new_scratch() -> np.ndarray:
    """Return the scratch array ``book_checksum`` reads the top levels into."""
    return np.zeros((4, CHECKSUM_LEVELS), dtype=np.int64)


@njit(cache=True, nogil=True, inline="always")
def _crc_byte(crc: int, byte: int) -> int:
    return CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)


@njit(cache=True, nogil=True)
def _crc_digits(crc: int, value: int, width: int) -> int:
    """Feed ``value`` in decimal (left-padded with zeros to ``width`` digits) into ``crc``."""
    digits = 1
    scale = 1
    while value // scale >= 10:
        scale *= 10
        digits += 1
    while digits < width:
        crc = _crc_byte(crc, 48)
        width -= 1
    while scale > 0:
        crc = _crc_byte(crc, 48 + (value // scale) % 10)
        scale //= 10
    return crc


@njit(cache=True, nogil=True)
def _crc_units(crc: int, units: int, grid_m: int, grid_e: int, fmt: int) -> int:
    """Feed the text of ``units * grid`` in format ``fmt`` into ``crc`` (as ``format_units``)."""
    value = units * grid_m
    if value < 0:
        crc = _crc_byte(crc, 45)
        value = -value
    if grid_e >= 0:
        crc = _crc_digits(crc, value * POW10[grid_e], 1)
        if fmt > 0:
            crc = _crc_byte(crc, 46)
            for _ in range(fmt):
                crc = _crc_byte(crc, 48)
        return crc
    decimals = -grid_e
    scale = POW10[decimals]
    int_part = value // scale
    frac = value % scale
    keep = decimals if fmt > decimals else max(fmt, 0)
    nd = decimals
    while nd > keep and frac % 10 == 0:
        frac //= 10
        nd -= 1
    crc = _crc_digits(crc, int_part, 1)
    if nd > 0 or fmt > 0:
        crc = _crc_byte(crc, 46)
        if nd > 0:
            crc = _crc_digits(crc, frac, nd)
        for _ in range(fmt - nd if fmt > nd else 0):
            crc = _crc_byte(crc, 48)
    return crc


@njit(cache=True, nogil=True)
def book_checksum(
    qty: np.ndarray, state: np.ndarray, table: np.ndarray, local: int, scratch: np.ndarray
) -> int:
    """Return the OKX/Bitget checksum of sync row ``local``'s book as a signed int32.

    The text is ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...`` (a side that runs out is skipped),
    fed digit by digit into the CRC in the row's learnt formats. ``scratch`` is ``new_scratch()``.
    """
    inst = table[local, SY_INST]
    tick_m = table[local, SY_TICK_M]
    tick_e = table[local, SY_TICK_E]
    lot_m = table[local, SY_LOT_M]
    lot_e = table[local, SY_LOT_E]
    px_fmt = table[local, SY_PX_FMT]
    sz_fmt = table[local, SY_SZ_FMT]
    nb = depth(qty, state, inst, 0, CHECKSUM_LEVELS, scratch[0], scratch[1])
    na = depth(qty, state, inst, 1, CHECKSUM_LEVELS, scratch[2], scratch[3])
    crc = 0xFFFFFFFF
    first = True
    for i in range(CHECKSUM_LEVELS):
        for side in range(2):
            if i < (nb if side == 0 else na):
                if not first:
                    crc = _crc_byte(crc, 58)
                first = False
                crc = _crc_units(crc, scratch[2 * side, i], tick_m, tick_e, px_fmt)
                crc = _crc_byte(crc, 58)
                crc = _crc_units(crc, scratch[2 * side + 1, i], lot_m, lot_e, sz_fmt)
    crc ^= 0xFFFFFFFF
    if crc >= 0x80000000:
        crc -= 0x100000000
    return crc


@njit(cache=True, nogil=True)
def learn_format(obs: np.ndarray, px: bool) -> int:
    """Return the number format the observations show for prices (``px``) or sizes."""
    base = OBS_PX_MIN if px else OBS_SZ_MIN
    lo, hi, trailing = obs[base], obs[base + 1], obs[base + 2]
    if obs[OBS_EXPONENT]:
        return FMT_UNKNOWN
    if hi < 0 or trailing == 0:
        return FMT_CANONICAL
    if lo == hi:
        return hi
    return FMT_UNKNOWN


@njit(cache=True, nogil=True)
def format_holds(obs: np.ndarray, px: bool, fmt: int) -> bool:
    """Return whether the strings of one message are consistent with format ``fmt``."""
    base = OBS_PX_MIN if px else OBS_SZ_MIN
    lo, hi, trailing = obs[base], obs[base + 1], obs[base + 2]
    if obs[OBS_EXPONENT]:
        return False
    if hi < 0:
        return True
    if fmt == FMT_CANONICAL:
        return trailing == 0
    return fmt >= 0 and lo == fmt and hi == fmt


@njit(cache=True, nogil=True)
def learn(table: np.ndarray, local: int, obs: np.ndarray) -> None:
    """Store the number formats a snapshot's strings show as book ``local``'s formats."""
    table[local, SY_PX_FMT] = learn_format(obs, True)
    table[local, SY_SZ_FMT] = learn_format(obs, False)


@njit(cache=True, nogil=True)
def verify(
    qty: np.ndarray,
    state: np.ndarray,
    table: np.ndarray,
    local: int,
    obs: np.ndarray,
    scratch: np.ndarray,
    expected: int,
) -> int:
    """Check book ``local`` against the venue checksum ``expected`` after one message.

    Return ``CHECK_PASSED`` (also for ``expected == 0``: the venue sent none), ``CHECK_FORMAT``
    (a string broke the learnt format, the checksum cannot be computed) or ``CHECK_MISMATCH``.
    """
    if expected == 0:
        return CHECK_PASSED
    px_fmt = table[local, SY_PX_FMT]
    if (
        px_fmt == FMT_UNKNOWN
        or not format_holds(obs, True, px_fmt)
        or not format_holds(obs, False, table[local, SY_SZ_FMT])
    ):
        return CHECK_FORMAT
    if book_checksum(qty, state, table, local, scratch) != expected:
        return CHECK_MISMATCH
    return CHECK_PASSED
