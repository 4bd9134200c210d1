"""`tickbot convert` of raw captures: captures built with ``write_capture`` from the real Binance
(REST snapshot + WS diffs) and OKX (WS snapshot + updates) fixtures become event files through
the live parsers and book sync, and `tickbot inspect --book --json` shows the expected books."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.instruments import specs_to_builtins
from bot.ingest.capture import write_capture
from tests.support import binance as bn
from tests.support import okx
from tests.support.wsbook import LevelBook


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def book_json(capsys, path: Path, *extra: str) -> dict:
    code, out, err = run(capsys, "inspect", str(path), "--book", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def binance_capture(path: Path) -> Path:
    """Both captured symbols' diffs in event-time order, each REST snapshot after the diff
    the venue's sample took it after (so some buffered diffs predate it and are dropped)."""
    lines = []
    frames = sorted(
        (json.loads(f)["data"]["E"], s, f) for s in bn.SYMBOLS for f in bn.lines("depth_diff", s)
    )
    asked = set()
    for k, (_, symbol, frame) in enumerate(frames):
        lines.append(("ws", "/public/stream", frame))
        if k >= 4 and symbol not in asked:
            asked.add(symbol)
            lines.append(("rest", bn.DEPTH_PATH.format(symbol=symbol), bn.snapshot(symbol)))
    instruments = specs_to_builtins(bn.specs())
    return write_capture(path, venue="binance-usdm", symbols=list(bn.SYMBOLS),
                         instruments=instruments, lines=lines)  # fmt: skip


def okx_capture(path: Path) -> Path:
    lines = [("ws", okx.WS_PATH, f) for f in okx.book_frames()]
    instruments = specs_to_builtins([okx.spec()])
    return write_capture(path, venue="okx", symbols=[okx.SYMBOL], instruments=instruments,
                         lines=lines, start_ns=10**18 + 5)  # fmt: skip


def naive_binance(symbol: str, depth: int) -> tuple[list[list[str]], list[list[str]]]:
    oracle = bn.NaiveSync(bn.snapshot(symbol))
    for frame in bn.lines("depth_diff", symbol):
        oracle.apply(frame)
    bids = sorted(oracle.bids.items(), reverse=True)[:depth]
    asks = sorted(oracle.asks.items())[:depth]
    return [[_dec(p), _dec(q)] for p, q in bids], [[_dec(p), _dec(q)] for p, q in asks]


def _dec(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _canon(levels: list[list[str]]) -> list[list[str]]:
    return [[_dec(Decimal(p)), _dec(Decimal(q))] for p, q in levels]


def test_binance_capture_converts_to_the_expected_books(tmp_path: Path, capsys) -> None:
    capture = binance_capture(tmp_path / "binance.ndjson.gz")
    out = tmp_path / "binance.events"
    code, stdout, err = run(capsys, "convert", str(capture), "-o", str(out))  # format detected
    assert code == 0, err
    assert "capture binance-usdm" in stdout
    expected = bn.expected()
    for symbol in bn.SYMBOLS:
        book = book_json(capsys, out, "--symbol", symbol, "--depth", "20")
        exp = expected[symbol]
        assert _canon(book["bids"][:1]) == _canon([exp["final_best_bid"]])
        assert _canon(book["asks"][:1]) == _canon([exp["final_best_ask"]])
        bids, asks = naive_binance(symbol, 20)
        assert (_canon(book["bids"]), _canon(book["asks"])) == (bids, asks)


def test_okx_capture_converts_to_the_expected_book(tmp_path: Path, capsys) -> None:
    capture = okx_capture(tmp_path / "okx.ndjson.gz")
    out = tmp_path / "okx.events"
    code, _, err = run(capsys, "convert", str(capture), "-o", str(out), "--format", "capture")
    assert code == 0, err
    book = book_json(capsys, out, "--depth", "25")
    exp = okx.expected()
    assert book["symbol"] == okx.SYMBOL
    assert _canon(book["bids"][:1]) == _canon([exp["best_bid"]])
    assert _canon(book["asks"][:1]) == _canon([exp["best_ask"]])
    truth = LevelBook()
    for frame in okx.book_frames():
        msg = json.loads(frame)
        truth.apply(msg["data"][0]["bids"], msg["data"][0]["asks"], msg["action"] == "snapshot")
    bids, asks = truth.levels()
    assert _canon(book["bids"]) == _canon([lv[:2] for lv in bids[:25]])
    assert _canon(book["asks"]) == _canon([lv[:2] for lv in asks[:25]])
    summary = json.loads(run(capsys, "inspect", str(out), "--json")[1])
    assert summary["kinds"]["BOOK_INVALID"] == 1  # the connect; every checksum verified


def test_captures_of_two_venues_merge_into_one_file(tmp_path: Path, capsys) -> None:
    binance = binance_capture(tmp_path / "binance.ndjson.gz")
    okx_file = okx_capture(tmp_path / "okx.ndjson.gz")
    out = tmp_path / "both.events"
    code, _, err = run(capsys, "convert", str(binance), str(okx_file), "-o", str(out))
    assert code == 0, err
    summary = json.loads(run(capsys, "inspect", str(out), "--json")[1])
    assert [i["symbol"] for i in summary["instruments"]] == [*bn.SYMBOLS, okx.SYMBOL]
    assert (
        book_json(capsys, out, "--symbol", "okx:BTC-USDT")["bids"][0] == okx.expected()["best_bid"]
    )
    akro = book_json(capsys, out, "--symbol", "AKROUSDT")
    assert _canon(akro["asks"][:1]) == _canon([bn.expected()["AKROUSDT"]["final_best_ask"]])


def test_capture_errors_are_one_line(tmp_path: Path, capsys) -> None:
    capture = okx_capture(tmp_path / "okx.ndjson.gz")
    other = tmp_path / "instruments.json"
    other.write_text(json.dumps([{"venue": "okx", "symbol": "ETH-USDT", "tick_size": "0.01",
                                  "lot_size": "0.000001"}]))  # fmt: skip
    argv = ["convert", str(capture), "-o", str(tmp_path / "x.events"), "--format", "capture"]
    code, _, err = run(capsys, *argv, "--instruments", str(other))
    assert code == 2
    assert "okx:BTC-USDT is not in the instrument list" in err
    assert err.count("\n") == 1
