"""The format registry and the edge cases users hit: headers, units, order, symbols, venues."""

from __future__ import annotations

import gzip
import io
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.core.dtypes import EventKind, VenueId
from bot.core.instruments import parse_specs
from bot.data import formats
from bot.data.convert import convert
from bot.data.csvscan import ConvertError
from bot.data.eventfile import read_event_file
from bot.data.inspect import book_at
from tests.unit.data.conftest import write_csv
from tests.unit.data.naive import replay

L2 = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
TRADES = "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
QUOTES = "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"
T0 = 1_700_000_000_000_000  # µs


def events(path: Path, tmp_path: Path, specs: list, **kw: object) -> tuple[np.ndarray, dict]:  # type: ignore[type-arg]
    out = tmp_path / "out.evt"
    result = convert([path] if isinstance(path, Path) else path, out, specs, **kw)  # type: ignore[arg-type]
    return read_event_file(out).events, result.inputs[0]


def test_tardis_columns_are_read_by_name_in_any_order_and_a_bom_is_ignored(
    tmp_path: Path, specs: list
) -> None:
    rows = [
        {
            "exchange": "binance-futures",
            "symbol": "BTCUSDT",
            "timestamp": T0,
            "local_timestamp": T0 + 5,
            "is_snapshot": "true",
            "side": side,
            "price": price,
            "amount": amount,
        }
        for side, price, amount in (("bid", "100.5", "2"), ("ask", "100.6", "1"))
    ]

    def write(name: str, order: list[str], prefix: bytes = b"") -> Path:
        lines = [",".join(order)] + [",".join(str(r[c]) for c in order) for r in rows]
        path = tmp_path / name
        path.write_bytes(prefix + ("\n".join(lines) + "\n").encode())
        return path

    plain = write("a.csv", L2.split(","))
    mixed = [
        "amount",
        "symbol",
        "local_timestamp",
        "side",
        "exchange",
        "price",
        "timestamp",
        "is_snapshot",
    ]
    shuffled = write("b.csv", mixed, prefix=b"\xef\xbb\xbf")
    a, _ = events(plain, tmp_path, specs)
    b, _ = events(shuffled, tmp_path, specs)
    assert np.array_equal(a, b)
    assert replay(a).top(0, 0, 5) == [(10050, 2000)]


def test_an_empty_file_says_it_is_empty(
    tmp_path: Path, specs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv.gz"
    empty.write_bytes(gzip.compress(b""))
    code = main(
        ["convert", str(empty), "--instruments", str(specs_file), "-o", str(tmp_path / "o.evt")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "empty" in err[0]


def test_nanosecond_timestamps_are_recognised_and_ms_are_refused_naming_us(
    tmp_path: Path, specs: list
) -> None:
    us = write_csv(
        tmp_path / "us.csv", [TRADES, f"binance-futures,BTCUSDT,{T0},{T0 + 1},7,buy,100,1"]
    )
    ns = write_csv(
        tmp_path / "ns.csv",
        [TRADES, f"binance-futures,BTCUSDT,{T0 * 1000},{(T0 + 1) * 1000},7,buy,100,1"],
    )
    a, _ = events(us, tmp_path, specs)
    b, _ = events(ns, tmp_path, specs)
    assert np.array_equal(a, b)
    assert a["ts_exch_ns"][0] == T0 * 1000
    ms = write_csv(
        tmp_path / "ms.csv",
        [TRADES, f"binance-futures,BTCUSDT,{T0 // 1000},{T0 // 1000},7,buy,100,1"],
    )
    with pytest.raises(ConvertError, match=r"ms.csv:2: timestamp \d+ is not a time in µs"):
        events(ms, tmp_path, specs)


def corrupt_gzip(path: Path) -> Path:
    """Write a gzip file whose deflate stream fails with 'invalid distance too far back'."""
    text = "".join(
        f"binance-futures,BTCUSDT,{T0 + i},{T0 + i},{i},buy,100.{i % 97},1\n" for i in range(3000)
    )
    good = gzip.compress((TRADES + "\n" + text).encode(), mtime=0)
    rng = np.random.default_rng(1)
    for _ in range(5000):
        bad = bytearray(good)
        k = int(rng.integers(200, len(good) - 20))
        bad[k] ^= 1 << int(rng.integers(0, 8))
        try:
            gzip.decompress(bytes(bad))
        except zlib.error as e:
            if "invalid distance too far back" in str(e):
                path.write_bytes(bytes(bad))
                return path
        except (OSError, EOFError):
            continue
    raise AssertionError("no corruption found")


def test_a_corrupt_gzip_is_one_line_and_exit_2(
    tmp_path: Path, specs_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = corrupt_gzip(tmp_path / "bad.csv.gz")
    code = main(
        ["convert", str(bad), "--instruments", str(specs_file), "-o", str(tmp_path / "o.evt")]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1
    assert "corrupt or truncated" in err[0]
    assert "invalid distance too far back" in err[0]
    assert not (tmp_path / "o.evt").exists()


def test_symbols_selects_some_symbols_of_a_grouped_file(tmp_path: Path, specs: list) -> None:
    rows = [TRADES]
    for i, sym in enumerate(["BTCUSDT", "ETHUSDT", "XRPUSDT", "BTCUSDT"]):
        rows.append(f"binance-futures,{sym},{T0 + i},{T0 + i},{i + 1},sell,100,1")
    path = write_csv(tmp_path / "grouped.csv", rows)
    with pytest.raises(ConvertError, match="unknown instrument binance-futures:XRPUSDT"):
        events(path, tmp_path, specs)
    ev, info = events(path, tmp_path, specs, symbols=["BTCUSDT"])
    assert ev.shape[0] == 2
    assert set(ev["instrument"].tolist()) == {0}
    assert info["counts"]["other_symbols"] == 2
    assert "2 rows of symbols not selected by --symbols skipped" in info["notes"]


def test_spot_and_futures_of_one_symbol_combine_under_their_own_venues(tmp_path: Path) -> None:
    specs = parse_specs(
        [
            {"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001"},
            {
                "venue": "binance-spot",
                "symbol": "BTCUSDT",
                "tick_size": "0.01",
                "lot_size": "0.00001",
            },
            {"venue": "deribit", "symbol": "BTC-PERPETUAL", "tick_size": "0.5", "lot_size": "10"},
        ]
    )
    fut = write_csv(
        tmp_path / "f.csv", [TRADES, f"binance-futures,BTCUSDT,{T0},{T0},1,buy,100.1,0.001"]
    )
    spot = write_csv(
        tmp_path / "s.csv", [TRADES, f"binance,BTCUSDT,{T0},{T0 + 1},2,sell,100.01,0.00001"]
    )
    der = write_csv(
        tmp_path / "d.csv", [TRADES, f"deribit,BTC-PERPETUAL,{T0},{T0 + 2},3,buy,100.5,10"]
    )
    out = tmp_path / "all.evt"
    convert([fut, spot, der], out, specs)
    ev = read_event_file(out).events
    assert ev["instrument"].tolist() == [0, 1, 2]
    assert ev["venue"].tolist() == [VenueId.BINANCE_USDM, VenueId.BINANCE_SPOT, VenueId.DERIBIT]
    assert ev["price_tick"].tolist() == [1001, 10001, 201]


def test_trading_venue_numbers_are_unchanged_by_the_data_only_ids() -> None:
    assert [v.label for v in VenueId if v not in formats_venues()] == [
        "sim",
        "binance-usdm",
        "bybit",
        "okx",
        "bitget",
        "bingx",
        "bitmex",
    ]
    assert [int(v) for v in VenueId][:7] == list(range(7))


def formats_venues() -> set[VenueId]:
    from bot.core.dtypes import DATA_ONLY_VENUES

    return set(DATA_ONLY_VENUES)


def test_trades_out_of_order_are_sorted_in_the_window_and_counted(
    tmp_path: Path, specs: list
) -> None:
    times = [0, 10, 5, 20, 20, 15, 30]  # µs offsets: the collector's clock stepped back twice
    rows = [TRADES] + [
        f"binance-futures,BTCUSDT,{T0 + t},{T0 + t},{k + 1},buy,100,1" for k, t in enumerate(times)
    ]
    ev, info = events(write_csv(tmp_path / "t.csv", rows), tmp_path, specs)
    assert ev.shape[0] == len(times)  # nothing dropped
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)
    assert ev["aux"].tolist() == [1, 3, 2, 6, 4, 5, 7]  # stable: equal times keep file order
    assert info["counts"]["reordered"] == 2


def test_an_l2_stream_keeps_arrival_order_and_raises_times_that_go_back(
    tmp_path: Path, specs: list
) -> None:
    rows = [
        L2,
        f"binance-futures,BTCUSDT,{T0},{T0 + 100},true,bid,100,1",
        f"binance-futures,BTCUSDT,{T0},{T0 + 100},true,ask,101,1",
        f"binance-futures,BTCUSDT,{T0 + 1},{T0 + 50},false,bid,100,3",  # clock stepped back
        f"binance-futures,BTCUSDT,{T0 + 2},{T0 + 60},false,bid,100,4",
    ]
    ev, info = events(write_csv(tmp_path / "l2.csv", rows), tmp_path, specs)
    assert info["counts"]["clamped"] == 2
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)
    assert replay(ev).top(0, 0, 1) == [(10000, 4000)]  # the last update in the file wins


def test_duplicate_and_zero_quantity_trades_are_dropped_and_counted(
    tmp_path: Path, specs: list
) -> None:
    rows = [
        TRADES,
        f"binance-futures,BTCUSDT,{T0},{T0},11,buy,100,1",
        f"binance-futures,BTCUSDT,{T0 + 1},{T0 + 1},11,buy,100,1",
        f"binance-futures,BTCUSDT,{T0 + 2},{T0 + 2},12,sell,100,0",
        f"binance-futures,BTCUSDT,{T0 + 3},{T0 + 3},13,sell,100,2",
    ]
    ev, info = events(write_csv(tmp_path / "t.csv", rows), tmp_path, specs)
    assert ev["aux"].tolist() == [11, 13]
    assert info["counts"]["duplicate_trades"] == 1
    assert info["counts"]["zero_trades"] == 1


def test_an_l2_and_a_bbo_stream_of_one_instrument_never_share_a_book(
    tmp_path: Path, specs: list
) -> None:
    l2 = write_csv(
        tmp_path / "l2.csv",
        [
            L2,
            f"binance-futures,BTCUSDT,{T0},{T0},true,bid,100,1",
            f"binance-futures,BTCUSDT,{T0},{T0},true,ask,101,1",
        ],
    )
    quotes = write_csv(
        tmp_path / "q.csv", [QUOTES, f"binance-futures,BTCUSDT,{T0 + 1},{T0 + 1},5,102,101.5,7"]
    )  # a crossing BBO
    out = tmp_path / "both.evt"
    convert([l2, quotes], out, specs)
    book = book_at(read_event_file(out), 0)
    assert book["bids"] == [["100.00", "1.000"]]
    assert book["asks"] == [["101.00", "1.000"]]


def test_an_unknown_file_names_its_columns_and_the_formats(tmp_path: Path, specs: list) -> None:
    odd = write_csv(tmp_path / "odd.csv", ["when,what,how_much", "1,2,3"])
    with pytest.raises(ConvertError) as e:
        events(odd, tmp_path, specs)
    text = str(e.value)
    assert "when,what,how_much" in text
    assert "tardis-quotes" in text
    assert "binance-klines" in text


def test_format_alone_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["convert", "--format"]) == 0
    out = capsys.readouterr().out
    for fmt in formats.FORMATS:
        assert fmt.name in out


def klines_zip(path: Path, rows: list[str]) -> Path:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr(path.with_suffix(".csv").name, "\n".join(rows) + "\n")
    path.write_bytes(buf.getvalue())
    return path


def test_klines_zip_of_any_interval(tmp_path: Path) -> None:
    specs = parse_specs(
        [{"venue": "binance-spot", "symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.00001"}]
    )
    row = (
        "1698364800000,34151.66,34171.28,33972.39,34015.27,908.27901,1698969599999,"
        "1.0,41459,416.48838,1.0,0"
    )
    path = klines_zip(tmp_path / "BTCUSDT-1w-2023-10-27.zip", [row])
    ev, _ = events(path, tmp_path, specs)
    assert ev["kind"].tolist() == [
        EventKind.BAR_OPEN,
        EventKind.BAR_HIGH,
        EventKind.BAR_LOW,
        EventKind.BAR_CLOSE,
    ]
    assert ev["ts_local_ns"][0] == 1698969599999 * 10**6


def test_funding_rate_file(tmp_path: Path) -> None:
    specs = parse_specs(
        [{"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001"}]
    )
    path = write_csv(
        tmp_path / "BTCUSDT-fundingRate-2024-02.csv",
        [
            "calc_time,funding_interval_hours,last_funding_rate",
            "1706745600000,8,0.00010000",
            "1706774400000,8,-0.00002500",
        ],
    )
    ev, _ = events(path, tmp_path, specs)
    assert ev["kind"].tolist() == [EventKind.FUNDING_RATE] * 2
    assert ev["aux"].tolist() == [100_000, -25_000]
    assert ev["ts_exch_ns"][0] == 1706745600000 * 10**6


TDEPTH = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"


def test_t_depth_snapshot_and_updates_by_update_id(tmp_path: Path) -> None:
    specs = parse_specs(
        [{"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001"}]
    )
    snap = write_csv(
        tmp_path / "BTCUSDT_T_DEPTH_2023-01-01_depth_snap.csv",
        [
            TDEPTH,
            "BTCUSDT,1672531200000,100,200,b,snap,100.0,1.000,-1",
            "BTCUSDT,1672531200000,100,200,a,snap,100.5,2.000,-1",
        ],
    )
    upd = write_csv(
        tmp_path / "BTCUSDT_T_DEPTH_2023-01-01_depth_update.csv",
        [
            TDEPTH,
            "BTCUSDT,1672531199000,150,190,b,set,99.0,5.000,140",  # before the snapshot (in it)
            "BTCUSDT,1672531200100,195,210,b,set,100.0,3.000,190",  # first after it: U <= 201 <= u
            "BTCUSDT,1672531200200,211,220,a,set,100.5,0.000,210",
            "BTCUSDT,1672531200300,230,240,a,set,101.0,4.000,225",  # pu 225 != 220: a gap
            "BTCUSDT,1672531200400,241,250,a,set,102.0,4.000,240",
        ],
    )
    out = tmp_path / "depth.evt"
    result = convert([upd, snap], out, specs)
    counts = result.inputs[0]["counts"]
    # one row before the snapshot, two after the gap (the book waits for the next snapshot)
    assert counts["skipped_before_snapshot"] == 3
    assert counts["gaps"] == 1
    ev = read_event_file(out).events
    assert EventKind.BOOK_INVALID in ev["kind"].tolist()
    before_gap = ev[ev["ts_local_ns"] <= 1672531200200 * 10**6]
    book = replay(before_gap)
    assert book.top(0, 0, 5) == [(1000, 3000)]
    assert book.top(0, 1, 5) == []
