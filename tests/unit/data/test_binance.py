"""Binance public-data CSV: layouts with and without header, ms/µs, sorting, bookTicker as BBO."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bot.core.dtypes import EventFlag, EventKind
from bot.core.instruments import InstrumentSpec, parse_specs
from bot.data.binance import detect_layout, symbol_from_name
from bot.data.convert import convert, detect_format
from bot.data.csvscan import ConvertError
from bot.data.eventfile import read_event_file
from tests.unit.data.conftest import write_csv
from tests.unit.data.naive import replay

SPOT = parse_specs(
    [
        {"venue": "sim", "symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.00001"},
        {"venue": "sim", "symbol": "FLMBTC", "tick_size": "0.00000001", "lot_size": "1"},
    ]
)
UM = parse_specs(
    [
        {"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001"},
        {"venue": "binance-usdm", "symbol": "ETHUSDT", "tick_size": "0.01", "lot_size": "0.001"},
        {"venue": "binance-usdm", "symbol": "OMGUSDT", "tick_size": "0.0001", "lot_size": "0.1"},
    ]
)


def _convert(tmp_path: Path, specs: list[InstrumentSpec], src: Path, **kw: object) -> np.ndarray:
    out = tmp_path / "out.events"
    convert([src], out, specs, **kw)  # type: ignore[arg-type]
    return np.array(read_event_file(out).events)


def test_um_aggtrades_with_header_are_sorted_by_time(tmp_path: Path, fixtures: Path):
    src = fixtures / "binance_um_aggTrades_BTCUSDT_2023-05_monthly_excerpt.csv"
    assert detect_format(src) == "binance-aggtrades"
    ev = _convert(tmp_path, UM, src, symbol="BTCUSDT")
    assert ev.shape == (10,)
    # the file interleaves 2023-05-01 and 2023-05-30 rows; the output is in time order
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)
    assert list(ev["aux"][:5]) == [1715206948, 1715206949, 1715206950, 1715206951, 1715206952]
    # 1715206948,29223.0,0.639,...,1682899200101,false  -> taker bought
    assert ev[0]["kind"] == EventKind.TRADE_BUY
    assert (ev[0]["price_tick"], ev[0]["qty_lot"]) == (292230, 639)
    assert ev[0]["ts_exch_ns"] == ev[0]["ts_local_ns"] == 1682899200101 * 10**6
    # 1715206951,29223.5,0.012,...,true -> buyer was maker -> taker sold
    assert ev[3]["kind"] == EventKind.TRADE_SELL
    assert np.all(ev["flags"] & EventFlag.BATCH_END)


def test_spot_aggtrades_headerless_eight_columns(tmp_path: Path, fixtures: Path):
    src = fixtures / "binance_spot_aggTrades_BTCUSDT_2021-12-14_tail.csv"
    ev = _convert(tmp_path, SPOT, src, symbol="BTCUSDT")
    assert ev.shape == (10,)
    # 1031427002,47319.84000000,0.02736000,...,1639474150066,True,True
    assert (ev[0]["price_tick"], ev[0]["qty_lot"]) == (4731984, 2736)
    assert ev[0]["kind"] == EventKind.TRADE_SELL
    assert ev[2]["kind"] == EventKind.TRADE_BUY  # ...,False,True
    assert ev[0]["ts_exch_ns"] == 1639474150066 * 10**6


def test_um_trades_and_spot_trades_headerless(tmp_path: Path, fixtures: Path):
    um = _convert(
        tmp_path,
        UM,
        fixtures / "binance_um_trades_OMGUSDT_2021-04-08_excerpt.csv",
        symbol="OMGUSDT",
    )
    # 51254697,9.96,18.8,187.248,1617840001352,false
    assert list(um[["kind", "price_tick", "qty_lot", "aux"]].tolist()) == [
        (4, 99600, 188, 51254697)
    ]
    assert um[0]["instrument"] == 2
    spot = _convert(
        tmp_path,
        SPOT,
        fixtures / "binance_spot_trades_FLMBTC_2020-10-01_excerpt.csv",
        symbol="FLMBTC",
    )
    # 252195,0.00005717,383.00000000,0.02189611,1601560817800,False,True
    assert spot[["kind", "price_tick", "qty_lot", "aux"]].tolist() == [(4, 5717, 383, 252195)]
    assert spot[0]["ts_exch_ns"] == 1601560817800 * 10**6


def test_header_and_no_header_give_the_same_events(tmp_path: Path):
    rows = ["5,100.1,0.002,0.2002,1700000000000,true", "6,100.2,0.001,0.1002,1700000000005,false"]
    bare = write_csv(tmp_path / "BTCUSDT-trades-2023-11-14.csv", rows)
    header = "id,price,qty,quote_qty,time,is_buyer_maker"
    with_header = write_csv(tmp_path / "BTCUSDT-trades-2023-11-15.csv", [header, *rows])
    a = _convert(tmp_path, UM, bare)
    b = _convert(tmp_path, UM, with_header)
    assert np.array_equal(a, b)
    assert list(a["kind"]) == [EventKind.TRADE_SELL, EventKind.TRADE_BUY]


def test_microsecond_and_millisecond_times_agree(tmp_path: Path):
    ms = write_csv(tmp_path / "ms.csv", ["1,100.00,0.001,1,1,1735689600010,False,True"])
    us = write_csv(tmp_path / "us.csv", ["1,100.00,0.001,1,1,1735689600010866,False,True"])
    a = _convert(tmp_path, SPOT, ms, symbol="BTCUSDT")
    b = _convert(tmp_path, SPOT, us, symbol="BTCUSDT")
    assert a[0]["ts_exch_ns"] == 1735689600010 * 10**6
    assert b[0]["ts_exch_ns"] == 1735689600010866 * 10**3


def test_book_ticker_rows_are_bbo_rows_never_book_rows(tmp_path: Path, fixtures: Path):
    src = tmp_path / "ETHUSDT-bookTicker-2024-01-15.csv"
    shutil.copy(fixtures / "binance_um_bookTicker_ETHUSDT_2024-01-15_excerpt.csv", src)
    ev = _convert(tmp_path, UM, src)  # symbol from the official file name
    assert np.all(ev["instrument"] == 1)
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)
    assert set(ev["kind"].tolist()) == {EventKind.BBO_BID, EventKind.BBO_ASK}
    # first row: 3831603310013,2474.30,6.009,2474.31,44.757,1705276800000,1705276800005
    assert ev[0]["ts_exch_ns"] == 1705276800000 * 10**6
    assert ev[0]["ts_local_ns"] == 1705276800005 * 10**6
    assert (ev[0]["price_tick"], ev[0]["qty_lot"]) == (247430, 6009)
    # last row in time: 3835812361675,2535.78,57.384,2535.79,14.668,...
    assert (ev[-2]["price_tick"], ev[-2]["qty_lot"]) == (253578, 57384)
    assert (ev[-1]["price_tick"], ev[-1]["qty_lot"]) == (253579, 14668)
    book = replay(ev)  # BBO rows never reach a book
    assert book.top(1, 0, 5) == []
    assert book.top(1, 1, 5) == []


def test_feed_latency_shifts_local_time(tmp_path: Path, fixtures: Path):
    src = fixtures / "binance_spot_aggTrades_BTCUSDT_2021-12-14_tail.csv"
    ev = _convert(tmp_path, SPOT, src, symbol="BTCUSDT", feed_latency_ns=3_000_000)
    assert np.all(ev["ts_local_ns"] - ev["ts_exch_ns"] == 3_000_000)


def test_unordered_rows_are_sorted_across_spilled_runs(tmp_path: Path):
    rng = np.random.default_rng(4)
    n = 3000
    ids = np.arange(1, n + 1)
    times = 1_700_000_000_000 + ids // 3  # several trades share a millisecond
    order = rng.permutation(n)
    rows = [f"{ids[i]},{100 + ids[i] % 7}.5,0.00{1 + ids[i] % 9},1,{times[i]},true" for i in order]
    src = write_csv(tmp_path / "BTCUSDT-trades-2023-11-14.csv", rows)
    ev = _convert(tmp_path, UM, src, chunk_bytes=2048)  # ~50 runs spilled and merged
    assert list(ev["aux"]) == list(ids)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tickbot-runs")]


def test_layout_detection_from_first_line():
    assert detect_layout(b"1,2.0,3,4,1700000000000,true").dataset == "trades"
    assert detect_layout(b"1,2.0,3,4.0,1700000000000,True,True").dataset == "trades"
    assert detect_layout(b"1,2.0,3,4,5,1700000000000,true").dataset == "aggTrades"
    assert detect_layout(b"1,2.0,3,4,5,1700000000000,True,True").dataset == "aggTrades"
    assert detect_layout(b"1,2.0,3,4.0,5,1700000000000,1700000000001").dataset == "bookTicker"
    header = b"update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,"
    header += b"transaction_time,event_time"
    assert detect_layout(header).dataset == "bookTicker"
    with pytest.raises(ValueError, match="unrecognised"):
        detect_layout(b"open_time,open,high,low,close")
    assert symbol_from_name(Path("BTCUSD_PERP-aggTrades-2023-10.zip")) == (
        "BTCUSD_PERP",
        "aggTrades",
    )


def test_zip_archives_are_read(tmp_path: Path, fixtures: Path):
    import zipfile

    src = tmp_path / "BTCUSDT-aggTrades-2021-12-14.zip"
    with zipfile.ZipFile(src, "w") as archive:
        archive.write(
            fixtures / "binance_spot_aggTrades_BTCUSDT_2021-12-14_tail.csv",
            "BTCUSDT-aggTrades-2021-12-14.csv",
        )
    ev = _convert(tmp_path, SPOT, src)
    assert ev.shape == (10,)


def test_errors(tmp_path: Path, fixtures: Path):
    off = write_csv(
        tmp_path / "BTCUSDT-trades-2023-11-14.csv", ["5,100.15,0.002,0.2,1700000000000,true"]
    )
    with pytest.raises(
        ConvertError,
        match=r"2023-11-14\.csv:1: price '100\.15' is not on the grid tick_size 0\.1 of BTCUSDT",
    ):
        _convert(tmp_path, UM, off)
    anon = fixtures / "binance_spot_aggTrades_BTCUSDT_2021-12-14_tail.csv"
    with pytest.raises(ConvertError, match="pass --symbol"):
        _convert(tmp_path, SPOT, anon)
    with pytest.raises(ConvertError, match="unknown instrument DOGEUSDT"):
        _convert(tmp_path, SPOT, anon, symbol="DOGEUSDT")
    with pytest.raises(ConvertError, match="looks like binance-aggtrades, not binance-bookticker"):
        _convert(tmp_path, SPOT, anon, symbol="BTCUSDT", fmt="binance-bookticker")
    short = write_csv(
        tmp_path / "BTCUSDT-trades-2023-11-15.csv",
        ["5,100.1,0.002,0.2,1700000000000,true", "6,100.1"],
    )
    with pytest.raises(ConvertError, match=r":2: expected 6 fields"):
        _convert(tmp_path, UM, short)


def test_book_ticker_with_header_equals_without(tmp_path: Path, fixtures: Path):
    rows = (fixtures / "binance_um_bookTicker_ETHUSDT_2024-01-15_excerpt.csv").read_text()
    bare = tmp_path / "ETHUSDT-bookTicker-2024-01-15.csv"
    bare.write_text(rows)
    headed = tmp_path / "ETHUSDT-bookTicker-2024-01-16.csv"
    header = "update_id,best_bid_price,best_bid_qty,best_ask_price,best_ask_qty,"
    headed.write_text(header + "transaction_time,event_time\n" + rows)
    assert np.array_equal(_convert(tmp_path, UM, bare), _convert(tmp_path, UM, headed))


def test_truncated_gzip_is_a_clear_error(tmp_path: Path):
    rows = [f"{i},100.1,0.002,0.2,{1700000000000 + i},true" for i in range(20_000)]
    whole = write_csv(tmp_path / "BTCUSDT-trades-2023-11-14.csv.gz", rows)
    cut = tmp_path / "BTCUSDT-trades-2023-11-15.csv.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(ConvertError, match=r"2023-11-15\.csv\.gz: corrupt or truncated input"):
        _convert(tmp_path, UM, cut)
