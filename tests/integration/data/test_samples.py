"""Every real sample of ../shared/data-formats converts and inspects to what its README says.

The samples are read in place (``tests.support.shared``); each test also re-reads the CSV with
``csv`` and ``Decimal`` (an independent parse) and compares values row by row.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.core.dtypes import EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentSpec, parse_specs
from bot.data.convert import convert
from bot.data.eventfile import read_event_file
from bot.data.inspect import book_at
from tests.support.shared import shared_path


def sample(name: str) -> Path:
    """Return a data-format sample (skip when ../shared is absent)."""
    return shared_path("data-formats", "samples", name)


def rows_of(path: Path, header: bool = True) -> list[dict[str, str]] | list[list[str]]:
    """Return the CSV rows of a sample, as dicts with a header, else as lists."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as f:  # type: ignore[operator]
        text = f.read()
    if header:
        return list(csv.DictReader(io.StringIO(text)))
    return [r for r in csv.reader(io.StringIO(text)) if r]


def spec(venue: str, symbol: str, tick: str, lot: str) -> list[InstrumentSpec]:
    """Return a one-instrument spec list."""
    return parse_specs([{"venue": venue, "symbol": symbol, "tick_size": tick, "lot_size": lot}])


def units(value: str, grid: str) -> int:
    """Return ``value`` in units of ``grid`` (exactly)."""
    q = Decimal(value) / Decimal(grid)
    assert q == q.to_integral_value()
    return int(q)


def run(tmp_path: Path, name: str, specs: list[InstrumentSpec], **kw: object) -> np.ndarray:
    """Convert one sample; return its events."""
    out = tmp_path / "out.evt"
    convert([sample(name)], out, specs, **kw)  # type: ignore[arg-type]
    return read_event_file(out).events


TARDIS_BTC = ("binance-usdm", "BTCUSDT", "0.01", "0.001")


def test_tardis_trades(tmp_path: Path) -> None:
    name = "tardis_binance-futures_trades_BTCUSDT_2020-02-22.csv.gz"
    ev = run(tmp_path, name, spec(*TARDIS_BTC))
    want = rows_of(sample(name))
    assert len(want) == 3000
    assert ev.shape[0] == 3000
    assert [int(r["id"]) for r in want] == ev["aux"].tolist()
    assert np.all(np.diff(ev["aux"]) == 1)  # contiguous ids, as the README says
    kinds = [EventKind.TRADE_BUY if r["side"] == "buy" else EventKind.TRADE_SELL for r in want]
    assert ev["kind"].tolist() == kinds
    assert ev["price_tick"].tolist() == [units(r["price"], "0.01") for r in want]
    assert ev["qty_lot"].tolist() == [units(r["amount"], "0.001") for r in want]
    assert ev["ts_exch_ns"][0] == 1582329602111000 * 1000
    assert ev["venue"][0] == VenueId.BINANCE_USDM


def test_tardis_quotes_are_bbo_rows_that_never_build_a_book(tmp_path: Path) -> None:
    name = "tardis_binance-futures_quotes_BTCUSDT_2020-02-22.csv.gz"
    out = tmp_path / "q.evt"
    convert([sample(name)], out, spec(*TARDIS_BTC))
    ev = read_event_file(out).events
    want = rows_of(sample(name))
    assert len(want) == 3000
    assert ev.shape[0] == 6000
    bid, ask = ev[ev["kind"] == EventKind.BBO_BID], ev[ev["kind"] == EventKind.BBO_ASK]
    assert bid["price_tick"].tolist() == [units(r["bid_price"], "0.01") for r in want]
    assert ask["price_tick"].tolist() == [units(r["ask_price"], "0.01") for r in want]
    assert ask["qty_lot"].tolist() == [units(r["ask_amount"], "0.001") for r in want]
    latency_us = (ev["ts_local_ns"][0] - ev["ts_exch_ns"][0]) // 1000
    assert latency_us == 1582329603502092 - 1582329601096000  # the 2.4 s first quote
    book = book_at(read_event_file(out), 0, levels=5)
    assert book["bids"] == []
    assert book["asks"] == []


def snapshot_levels(row: dict[str, str], side: str, n: int) -> list[list[str]]:
    """Return the ``n`` levels of a book_snapshot row as normalised decimal strings."""
    levels = []
    for i in range(n):
        price, amount = row[f"{side}[{i}].price"], row[f"{side}[{i}].amount"]
        if price and amount and Decimal(amount) != 0:
            levels.append([price, amount])
    return levels


def same(got: list[list[str]], want: list[list[str]]) -> bool:
    """Compare book levels by decimal value (the book prints on the grid's decimals)."""
    return [[Decimal(p), Decimal(q)] for p, q in got] == [[Decimal(p), Decimal(q)] for p, q in want]


@pytest.mark.parametrize("levels", [5, 25])
def test_tardis_book_snapshots_replace_the_book_every_row(tmp_path: Path, levels: int) -> None:
    name = f"tardis_binance-futures_book_snapshot_{levels}_BTCUSDT_2020-09-01.csv.gz"
    out = tmp_path / "s.evt"
    convert([sample(name)], out, spec(*TARDIS_BTC))
    opened = read_event_file(out)
    want = rows_of(sample(name))
    assert len(want) == 10
    assert int((opened.events["kind"] == EventKind.BOOK_CLEAR).sum()) == 10
    for row in want:
        at = int(row["local_timestamp"]) * 1000
        book = book_at(opened, 0, at, levels)
        assert same(book["bids"], snapshot_levels(row, "bids", levels))
        assert same(book["asks"], snapshot_levels(row, "asks", levels))


def test_tardis_book_snapshot_5_is_the_top_of_25(tmp_path: Path) -> None:
    five = {
        (r["timestamp"], r["local_timestamp"]): r
        for r in rows_of(sample("tardis_binance-futures_book_snapshot_5_BTCUSDT_2020-09-01.csv.gz"))
    }
    name = "tardis_binance-futures_book_snapshot_25_BTCUSDT_2020-09-01.csv.gz"
    out = tmp_path / "s.evt"
    convert([sample(name)], out, spec(*TARDIS_BTC))
    opened = read_event_file(out)
    shared = [r for r in rows_of(sample(name)) if (r["timestamp"], r["local_timestamp"]) in five]
    assert shared
    for row in shared:
        book = book_at(opened, 0, int(row["local_timestamp"]) * 1000, 5)
        assert same(
            book["asks"],
            snapshot_levels(five[(row["timestamp"], row["local_timestamp"])], "asks", 5),
        )


def test_tardis_deribit_l2_start_of_day_snapshot(tmp_path: Path) -> None:
    name = "tardis_deribit_incremental_book_L2_BTC-PERPETUAL_2020-04-01.csv.gz"
    specs = spec("deribit", "BTC-PERPETUAL", "0.5", "10")
    out = tmp_path / "l2.evt"
    convert([sample(name)], out, specs)
    opened = read_event_file(out)
    ev = opened.events
    want = rows_of(sample(name))
    assert len(want) == 15
    assert all(r["side"] == "ask" and r["is_snapshot"] == "true" for r in want)
    assert ev["kind"][0] == EventKind.BOOK_CLEAR
    assert ev.shape[0] == 16
    assert np.all(ev["flags"][1:] & EventFlag.SNAPSHOT)
    assert int((ev["flags"] & EventFlag.BATCH_END).astype(bool).sum()) == 1  # one message
    assert ev["venue"][0] == VenueId.DERIBIT
    book = book_at(opened, 0, levels=100)
    asks = sorted((Decimal(r["price"]), Decimal(r["amount"])) for r in want)
    assert [(Decimal(p), Decimal(q)) for p, q in book["asks"]] == asks
    assert book["bids"] == []


def test_tardis_derivative_ticker_rows_only_when_a_value_changes(tmp_path: Path) -> None:
    name = "tardis_okex-swap_derivative_ticker_BTC-USDC-SWAP_2023-04-01_and_2023-05-01.csv.gz"
    ev = run(tmp_path, name, spec("okx", "BTC-USDC-SWAP", "0.1", "1"))
    want = rows_of(sample(name))
    assert len(want) == 6
    marks = ev[ev["kind"] == EventKind.MARK_PRICE]
    changed = [
        r for k, r in enumerate(want) if k == 0 or r["mark_price"] != want[k - 1]["mark_price"]
    ]
    assert marks["price_tick"].tolist() == [units(r["mark_price"], "0.1") for r in changed]
    funding = ev[ev["kind"] == EventKind.FUNDING_RATE]
    first = Decimal(want[0]["funding_rate"]) * 10**9
    assert funding["aux"][0] == int(first.to_integral_value())  # nearest 1e-9
    assert funding["seq"][0] == int(want[0]["funding_timestamp"]) * 1000
    index = ev[ev["kind"] == EventKind.INDEX_PRICE]
    assert index["price_tick"][0] == units(want[0]["index_price"], "0.1")


KLINES = [
    (
        "binance_spot_klines_1m_ADABTC_2021-11-27.csv",
        "binance-spot",
        "ADABTC",
        "0.00000001",
        "0.1",
        1440,
    ),
    (
        "binance_spot_klines_1s_DOGEUSDT_2025-01-01_excerpt.csv",
        "binance-spot",
        "DOGEUSDT",
        "0.00001",
        "1",
        3,
    ),
    (
        "binance_spot_klines_1h_BTCUSDT_2023-10-27_excerpt.csv",
        "binance-spot",
        "BTCUSDT",
        "0.01",
        "0.00001",
        3,
    ),
    (
        "binance_cm_klines_1h_BTCUSD_PERP_2023-10-27_excerpt.csv",
        "binance-coinm",
        "BTCUSD_PERP",
        "0.1",
        "1",
        3,
    ),
]


@pytest.mark.parametrize(("name", "venue", "symbol", "tick", "lot", "n"), KLINES)
def test_binance_klines(
    tmp_path: Path, name: str, venue: str, symbol: str, tick: str, lot: str, n: int
) -> None:
    ev = run(tmp_path, name, spec(venue, symbol, tick, lot))
    header = name.startswith("binance_cm")
    raw = rows_of(sample(name), header=header)
    want = [list(r.values()) for r in raw] if header else raw  # type: ignore[union-attr]
    assert len(want) == n
    assert ev.shape[0] == 4 * n
    bars = [EventKind.BAR_OPEN, EventKind.BAR_HIGH, EventKind.BAR_LOW, EventKind.BAR_CLOSE]
    assert ev["kind"].tolist() == bars * n
    prices = [units(v, tick) for r in want for v in r[1:5]]
    assert ev["price_tick"].tolist() == prices
    close = ev[3::4]
    assert close["qty_lot"].tolist() == [units(r[5], lot) for r in want]
    assert close["seq"].tolist() == [int(r[8]) for r in want]
    unit = 1000 if len(want[0][0]) == 16 else 1_000_000  # µs (spot 2025+) or ms
    assert ev["ts_exch_ns"][0] == int(want[0][0]) * unit
    assert ev["ts_local_ns"][0] == int(want[0][6]) * unit
    if "2025" in name:
        assert ev["ts_exch_ns"][0] == 1735689600 * 10**9  # 2025-01-01 00:00:00 UTC


AGG = [
    (
        "binance_um_aggTrades_BTCUSDT_2023-05_monthly_excerpt.csv",
        "binance-usdm",
        "0.1",
        "0.001",
        True,
    ),
    (
        "binance_spot_aggTrades_BTCUSDT_2021-12-14_tail.csv",
        "binance-spot",
        "0.01",
        "0.00001",
        False,
    ),
]


@pytest.mark.parametrize(("name", "venue", "tick", "lot", "header"), AGG)
def test_binance_agg_trades_sorted_by_time(
    tmp_path: Path, name: str, venue: str, tick: str, lot: str, header: bool
) -> None:
    ev = run(tmp_path, name, spec(venue, "BTCUSDT", tick, lot))
    raw = rows_of(sample(name), header=header)
    want = [list(r.values()) for r in raw] if header else raw  # type: ignore[union-attr]
    assert len(want) == 10
    assert ev.shape[0] == 10
    ordered = sorted(want, key=lambda r: (int(r[5]), int(r[0])))  # interleaved rows: sorted
    assert ev["aux"].tolist() == [int(r[0]) for r in ordered]
    sides = [
        EventKind.TRADE_SELL if r[6].lower() == "true" else EventKind.TRADE_BUY for r in ordered
    ]
    assert ev["kind"].tolist() == sides
    assert ev["qty_lot"].tolist() == [units(r[2], lot) for r in ordered]
    assert np.all(np.diff(ev["ts_local_ns"]) >= 0)


@pytest.mark.parametrize(
    ("name", "venue", "symbol", "tick", "lot", "maker_field"),
    [
        (
            "binance_um_trades_OMGUSDT_2021-04-08_excerpt.csv",
            "binance-usdm",
            "OMGUSDT",
            "0.0001",
            "0.1",
            5,
        ),
        (
            "binance_spot_trades_FLMBTC_2020-10-01_excerpt.csv",
            "binance-spot",
            "FLMBTC",
            "0.00000001",
            "1",
            5,
        ),
    ],
)
def test_binance_trades(
    tmp_path: Path, name: str, venue: str, symbol: str, tick: str, lot: str, maker_field: int
) -> None:
    ev = run(tmp_path, name, spec(venue, symbol, tick, lot))
    (row,) = rows_of(sample(name), header=False)
    assert ev.shape[0] == 1
    assert ev["price_tick"][0] == units(row[1], tick)
    assert ev["qty_lot"][0] == units(row[2], lot)
    assert ev["kind"][0] == (
        EventKind.TRADE_SELL if row[maker_field].lower() == "true" else EventKind.TRADE_BUY
    )
    assert ev["ts_exch_ns"][0] == int(row[4]) * 1_000_000


def test_binance_book_ticker_is_bbo_rows_sorted(tmp_path: Path) -> None:
    name = "binance_um_bookTicker_ETHUSDT_2024-01-15_excerpt.csv"
    ev = run(tmp_path, name, spec("binance-usdm", "ETHUSDT", "0.01", "0.001"))
    want = sorted(rows_of(sample(name), header=False), key=lambda r: (int(r[6]), int(r[0])))
    assert ev.shape[0] == 10
    assert set(ev["kind"].tolist()) == {EventKind.BBO_BID, EventKind.BBO_ASK}
    bids = ev[ev["kind"] == EventKind.BBO_BID]
    assert bids["price_tick"].tolist() == [units(r[1], "0.01") for r in want]
    assert bids["seq"].tolist() == [int(r[0]) for r in want]


def test_binance_book_depth_bands(tmp_path: Path) -> None:
    name = "binance_um_bookDepth_BTCUSDT_2025-05-19_excerpt.csv"
    ev = run(tmp_path, name, spec("binance-usdm", "BTCUSDT", "0.1", "0.001"))
    want = rows_of(sample(name))
    assert len(want) == 10
    assert ev.shape[0] == 10
    assert set(ev["kind"].tolist()) == {EventKind.DEPTH_BAND}
    assert ev["seq"].tolist() == [int(Decimal(r["percentage"]) * 10**6) for r in want]
    assert ev["qty_lot"].tolist() == [units(r["depth"], "0.001") for r in want]
    assert ev["aux"].tolist() == [int(Decimal(r["notional"]) * 10**6) for r in want]
    assert set(ev["ts_exch_ns"].tolist()) == {1747652851 * 10**9}  # 2025-05-19 11:07:31 UTC


def test_inspect_cli_shows_the_l2_sample_book(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = tmp_path / "specs.json"
    specs.write_text(
        json.dumps(
            [{"venue": "deribit", "symbol": "BTC-PERPETUAL", "tick_size": "0.5", "lot_size": "10"}]
        )
    )
    out = tmp_path / "l2.evt"
    name = "tardis_deribit_incremental_book_L2_BTC-PERPETUAL_2020-04-01.csv.gz"
    assert main(["convert", str(sample(name)), "--instruments", str(specs), "-o", str(out)]) == 0
    capsys.readouterr()
    for depth in (1, 3, 15, 40):
        assert main(["inspect", str(out), "--book", "--depth", str(depth), "--json"]) == 0
        book = json.loads(capsys.readouterr().out)
        assert len(book["asks"]) == min(depth, 15)
