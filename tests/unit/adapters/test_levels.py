"""The one level scanner and the checksum kernel against plain-Python oracles."""

from __future__ import annotations

import zlib
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.base import InstrumentRef
from bot.adapters.wire import checksum, levels
from bot.adapters.wire.layout import SY_PX_FMT, SY_SZ_FMT
from bot.adapters.wire.tables import new_sync_table
from bot.core.book import Book, new_books
from bot.core.dtypes import EVENT_DTYPE
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import POW10, Grid, ParseStatus


def scan(text: bytes, tick: str = "0.1", lot: str = "0.001"):
    """Scan one side through ``book_sides`` (the other side empty) into a fresh book."""
    spec = InstrumentSpec(venue="okx", symbol="X", tick_size=tick, lot_size=lot)
    table = new_sync_table([InstrumentRef.of(0, spec)])
    buf = np.frombuffer(text, dtype=np.uint8)
    empty = np.frombuffer(b"[]", dtype=np.uint8)
    rows = np.zeros(levels.rows_needed(len(text)), dtype=EVENT_DTYPE)
    obs = checksum.new_observations()
    qty, state = new_books(1)
    n, status, _ = levels.book_sides(
        buf, 0, len(buf), empty, 0, 2, False, 0, 3, table, 0, 11, 12, 13, rows, 0, qty, state,
        obs, True,
    )  # fmt: skip
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
        (b'[["0","1"]]', levels.ZERO_PRICE),
        (b'[["1"]]', levels.SYNTAX),
        (b'[["1","2"]', levels.SYNTAX),
        (b'[["1","2"]] x', levels.SYNTAX),
        (b'[["1\\"","2"]]', levels.SYNTAX),
        (b"{}", levels.SYNTAX),
        (b"", levels.SYNTAX),
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
    end = checksum.format_units(units, g.mantissa, g.exponent, fmt, POW10, out, 0)
    text = bytes(out[:end]).decode()
    value = Decimal(units) * Decimal(grid)
    assert Decimal(text) == value
    frac = text.partition(".")[2]
    if fmt == checksum.FMT_CANONICAL:
        assert not frac.endswith("0")
        assert "." not in text or frac
    elif len(format(value.normalize(), "f").partition(".")[2]) <= fmt:
        assert len(frac) == fmt


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_crc32_matches_zlib(data):
    buf = np.frombuffer(data, dtype=np.uint8) if data else np.zeros(0, dtype=np.uint8)
    assert checksum.crc32(buf, len(data), checksum.CRC_TABLE) == zlib.crc32(data)


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
    spec = InstrumentSpec(venue="okx", symbol="X", tick_size=tick.text, lot_size=lot.text)
    table = new_sync_table([InstrumentRef.of(0, spec)])
    table[0, SY_PX_FMT] = checksum.FMT_CANONICAL
    table[0, SY_SZ_FMT] = checksum.FMT_CANONICAL
    actual = checksum.book_checksum(book.qty, book.state, table, 0, checksum.new_scratch())
    assert actual == expected


def test_format_is_learnt_from_the_wire():
    _, _, canonical = scan(b'[["30244","0.08"],["30243.5","1.44679"]]')
    assert checksum.learn_format(canonical, px=True) == checksum.FMT_CANONICAL
    assert checksum.learn_format(canonical, px=False) == checksum.FMT_CANONICAL
    _, _, fixed = scan(b'[["9.970","67"],["10.001","5"]]', tick="0.001", lot="1")
    assert checksum.learn_format(fixed, px=True) == 3
    assert checksum.format_holds(fixed, True, 3)
    assert not checksum.format_holds(fixed, True, checksum.FMT_CANONICAL)
    _, _, mixed = scan(b'[["9.970","67"],["10.01","5"]]', tick="0.001", lot="1")
    assert checksum.learn_format(mixed, px=True) == checksum.FMT_UNKNOWN
