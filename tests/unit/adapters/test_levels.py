"""The numba level scanner and checksum kernels against plain-Python oracles."""

from __future__ import annotations

import zlib
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters import levels
from bot.core.book import Book
from bot.core.dtypes import EVENT_DTYPE
from bot.core.ticks import POW10, Grid, ParseStatus


def scan(text: bytes, tick: str = "0.1", lot: str = "0.001"):
    buf = np.frombuffer(text, dtype=np.uint8)
    rows = np.zeros(len(text) // 5 + 1, dtype=EVENT_DTYPE)
    obs = levels.new_observations()
    t, q = Grid.parse(tick), Grid.parse(lot)
    grids = (t.mantissa, t.exponent, q.mantissa, q.exponent)
    n, status = levels.scan_levels(
        buf, 0, len(buf), rows, 0, 1, 0, 3, 7, 11, 12, 13, *grids, POW10, obs
    )
    return [(int(r["price_tick"]), int(r["qty_lot"])) for r in rows[:n]], int(status), obs


def test_scan_reads_strings_numbers_and_extra_fields():
    found, status, _ = scan(b' [ ["100.5", "0.250", "0", "3"], [100.4,1] ,["99", "0"]] ')
    assert status == ParseStatus.OK
    assert found == [(1005, 250), (1004, 1000), (990, 0)]
    assert scan(b"[]")[:2] == ([], 0)


@pytest.mark.parametrize(
    ("text", "status"),
    [
        (b'[["100.55","1"]]', ParseStatus.OFF_GRID),
        (b'[["-1","1"]]', ParseStatus.NEGATIVE),
        (b'[["1e999","1"]]', ParseStatus.OVERFLOW),
        (b'[["nan","1"]]', ParseStatus.BAD_CHAR),
        (b'[["1"]]', levels.SCAN_SYNTAX),
        (b'[["1","2"]', levels.SCAN_SYNTAX),
        (b'[["1","2"]] x', levels.SCAN_SYNTAX),
        (b'[["1\\"","2"]]', levels.SCAN_SYNTAX),
        (b"{}", levels.SCAN_SYNTAX),
        (b"", levels.SCAN_SYNTAX),
    ],
)
def test_scan_rejects_bad_levels(text, status):
    assert scan(text)[1] == status


decimals = st.builds(lambda units, exp: (units, exp), st.integers(0, 10**12), st.integers(-8, 2))


@settings(max_examples=300, deadline=None)
@given(
    units=st.integers(0, 10**12),
    grid=st.sampled_from(["0.1", "0.5", "0.001", "0.00000001", "1", "100", "0.25"]),
    fmt=st.integers(-1, 9),
)
def test_format_units_matches_decimal(units, grid, fmt):
    g = Grid.parse(grid)
    out = np.zeros(64, dtype=np.uint8)
    end = levels.format_units(units, g.mantissa, g.exponent, fmt, POW10, out, 0)
    text = bytes(out[:end]).decode()
    value = Decimal(units) * Decimal(grid)
    assert Decimal(text) == value
    frac = text.partition(".")[2]
    if fmt == levels.FMT_CANONICAL:
        assert not frac.endswith("0")
        assert "." not in text or frac
    elif len(format(value.normalize(), "f").partition(".")[2]) <= fmt:
        assert len(frac) == fmt


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_crc32_matches_zlib(data):
    buf = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, dtype=np.uint8)
    assert levels.crc32(buf, len(data), levels.CRC_TABLE) == zlib.crc32(data)


@settings(max_examples=100, deadline=None)
@given(
    bids=st.dictionaries(st.integers(1, 500), st.integers(1, 10**9), max_size=40),
    asks=st.dictionaries(st.integers(501, 1000), st.integers(1, 10**9), max_size=40),
)
def test_book_checksum_matches_the_venue_definition(bids, asks):
    tick, lot = Grid.parse("0.5"), Grid.parse("0.0001")
    book = Book(1, window=2048)
    for px, sz in bids.items():
        book.set(0, px, sz)
    for px, sz in asks.items():
        book.set(1, px, sz)
    best_bids = sorted(bids.items(), reverse=True)[:25]
    best_asks = sorted(asks.items())[:25]
    parts = []
    for i in range(25):
        for side in (best_bids, best_asks):
            if i < len(side):
                px, sz = side[i]
                parts += [format((Decimal(px) * Decimal("0.5")).normalize(), "f"),
                          format((Decimal(sz) * Decimal("0.0001")).normalize(), "f")]  # fmt: skip
    crc = zlib.crc32(":".join(parts).encode())
    expected = crc - (1 << 32) if crc >= 1 << 31 else crc
    scratch = np.zeros((2, 25), dtype=np.int64), np.zeros((2, 25), dtype=np.int64)
    text = np.zeros(levels.CHECKSUM_BUFFER, dtype=np.uint8)
    actual = levels.book_checksum(book.qty, book.state, 0, tick.mantissa, tick.exponent,
                                  lot.mantissa, lot.exponent, levels.FMT_CANONICAL,
                                  levels.FMT_CANONICAL, POW10, levels.CRC_TABLE,
                                  scratch[0], scratch[1], text)  # fmt: skip
    assert actual == expected


def test_format_is_learnt_from_the_wire():
    _, _, canonical = scan(b'[["30244","0.08"],["30243.5","1.44679"]]')
    assert levels.learn_format(canonical, px=True) == levels.FMT_CANONICAL
    assert levels.learn_format(canonical, px=False) == levels.FMT_CANONICAL
    _, _, fixed = scan(b'[["9.970","67"],["10.001","5"]]', tick="0.001", lot="1")
    assert levels.learn_format(fixed, px=True) == 3
    assert levels.format_holds(fixed, True, 3)
    assert not levels.format_holds(fixed, True, levels.FMT_CANONICAL)
    _, _, mixed = scan(b'[["9.970","67"],["10.01","5"]]', tick="0.001", lot="1")
    assert levels.learn_format(mixed, px=True) == levels.FMT_UNKNOWN
