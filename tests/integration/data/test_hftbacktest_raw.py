"""`tickbot convert` of hftbacktest's raw Binance USD-M collector file (the real BTCUSDT session
of 2024-08-08 in the shared samples): the book it rebuilds is the one Binance's documented sync
gives (an independent Decimal oracle), every market trade becomes a trade row, no row is received
before the venue stamped it, and a damaged file is one line of error."""

from __future__ import annotations

import gzip
import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from bot.cli import main
from bot.data.eventfile import read_event_file
from tests.support import shared
from tests.support.binance import NaiveSync

RAW = ("binance_usdm", "hftbacktest_raw_btcusdt_20240808.gz")
SPEC = {
    "venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.1", "lot_size": "0.001",
    "min_qty": "0.001", "min_notional": "100", "maker_fee_rate": "0", "taker_fee_rate": "0",
}  # fmt: skip
"""The contract's filters that day (tick 0.1, lot 0.001: SOURCES.md beside the file)."""
DEPTH = 20


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _instruments(tmp: Path) -> Path:
    path = tmp / "instruments.json"
    path.write_text(json.dumps([SPEC]))
    return path


def _payloads(raw: Path) -> list[dict]:
    with gzip.open(raw, "rt") as f:
        return [json.loads(line.split(" ", 1)[1]) for line in f]


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    raw = shared.exchange_sample(*RAW)
    tmp = tmp_path_factory.mktemp("hbt")
    out = tmp / "btcusdt.events"
    code = main(["convert", str(raw), "-o", str(out), "--instruments", str(_instruments(tmp))])
    assert code == 0
    return raw, out


def _oracle(payloads: list[dict]) -> NaiveSync:
    snapshot = next(p for p in payloads if "stream" not in p)
    sync = NaiveSync(json.dumps(snapshot).encode())
    for p in payloads:
        if p.get("stream", "").endswith("@depth@0ms"):
            sync.apply(json.dumps(p))
    return sync


def _levels(levels: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(p), Decimal(q)) for p, q in levels]


def test_the_rebuilt_book_is_the_documented_sync_of_the_real_session(
    converted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = converted
    code, stdout, err = run(capsys, "inspect", str(out), "--book", "--json", "--depth", str(DEPTH))
    assert code == 0, err
    book = json.loads(stdout)
    sync = _oracle(_payloads(raw))
    assert sync.applied  # the snapshot joined the diff chain
    bids = sorted(sync.bids.items(), reverse=True)[:DEPTH]
    asks = sorted(sync.asks.items())[:DEPTH]
    assert _levels(book["bids"]) == bids
    assert _levels(book["asks"]) == asks


def test_every_market_trade_is_a_row_and_none_is_received_before_the_venue_sent_it(
    converted: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    raw, out = converted
    trades = [p["data"] for p in _payloads(raw) if p.get("stream", "").endswith("@trade")]
    market = [t for t in trades if t.get("X", "MARKET") == "MARKET"]
    code, stdout, err = run(capsys, "inspect", str(out), "--json")
    assert code == 0, err
    kinds = json.loads(stdout)["kinds"]
    assert kinds.get("TRADE_BUY", 0) + kinds.get("TRADE_SELL", 0) == len(market)
    assert kinds.get("TRADE_SELL", 0) == sum(1 for t in market if t["m"])  # buyer made: taker sold
    ev = read_event_file(out).events
    assert (np.diff(ev["ts_local_ns"]) >= 0).all()
    assert (ev["ts_local_ns"] >= ev["ts_exch_ns"]).all()  # the collector's clock ran behind
    lead = ev["ts_local_ns"] - ev["ts_exch_ns"]
    assert lead.min() < 1_000_000  # shifted by no more than the largest lead of the venue's clock


def test_a_damaged_line_is_one_line_of_error_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = tmp_path / "collector.gz"
    good = '1723161255088169167 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker",' \
        '"u":1,"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510",' \
        '"T":1723161256313,"E":1723161256313}}\n'  # fmt: skip
    with gzip.open(raw, "wt") as f:
        f.write(good + good.replace("1723161255088169167 ", "17231612550881 x"))
    argv = ["convert", str(raw), "-o", str(tmp_path / "x.events"), "--format", "hftbacktest-raw"]
    code, _, err = run(capsys, *argv, "--instruments", str(_instruments(tmp_path)))
    assert code == 2
    assert f"{raw}:2: not '<receive ns> <JSON payload>'" in err
    assert err.count("\n") == 1
    assert not (tmp_path / "x.events").exists()


def test_instruments_of_another_venue_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = shared.exchange_sample(*RAW)
    other = tmp_path / "instruments.json"
    other.write_text(json.dumps([{**SPEC, "venue": "bybit"}]))
    argv = ["convert", str(raw), "-o", str(tmp_path / "x.events"), "--instruments", str(other)]
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "--instruments lists no binance-usdm instrument" in err
    assert err.count("\n") == 1
