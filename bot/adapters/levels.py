"""Numba kernels shared by the JSON venues: level arrays straight from frame bytes, and checksums.

OKX, Bitget and BingX send book levels as ``[["price","size",...],...]``. Decoding that with
msgspec into Python strings and converting each one would cost a Python object and a conversion
call per level; instead the envelope is decoded with ``msgspec.Raw`` for ``asks``/``bids`` and
``scan_levels`` walks the raw bytes once, converting every price and size exactly with
``bot.core.ticks.parse_units`` and writing event rows in place.

The byte helpers (whitespace, row writing) are the ones the Binance and Bybit kernels use
(``bot.adapters.jsonscan``). The venue checksums (OKX, Bitget) are CRC32 over the *original
strings* of the top 25 levels (``"0.50"`` is not ``"0.5"``). The book keeps ticks, not strings,
so ``book_checksum`` rewrites each level from ticks with the venue's number format, which
``scan_levels`` observes on the wire: either canonical (no trailing fraction zeros: OKX
``"30244"``, ``"0.08"``) or a fixed number of fraction digits per field (Bitget ``"9.970"``). The
format is learnt from each snapshot and checked on every message; a string that breaks it makes
the checksum unverifiable and the feed resyncs rather than trust the book. Verified on every
message of the real OKX and Bitget captures.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from bot.adapters.jsonscan import skip_ws, write_row
from bot.core.book import depth
from bot.core.ticks import ParseStatus, parse_units

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
CHECKSUM_BUFFER = 8192


SCAN_SYNTAX = 10
"""``scan_levels`` status when the bytes are not an array of ``[price, size, ...]`` arrays; any
other status is a ``bot.core.ticks.ParseStatus`` (0 is OK)."""


def scan_status_name(status: int) -> str:
    """Return a metric-label name for a ``scan_levels`` status."""
    return "syntax" if status == SCAN_SYNTAX else ParseStatus(status).name.lower()


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
def _observe(buf: np.ndarray, s: int, e: int, obs: np.ndarray, col: int) -> None:
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
def _token(buf: np.ndarray, i: int, end: int) -> tuple[int, int, int]:
    """Return ``(start, stop, next)`` of the string or bare number at ``i``; start < 0 on error."""
    if i >= end:
        return -1, -1, i
    if buf[i] == 34:  # '"'
        s = i + 1
        k = s
        while k < end and buf[k] != 34:
            if buf[k] == 92:  # backslash: numbers never need escapes
                return -1, -1, k
            k += 1
        if k >= end:
            return -1, -1, k
        return s, k, k + 1
    s = i
    k = i
    while k < end and buf[k] != 44 and buf[k] != 93 and buf[k] != 32:
        k += 1
    if k == s:
        return -1, -1, k
    return s, k, k


@njit(cache=True, nogil=True)
def scan_levels(
    buf: np.ndarray,
    start: int,
    end: int,
    rows: np.ndarray,
    n: int,
    kind: int,
    flags: int,
    venue: int,
    inst: int,
    ts_exch_ns: int,
    ts_local_ns: int,
    seq: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    pow10: np.ndarray,
    obs: np.ndarray,
) -> tuple[int, int]:
    """Parse ``[[price, size, ...], ...]`` in ``buf[start:end]`` into rows from ``n``.

    Returns ``(new_n, status)``: 0, a ``ParseStatus`` or ``SCAN_SYNTAX``. ``rows`` must have
    room for every level (the caller reserves ``(end - start) // 5 + 1``). Elements after the
    size (OKX order counts) are skipped.
    """
    i = skip_ws(buf, start, end)
    if i >= end or buf[i] != 91:
        return n, 10
    i = skip_ws(buf, i + 1, end)
    if i < end and buf[i] == 93:
        return n, 0
    while True:
        if i >= end or buf[i] != 91:
            return n, 10
        i += 1
        field = 0
        price_tick = 0
        qty_lot = 0
        while True:
            i = skip_ws(buf, i, end)
            s, e, i = _token(buf, i, end)
            if s < 0:
                return n, 10
            if field == 0:
                price_tick, status = parse_units(buf, s, e, tick_m, tick_e, pow10)
                if status != 0:
                    return n, status
                _observe(buf, s, e, obs, OBS_PX_MIN)
            elif field == 1:
                qty_lot, status = parse_units(buf, s, e, lot_m, lot_e, pow10)
                if status != 0:
                    return n, status
                if qty_lot != 0:
                    _observe(buf, s, e, obs, OBS_SZ_MIN)
            field += 1
            i = skip_ws(buf, i, end)
            if i < end and buf[i] == 44:
                i += 1
                continue
            if i < end and buf[i] == 93:
                i += 1
                break
            return n, 10
        if field < 2 or n >= rows.shape[0]:
            return n, 10
        write_row(rows, n, kind, flags, venue, inst, ts_exch_ns, ts_local_ns, price_tick, qty_lot,
                  seq)  # fmt: skip
        n += 1
        i = skip_ws(buf, i, end)
        if i < end and buf[i] == 44:
            i = skip_ws(buf, i + 1, end)
            continue
        if i < end and buf[i] == 93:
            i = skip_ws(buf, i + 1, end)
            if i != end:
                return n, 10
            return n, 0
        return n, 10


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


@njit(cache=True, nogil=True)
def book_checksum(
    qty: np.ndarray,
    state: np.ndarray,
    inst: int,
    tick_m: int,
    tick_e: int,
    lot_m: int,
    lot_e: int,
    px_fmt: int,
    sz_fmt: int,
    pow10: np.ndarray,
    table: np.ndarray,
    prices: np.ndarray,
    sizes: np.ndarray,
    out: np.ndarray,
) -> int:
    """Return the OKX/Bitget checksum of the book's top 25 levels as a signed int32.

    The string is ``bid1px:bid1sz:ask1px:ask1sz:bid2px:...``, a side that runs out is skipped.
    ``prices``/``sizes`` are ``int64[2, 25]`` scratch arrays and ``out`` a byte scratch buffer.
    """
    nb = depth(qty, state, inst, 0, CHECKSUM_LEVELS, prices[0], sizes[0])
    na = depth(qty, state, inst, 1, CHECKSUM_LEVELS, prices[1], sizes[1])
    pos = 0
    for i in range(CHECKSUM_LEVELS):
        for side in range(2):
            if i < (nb if side == 0 else na):
                pos = format_units(prices[side, i], tick_m, tick_e, px_fmt, pow10, out, pos)
                out[pos] = 58
                pos = format_units(sizes[side, i], lot_m, lot_e, sz_fmt, pow10, out, pos + 1)
                out[pos] = 58
                pos += 1
    if pos > 0:
        pos -= 1
    crc = crc32(out, pos, table)
    if crc >= 0x80000000:
        crc -= 0x100000000
    return crc


def learn_format(obs: np.ndarray, px: bool) -> int:
    """Return the number format the observations show for prices (``px``) or sizes."""
    base = OBS_PX_MIN if px else OBS_SZ_MIN
    lo, hi, trailing = int(obs[base]), int(obs[base + 1]), int(obs[base + 2])
    if obs[OBS_EXPONENT]:
        return FMT_UNKNOWN
    if hi < 0 or trailing == 0:
        return FMT_CANONICAL
    if lo == hi:
        return hi
    return FMT_UNKNOWN


def format_holds(obs: np.ndarray, px: bool, fmt: int) -> bool:
    """Return whether the strings of one message are consistent with format ``fmt``."""
    base = OBS_PX_MIN if px else OBS_SZ_MIN
    lo, hi, trailing = int(obs[base]), int(obs[base + 1]), int(obs[base + 2])
    if obs[OBS_EXPONENT]:
        return False
    if hi < 0:
        return True
    if fmt == FMT_CANONICAL:
        return trailing == 0
    return fmt >= 0 and lo == fmt and hi == fmt
