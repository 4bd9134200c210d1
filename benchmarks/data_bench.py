"""Data benchmarks: `tickbot generate` speed, `tickbot convert` throughput and peak RSS.

Each measured command runs in its own child process; its peak RSS comes from ``os.wait4``.
Converting a small and a large input shows that memory does not grow with the input size.

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


def main() -> int:
    """Run the data benchmarks and print a JSON report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = Path(args.workdir or tempfile.mkdtemp(prefix="tickbot-data-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {"cpu_count": os.cpu_count()}
    try:
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
    text = json.dumps(report, indent=2)
    print(text)
    (ROOT / "benchmarks" / "results" / "data.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
