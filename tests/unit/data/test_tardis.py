"""tardis.dev CSV: snapshot semantics, trades, merging, exact values and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentSpec
from bot.data.convert import convert
from bot.data.csvscan import ConvertError
from bot.data.eventfile import read_event_file
from tests.unit.data.conftest import write_csv
from tests.unit.data.naive import replay

HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
BTC, ETH, PERP = 0, 1, 2


def _book(path: Path, rows: list[str]) -> Path:
    return write_csv(path, [HEADER, *rows])


def _convert(
    tmp_path: Path, specs: list[InstrumentSpec], *inputs: Path, **kw: object
) -> np.ndarray:
    out = tmp_path / "out.events"
    convert(list(inputs), out, specs, **kw)  # type: ignore[arg-type]
    return np.array(read_event_file(out).events)


def _levels(book, inst: int, side: int) -> list[tuple[int, int]]:
    return book.top(inst, side, 100)


def test_real_deribit_snapshot_sample(tmp_path: Path, specs, fixtures: Path):
    src = fixtures / "tardis_deribit_incremental_book_L2_BTC-PERPETUAL_2020-04-01.csv.gz"
    ev = _convert(tmp_path, specs, src)
    assert ev.shape == (16,)
    assert ev[0]["kind"] == EventKind.BOOK_CLEAR
    assert np.all(ev["kind"][1:] == EventKind.BOOK_ASK)
    assert np.all(ev["flags"] & EventFlag.SNAPSHOT)
    assert np.all(ev["instrument"] == PERP)
    assert ev[0]["ts_exch_ns"] == 1585699200245000000
    assert ev[0]["ts_local_ns"] == 1585699200355684000
    # 6421.5 on a 0.5 grid is 12843 ticks; 18640 contracts on a 10 lot is 1864 lots
    assert (ev[1]["price_tick"], ev[1]["qty_lot"]) == (12843, 1864)
    # one message: only its last row ends the batch
    assert [bool(f & EventFlag.BATCH_END) for f in ev["flags"]] == [False] * 15 + [True]


def test_snapshot_rules(tmp_path: Path, specs):
    src = _book(
        tmp_path / "book.csv.gz",
        [
            # buffered diffs before the first snapshot: skipped
            "binance-futures,BTCUSDT,100,1000,false,bid,9.0,1",
            # start-of-day snapshot (one message)
            "binance-futures,BTCUSDT,200,2000,true,bid,10.0,1",
            "binance-futures,BTCUSDT,200,2000,true,bid,9.9,2",
            "binance-futures,BTCUSDT,200,2000,true,ask,10.1,3",
            "binance-futures,BTCUSDT,200,2000,true,ask,10.3,0",  # zero in a snapshot: absent
            # diffs: update, new level, delete, delete of an unknown level
            "binance-futures,BTCUSDT,300,3000,false,bid,10.0,5",
            "binance-futures,BTCUSDT,300,3000,false,ask,10.2,4",
            "binance-futures,BTCUSDT,310,3100,false,bid,9.9,0",
            "binance-futures,BTCUSDT,310,3100,false,ask,11.0,0",
        ],
    )
    ev = _convert(tmp_path, specs, src)
    book = replay(ev)
    assert _levels(book, BTC, 0) == [(1000, 5000)]
    assert _levels(book, BTC, 1) == [(1010, 3000), (1020, 4000)]
    assert ev[0]["kind"] == EventKind.BOOK_CLEAR
    assert ev[0]["ts_local_ns"] == 2_000_000
    assert len(ev) == 1 + 3 + 4  # skipped diff and the zero snapshot row are not written
    ends = [bool(f & EventFlag.BATCH_END) for f in ev["flags"]]
    assert ends == [False, False, False, True, False, True, False, True]


def test_snapshot_after_diffs_resets_both_sides(tmp_path: Path, specs):
    src = _book(
        tmp_path / "book.csv",
        [
            "bybit,BTCUSDT,200,2000,true,bid,10.0,1",
            "bybit,BTCUSDT,200,2000,true,ask,10.2,1",
            "bybit,BTCUSDT,300,3000,false,bid,9.5,7",
            "bybit,BTCUSDT,300,3000,false,ask,10.9,7",
            # mid-day snapshot after a reconnect: the old levels must be gone
            "bybit,BTCUSDT,400,4000,true,bid,20.0,2",
            "bybit,BTCUSDT,400,4000,true,ask,20.1,2",
        ],
    )
    ev = _convert(tmp_path, specs, src)
    assert list(ev["kind"]).count(EventKind.BOOK_CLEAR) == 2
    book = replay(ev)
    assert _levels(book, BTC, 0) == [(2000, 2000)]
    assert _levels(book, BTC, 1) == [(2010, 2000)]


def test_consecutive_snapshots_with_new_timestamp_reset(tmp_path: Path, specs):
    src = _book(
        tmp_path / "book.csv",
        [
            "okex-swap,BTCUSDT,200,2000,true,bid,10.0,1",
            "okex-swap,BTCUSDT,200,2000,true,ask,10.2,1",
            # every message a full snapshot: a new exchange timestamp starts a new one
            "okex-swap,BTCUSDT,201,2010,true,bid,10.1,3",
            "okex-swap,BTCUSDT,201,2010,true,ask,10.3,3",
            # same timestamp, later arrival: still the same snapshot
            "okex-swap,BTCUSDT,201,2020,true,ask,10.4,5",
        ],
    )
    ev = _convert(tmp_path, specs, src)
    assert list(ev["kind"]).count(EventKind.BOOK_CLEAR) == 2
    book = replay(ev)
    assert _levels(book, BTC, 0) == [(1010, 3000)]
    assert _levels(book, BTC, 1) == [(1030, 3000), (1040, 5000)]


def test_grouped_file_keeps_state_per_symbol(tmp_path: Path, specs):
    src = _book(
        tmp_path / "grouped.csv",
        [
            "binance-futures,BTCUSDT,200,2000,true,bid,10.0,1",
            "binance-futures,ETHUSDT,200,2000,false,bid,1.00,9",  # ETH has no snapshot yet
            "binance-futures,ETHUSDT,250,2500,true,bid,1.01,2",
            "binance-futures,BTCUSDT,260,2600,false,bid,10.0,4",  # BTC diff, not a new snapshot
            "binance-futures,ETHUSDT,270,2700,true,ask,1.02,2",  # new ETH snapshot (ts changed)
        ],
    )
    out = tmp_path / "out.events"
    result = convert([src], out, specs)
    ev = np.array(read_event_file(out).events)
    assert result.inputs[0]["skipped_before_snapshot"] == 1
    assert set(ev["instrument"]) == {BTC, ETH}
    assert set(ev["venue"]) == {VenueId.BINANCE_USDM}
    book = replay(ev)
    assert _levels(book, BTC, 0) == [(1000, 4000)]
    assert _levels(book, ETH, 0) == []
    assert _levels(book, ETH, 1) == [(102, 2000)]


def test_real_trades_sample(tmp_path: Path, specs, fixtures: Path):
    ev = _convert(
        tmp_path, specs, fixtures / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"
    )
    assert ev.shape == (3000,)
    first = ev[0]
    # binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132
    assert first["kind"] == EventKind.TRADE_BUY
    assert (first["price_tick"], first["qty_lot"]) == (968200, 132)
    assert (first["ts_exch_ns"], first["ts_local_ns"]) == (1582329602111000000, 1582329602418379000)
    assert first["aux"] == 42377944
    assert set(ev["kind"]) == {EventKind.TRADE_BUY, EventKind.TRADE_SELL}
    assert np.all(ev["flags"] & EventFlag.BATCH_END)
    assert np.all(np.diff(ev["aux"]) == 1)  # ids are contiguous in this sample


def test_trade_sides_and_string_ids(tmp_path: Path, specs):
    src = write_csv(
        tmp_path / "trades.csv",
        [
            TRADES,
            "bitmex,BTCUSDT,10,20,00000000-006d-1000-0000-0009b2b2c4a6,sell,100.5,0.002",
            "bitmex,BTCUSDT,11,21,,unknown,100.6,0.001",
        ],
    )
    ev = _convert(tmp_path, specs, src)
    assert list(ev["kind"]) == [EventKind.TRADE_SELL, EventKind.TRADE_UNKNOWN]
    assert list(ev["aux"]) == [0, 0]


def test_inputs_merge_by_local_timestamp(tmp_path: Path, specs):
    book = _book(
        tmp_path / "book.csv.gz",
        [
            "binance-futures,BTCUSDT,100,1000,true,bid,10.0,1",
            "binance-futures,BTCUSDT,100,1000,true,ask,10.1,1",
            "binance-futures,BTCUSDT,290,3000,false,bid,10.0,2",
        ],
    )
    trades = write_csv(
        tmp_path / "trades.csv",
        [
            TRADES,
            "binance-futures,BTCUSDT,150,500,1,buy,10.1,0.001",
            "binance-futures,BTCUSDT,250,1000,2,sell,10.0,0.001",
            "binance-futures,BTCUSDT,280,2000,3,buy,10.1,0.001",
        ],
    )
    ev = _convert(tmp_path, specs, book, trades)
    assert list(ev["ts_local_ns"] // 1000) == [500, 1000, 1000, 1000, 1000, 2000, 3000]
    # equal local times: the earlier input first, and its message stays in one piece
    K = EventKind
    kinds = [
        K.TRADE_BUY,
        K.BOOK_CLEAR,
        K.BOOK_BID,
        K.BOOK_ASK,
        K.TRADE_SELL,
        K.TRADE_BUY,
        K.BOOK_BID,
    ]
    assert list(ev["kind"]) == kinds
    assert [bool(f & EventFlag.BATCH_END) for f in ev["flags"]] == [1, 0, 0, 1, 1, 1, 1]


def test_small_read_blocks_give_the_same_file(tmp_path: Path, specs, fixtures: Path):
    src = fixtures / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"
    one = _convert(tmp_path, specs, src)
    many = _convert(tmp_path, specs, src, chunk_bytes=100)
    assert np.array_equal(one, many)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "binance-futures,BTCUSDT,1,2,true,bid,10.005,1",
            r"book\.csv:2: price '10\.005' is not on the grid tick_size 0\.01 of BTCUSDT",
        ),
        (
            "binance-futures,BTCUSDT,1,2,true,bid,10.0,0.0005",
            r"book\.csv:2: amount '0\.0005' is not on the grid lot_size 0\.001 of BTCUSDT",
        ),
        (
            "binance-futures,XRPUSDT,1,2,true,bid,10.0,1",
            r"book\.csv:2: unknown instrument binance-futures:XRPUSDT",
        ),
        ("binance-futures,BTCUSDT,1,2,maybe,bid,10.0,1", r"book\.csv:2: bad is_snapshot 'maybe'"),
        ("binance-futures,BTCUSDT,1,2,true,mid,10.0,1", r"book\.csv:2: bad side 'mid'"),
        ("binance-futures,BTCUSDT,1,2,true,bid,10.0", r"book\.csv:2: expected 8 fields"),
        ("binance-futures,BTCUSDT,1,x2,true,bid,10.0,1", r"book\.csv:2: bad local_timestamp 'x2'"),
        (
            "binance-futures,BTCUSDT,1,2,true,bid,-10.0,1",
            r"book\.csv:2: price '-10\.0' is negative",
        ),
    ],
)
def test_bad_rows_name_file_line_value_and_grid(tmp_path: Path, specs, row: str, message: str):
    src = _book(tmp_path / "book.csv", [row])
    with pytest.raises(ConvertError, match=message):
        _convert(tmp_path, specs, src)
    assert not (tmp_path / "out.events").exists()


def test_local_time_going_back_keeps_arrival_order_and_is_counted(tmp_path: Path, specs):
    src = _book(
        tmp_path / "book.csv",
        [
            "binance-futures,BTCUSDT,1,5,true,bid,10.0,1",
            "binance-futures,BTCUSDT,1,4,true,bid,9.0,1",
        ],
    )
    out = tmp_path / "out.events"
    result = convert([src], out, specs)
    assert result.inputs[0]["counts"]["clamped"] == 1  # the clock stepped back: time raised
    ev = read_event_file(out).events
    assert ev["ts_local_ns"].tolist() == [5000, 5000, 5000]  # clear + two levels, in file order
    assert replay(ev).top(0, 0, 5) == [(1000, 1000), (900, 1000)]


def test_no_specs_is_a_clear_error(tmp_path: Path, fixtures: Path):
    src = fixtures / "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"
    with pytest.raises(ConvertError, match="pass --instruments"):
        convert([src], tmp_path / "o.events", [])


def test_every_row_a_new_snapshot_overflows_no_buffer(tmp_path: Path, specs):
    # each row resets the book (new timestamp), so a block writes two rows per line
    rows = [f"okex-swap,BTCUSDT,{t},{t},true,bid,{100 + t}.00,1" for t in range(1, 301)]
    ev = _convert(tmp_path, specs, _book(tmp_path / "snaps.csv", rows))
    assert list(ev["kind"]).count(EventKind.BOOK_CLEAR) == 300
    assert ev.shape == (600,)
    assert replay(ev).top(BTC, 0, 5) == [(40000, 1000)]
