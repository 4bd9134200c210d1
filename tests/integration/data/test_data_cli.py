"""`tickbot generate | convert | inspect` end to end: outputs users rely on, and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.unit.data.conftest import SPECS, write_csv

HEADER = "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"
BOOK_ROWS = [
    "binance-futures,BTCUSDT,900,1000,true,bid,100.00,1.5",
    "binance-futures,BTCUSDT,900,1000,true,bid,99.99,0.25",
    "binance-futures,BTCUSDT,900,1000,true,bid,99.5,2",
    "binance-futures,BTCUSDT,900,1000,true,ask,100.02,0.5",
    "binance-futures,BTCUSDT,900,1000,true,ask,100.05,1",
    "binance-futures,ETHUSDT,1400,1500,true,bid,2000.10,3",
    "binance-futures,ETHUSDT,1400,1500,true,ask,2000.2,4",
    "binance-futures,BTCUSDT,1900,2000,false,bid,100.01,0.1",
    "binance-futures,BTCUSDT,1900,2000,false,ask,100.02,0",
    "binance-futures,BTCUSDT,1900,2000,false,ask,100.03,0.75",
    "binance-futures,BTCUSDT,2900,3000,false,bid,99.99,0",
]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def specs_path(tmp_path: Path) -> Path:
    path = tmp_path / "instruments.json"
    path.write_text(json.dumps(SPECS))
    return path


@pytest.fixture
def book_file(tmp_path: Path, specs_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    src = write_csv(tmp_path / "book.csv.gz", [HEADER, *BOOK_ROWS])
    out = tmp_path / "book.events"
    code, stdout, _ = run(
        capsys, "convert", str(src), "--output", str(out), "--instruments", str(specs_path)
    )
    assert code == 0
    assert "incremental_book_L2, 11 rows read" in stdout
    return out


def book_json(capsys: pytest.CaptureFixture[str], path: Path, *extra: str) -> dict:
    code, out, _ = run(capsys, "inspect", str(path), "--book", "--json", *extra)
    assert code == 0
    return json.loads(out)


def test_inspect_book_json_matches_the_hand_computed_book(book_file: Path, capsys):
    assert book_json(capsys, book_file, "--symbol", "BTCUSDT", "--at", "2500000") == {
        "symbol": "BTCUSDT",
        "ts": 2500000,
        "bids": [["100.01", "0.100"], ["100.00", "1.500"], ["99.99", "0.250"], ["99.50", "2.000"]],
        "asks": [["100.03", "0.750"], ["100.05", "1.000"]],
    }
    assert book_json(capsys, book_file, "--symbol", "binance-usdm:BTCUSDT", "--depth", "2") == {
        "symbol": "BTCUSDT",
        "ts": 3000000,
        "bids": [["100.01", "0.100"], ["100.00", "1.500"]],
        "asks": [["100.03", "0.750"], ["100.05", "1.000"]],
    }
    empty = {"symbol": "ETHUSDT", "ts": 1000000, "bids": [], "asks": []}
    assert book_json(capsys, book_file, "--symbol", "ETHUSDT", "--at", "1000000") == empty
    assert book_json(capsys, book_file, "--symbol", "ETHUSDT")["bids"] == [["2000.10", "3.000"]]


def test_inspect_summary(book_file: Path, capsys):
    code, out, _ = run(capsys, "inspect", str(book_file), "--json", "--verify")
    info = json.loads(out)
    assert code == 0
    assert info["events"] == 13
    assert info["kinds"] == {"BOOK_BID": 6, "BOOK_ASK": 5, "BOOK_CLEAR": 2}
    assert info["time_range"]["ts_local_ns"] == [1_000_000, 3_000_000]
    assert [i["events"] for i in info["instruments"]] == [10, 3, 0]
    code, out, _ = run(capsys, "inspect", str(book_file))
    assert code == 0
    assert "BOOK_CLEAR" in out
    assert "13 events" in out
    code, out, _ = run(capsys, "inspect", str(book_file), "--book", "--symbol", "BTCUSDT")
    assert code == 0
    assert "100.01" in out


def test_generate_is_reproducible_and_inspectable(tmp_path: Path, capsys):
    from bot.data.generate import GenerateParams, generate_file

    a, b = tmp_path / "a.events", tmp_path / "b.events"
    code, out, _ = run(
        capsys, "generate", "--events", "5000", "--seed", "42", "--out", str(a), "--levels", "10"
    )
    assert code == 0
    assert "wrote 5000 events" in out
    # the command's defaults are the library's: the same seed gives the same file
    generate_file(b, GenerateParams(events=5000, levels=10), seed=42)
    assert a.read_bytes() == b.read_bytes()
    code, out, _ = run(capsys, "inspect", str(a), "--json")
    kinds = json.loads(out)["kinds"]
    assert sum(kinds.values()) == 5000
    assert kinds["BOOK_CLEAR"] == 1
    code, out, _ = run(capsys, "inspect", str(a), "--book", "--depth", "3", "--json")
    book = json.loads(out)
    assert len(book["bids"]) == len(book["asks"]) == 3
    assert float(book["bids"][0][0]) < float(book["asks"][0][0])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "{tmp}/missing.events"], "no such file"),
        (["inspect", "{tmp}/junk.events"], "not a tickbot event file"),
        (["inspect", "{book}", "--book"], "holds 3 instruments"),
        (["inspect", "{book}", "--book", "--symbol", "XRPUSDT"], "unknown instrument 'XRPUSDT'"),
        (["inspect", "{book}", "--depth", "0"], "--depth must be >= 1"),
        (
            ["convert", "{tmp}/none.csv", "-o", "{tmp}/o.events", "--instruments", "{specs}"],
            "none.csv: no such file",
        ),
        (
            ["convert", "{tmp}/xrp.csv", "-o", "{tmp}/o.events", "--instruments", "{specs}"],
            "unknown instrument binance-futures:XRPUSDT",
        ),
        (["convert", "{tmp}/xrp.csv", "-o", "{tmp}/o.events"], "pass --instruments"),
        (
            ["convert", "{tmp}/offgrid.csv", "-o", "{tmp}/o.events", "--instruments", "{specs}"],
            "offgrid.csv:2: price '100.001' is not on the grid tick_size 0.01 of BTCUSDT",
        ),
        (
            [
                "convert",
                "{tmp}/xrp.csv",
                "-o",
                "{tmp}/o.events",
                "--instruments",
                "{tmp}/missing.json",
            ],
            "cannot read",
        ),
        (
            [
                "convert",
                "{tmp}/xrp.csv",
                "-o",
                "{tmp}/o.events",
                "--format",
                "capture",
                "--instruments",
                "{specs}",
            ],
            "xrp.csv: first line is not a JSON header",
        ),
        (
            ["generate", "--events", "5", "--seed", "1", "--out", "{tmp}/g.events"],
            "events must be at least",
        ),
        (
            ["generate", "--seed", "1", "--out", "{tmp}/g.events", "--price", "60000.05"],
            "not a multiple of the grid step",
        ),
    ],
)
def test_user_errors_exit_2_with_one_line(
    tmp_path: Path, book_file: Path, specs_path: Path, capsys, argv: list[str], message: str
):
    (tmp_path / "junk.events").write_bytes(b"hello, world\n")
    write_csv(tmp_path / "xrp.csv", [HEADER, "binance-futures,XRPUSDT,1,2,true,bid,1.0,1"])
    write_csv(tmp_path / "offgrid.csv", [HEADER, "binance-futures,BTCUSDT,1,2,true,bid,100.001,1"])
    values = {"tmp": str(tmp_path), "book": str(book_file), "specs": str(specs_path)}
    code, _, err = run(capsys, *(a.format(**values) for a in argv))
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert not (tmp_path / "o.events").exists()


def test_bad_option_values_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["convert", "x.csv", "-o", "y", "--format", "parquet"])
    assert info.value.code == 2


def test_real_entry_point_prints_no_traceback(tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "inspect", str(tmp_path / "nope.events")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("no such file")
    assert "Traceback" not in proc.stderr


def test_convert_binance_zip_with_yaml_specs(tmp_path: Path, capsys):
    import shutil
    import zipfile

    from tests.support.shared import data_sample

    specs = tmp_path / "instruments.yaml"
    specs.write_text(
        "instruments:\n"
        "  - {venue: binance-usdm, symbol: BTCUSDT, tick_size: '0.1', lot_size: '0.001'}\n"
    )
    csv = tmp_path / "BTCUSDT-aggTrades-2023-05.csv"
    shutil.copy(data_sample("binance_um_aggTrades_BTCUSDT_2023-05_monthly_excerpt.csv"), csv)
    src = tmp_path / "BTCUSDT-aggTrades-2023-05.zip"
    with zipfile.ZipFile(src, "w") as archive:
        archive.write(csv, csv.name)
    out = tmp_path / "agg.events"
    code, stdout, _ = run(capsys, "convert", str(src), "-o", str(out), "--instruments", str(specs))
    assert code == 0
    assert "aggTrades, 10 rows read" in stdout
    code, stdout, _ = run(capsys, "inspect", str(out), "--json")
    assert json.loads(stdout)["kinds"] == {"TRADE_BUY": 4, "TRADE_SELL": 6}
