"""Data benchmarks: `tickbot generate` speed, `tickbot convert` throughput and peak RSS.

Each measured command runs in its own child process; its peak RSS comes from ``os.wait4``.
Converting a small and a large input shows that memory does not grow with the input size; the
format suite does it for every format of the registry (synthetic files shaped like the real
samples, 1x and 10x rows), reporting the peak-RSS ratio large/small (flat: about 1).

    python benchmarks/data_bench.py [--events 5000000] [--workdir DIR]

Writes ``benchmarks/results/data.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.core.instruments import specs_to_builtins
from bot.data.export import write_tardis_csv
from bot.data.generate import GenerateParams, generate_chunks

ROOT = Path(__file__).resolve().parents[1]


_CHILD = """
import sys
from bot.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
hwm = next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))
print(hwm, file=sys.stderr)
sys.exit(code)
"""


def measure(argv: list[str]) -> dict[str, float]:
    """Run ``tickbot ARGV`` in a child; return its wall time (s) and peak RSS (MiB).

    The peak is the child's own ``VmHWM`` (``ru_maxrss`` would include the parent's RSS at
    fork time, which Linux carries across exec).
    """
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"tickbot {' '.join(argv)} failed: {proc.stderr.strip()}")
    peak_kib = int(proc.stderr.strip().splitlines()[-1])
    return {"wall_s": round(wall, 3), "peak_rss_mib": round(peak_kib / 1024, 1)}


def binance_trades_csv(events: np.ndarray, path: Path, rng: np.random.Generator) -> int:
    """Write the trades as a headerless Binance UM trades file, rows shuffled in blocks."""
    trades = events[np.isin(events["kind"], [4, 5])]
    order = np.arange(trades.shape[0])
    for start in range(0, order.shape[0], 50_000):
        rng.shuffle(order[start : start + 100_000])  # overlapping blocks: unordered file
    rows = trades[order]
    with open(path, "w") as f:
        for tid, price, qty, ts, kind in zip(
            rows["aux"].tolist(),
            rows["price_tick"].tolist(),
            rows["qty_lot"].tolist(),
            (rows["ts_exch_ns"] // 1_000_000).tolist(),
            rows["kind"].tolist(),
            strict=True,
        ):
            maker = "true" if kind == 5 else "false"
            f.write(
                f"{tid},{price // 10}.{price % 10},{qty // 1000}.{qty % 1000:03d},0,{ts},{maker}\n"
            )
    return rows.shape[0]


FORMAT_SPECS = [
    {"venue": "binance-usdm", "symbol": "BTCUSDT", "tick_size": "0.01", "lot_size": "0.00001"}
]
SNAP_LEVELS = 25


def _snapshot_header() -> str:
    cols = ["exchange", "symbol", "timestamp", "local_timestamp"]
    for i in range(SNAP_LEVELS):
        cols += [f"asks[{i}].price", f"asks[{i}].amount", f"bids[{i}].price", f"bids[{i}].amount"]
    return ",".join(cols)


def _snapshot_row(us: int, k: int) -> str:
    levels = []
    for i in range(SNAP_LEVELS):
        levels += [f"{11657 + i}.0{k % 10}", "1.5", f"{11656 - i}.0{k % 10}", "2.25"]
    return f"binance-futures,BTCUSDT,{us},{us + 5}," + ",".join(levels)


def format_file(work: Path, fmt: str, rows: int) -> list[Path]:
    """Write ``rows`` synthetic rows of ``fmt`` (shaped like the real samples); return inputs."""
    t_us, t_ms = 1_600_000_000_000_000, 1_600_000_000_000
    step_us = 1000  # a row a millisecond, like a busy real feed
    if fmt == "binance-tdepth":
        head = "symbol,timestamp,first_update_id,last_update_id,side,update_type,price,qty,pu"
        snap = work / f"BTCUSDT_T_DEPTH_{rows}_depth_snap.csv"
        snap.write_text(head + "\n" + f"BTCUSDT,{t_ms},1,10,b,snap,100.00,1.0,-1\n")
        upd = work / f"BTCUSDT_T_DEPTH_{rows}_depth_update.csv"
        with open(upd, "w") as f:
            f.write(head + "\n")
            for k in range(rows):
                u = 11 + k
                f.write(
                    f"BTCUSDT,{t_ms + k},{u},{u},{'ab'[k % 2]},set,{100 + k % 50}.00,1.0,{u - 1}\n"
                )
        return [upd, snap]
    templates = {
        "tardis-quotes": (
            "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount",
            lambda k: (
                f"binance-futures,BTCUSDT,{t_us + step_us * k},{t_us + step_us * k + 9},"
                f"0.84,9682,9681.{k % 90 + 10},0.67"
            ),
        ),
        "tardis-book_snapshot_N": (
            _snapshot_header(),
            lambda k: _snapshot_row(t_us + step_us * k, k),
        ),
        "tardis-derivative_ticker": (
            "exchange,symbol,timestamp,local_timestamp,funding_timestamp,"
            "funding_rate,predicted_funding_rate,open_interest,last_price,"
            "index_price,mark_price",
            lambda k: (
                f"binance-futures,BTCUSDT,"
                f"{t_us + step_us * k},{t_us + step_us * k},{t_us},0.0001035718,-0.0002,1653109,"
                f"28474.4,28484.8,{28479 + k % 100}.1"
            ),
        ),
        "binance-klines": (
            "",
            lambda k: (
                f"{t_ms + 60000 * k},34151.66,34171.28,33972.39,34015.27,"
                f"908.27901,{t_ms + 60000 * k + 59999},1.0,41459,416.48838,1.0,0"
            ),
        ),
        "binance-bookdepth": (
            "timestamp,percentage,depth,notional",
            lambda k: (
                f"2025-05-19 "
                f"{k // 36000 % 24:02d}:{k // 600 % 60:02d}:{k // 10 % 60:02d},"
                f"{k % 10 - 5 or 1},7885.27500,647368074.3692"
            ),
        ),
        "binance-fundingrate": (
            "calc_time,funding_interval_hours,last_funding_rate",
            lambda k: f"{t_ms + 28_800_000 * k},8,0.000{k % 9 + 1}",
        ),
    }
    header, row = templates[fmt]
    path = work / f"BTCUSDT-{fmt}-{rows}.csv"
    with open(path, "w") as f:
        if header:
            f.write(header + "\n")
        for k in range(rows):
            f.write(row(k) + "\n")
    return [path]


def bench_formats(work: Path, rows: int) -> dict[str, object]:
    """Peak RSS of converting each format at ``rows`` and ``10 * rows``: flat if streamed."""
    specs = work / "format_specs.json"
    specs.write_text(json.dumps(FORMAT_SPECS))
    report: dict[str, object] = {}
    for fmt in (
        "tardis-quotes",
        "tardis-book_snapshot_N",
        "tardis-derivative_ticker",
        "binance-klines",
        "binance-bookdepth",
        "binance-fundingrate",
        "binance-tdepth",
    ):
        sizes = {}
        for label, n in (("small", rows), ("large", 10 * rows)):
            inputs = format_file(work, fmt, n)
            mib = sum(p.stat().st_size for p in inputs) / 2**20
            out = work / f"{fmt}.events"
            result = measure(
                [
                    "convert",
                    *map(str, inputs),
                    "-o",
                    str(out),
                    "--instruments",
                    str(specs),
                    "--symbol",
                    "BTCUSDT",
                    "--chunk-mb",
                    "1",
                ]
            )
            result.update(rows=n, input_mib=round(mib, 1))
            sizes[label] = result
            for p in inputs:
                p.unlink()
        sizes["rss_ratio_large_small"] = round(
            sizes["large"]["peak_rss_mib"] / sizes["small"]["peak_rss_mib"],
            2,  # type: ignore[index]
        )
        report[fmt] = sizes
    return report


def main() -> int:
    """Run the data benchmarks and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--format-rows", type=int, default=100_000, help="rows of the small file per format"
    )
    parser.add_argument("--only-formats", action="store_true", help="run the format suite only")
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tickbot-data-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"cpu_count": os.cpu_count()}
    try:
        report["formats"] = bench_formats(work, args.format_rows)
        if args.only_formats:  # keep the other figures of the last full run
            previous = ROOT / "benchmarks" / "results" / "data.json"
            if previous.exists():
                report = {**json.loads(previous.read_text()), **report}
            return _write(report)
        gen = ["generate", "--events", "2000000", "--seed", "1", "--out"]
        report["generate_2m_first"] = measure([*gen, str(work / "g1.events")])
        report["generate_2m_warm"] = measure([*gen, str(work / "g2.events")])
        specs = work / "specs.json"
        params = GenerateParams(events=args.events, duration_s=1800 * args.events / 2e6)
        specs.write_text(json.dumps(specs_to_builtins([params.spec()])))
        events = np.concatenate(list(generate_chunks(params, seed=2)))
        spec = params.spec()
        rng = np.random.default_rng(3)
        for label, rows in (("small", args.events // 10), ("large", args.events)):
            book, trades = work / f"{label}_book.csv", work / f"{label}_trades.csv"
            n_book, n_trades = write_tardis_csv(
                events[:rows], spec, book, trades, "binance-futures"
            )
            size_mib = (book.stat().st_size + trades.stat().st_size) / 2**20
            out = work / f"{label}.events"
            result = measure(
                [
                    "convert",
                    str(book),
                    str(trades),
                    "-o",
                    str(out),
                    "--instruments",
                    str(specs),
                ]
            )
            result.update(rows=n_book + n_trades, input_mib=round(size_mib, 1))
            result["rows_per_s"] = round(result["rows"] / result["wall_s"])
            report[f"convert_tardis_{label}"] = result
            book.unlink()
            trades.unlink()
        binance = work / "BTCUSDT-trades-2024-01-01.csv"
        n = binance_trades_csv(events, binance, rng)
        result = measure(
            [
                "convert",
                str(binance),
                "-o",
                str(work / "b.events"),
                "--instruments",
                str(specs),
                "--chunk-mb",
                "8",
            ]
        )
        result.update(rows=n, input_mib=round(binance.stat().st_size / 2**20, 1))
        report["convert_binance_unordered"] = result
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return _write(report)


def _write(report: dict[str, object]) -> int:
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "benchmarks" / "results" / "data.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
