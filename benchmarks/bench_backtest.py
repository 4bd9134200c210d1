"""Backtest throughput, start-up and memory: tickbot against hftbacktest, same workload, one run.

Workload (issue "Backtest engine"): 2,000,000 events of one instrument from ``tickbot generate``
with a fixed seed (tick 0.1, lot 0.001, ~60,000, 20 levels a side, ~10 % trades, 30 min); the
fixed-spread maker (every 100 ms: 1 lot at floor(mid) - 2 and ceil(mid) + 2 ticks, cancelling
other prices); 5 ms order latency each way; probabilistic queue (power 2); maker -0.5 bp,
taker 5 bp. hftbacktest runs the same strategy (``hft_fixed_spread.py``) on the same rows,
converted to its format, in its own venv (``benchmarks/.venvs/hftbacktest``; created here from
``hftbacktest-requirements.txt``; never a tickbot dependency: its numba pin conflicts).

Every figure comes from fresh processes: "first run" is process start to results (imports,
JIT compile or cache load, data open, the run); cold = empty numba cache, warm = the cache the
cold run left. Warm events/s times the loop alone, repeated in one process. Peak RSS is the
process's VmHWM.

``run()`` returns the rows; ``python -m benchmarks.bench_backtest`` prints them. Set
``TICKBOT_BENCH_100M=1`` to add the 100 M-event memory run (writes a 5.6 GB file; minutes).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA_DIR = HERE / ".data"
HFT_VENV = HERE / ".venvs" / "hftbacktest"
SEED = 7
EVENTS = 2_000_000
REPEATS = 5

CONFIG = """
strategy: {name: fixed_spread, params: {interval_ms: 100, offset_ticks: 2, qty_lot: 1}}
instruments: [{venue: sim, symbol: BTCUSDT}]
risk: {max_position_lot: 1000000, max_order_lot: 10, max_notional_quote: 1000000000000,
       price_band_bps: 1000, max_open_orders: 10, orders_per_s: 1000, burst: 1000}
backtest:
  latency: {entry_ms: 5, response_ms: 5}
  queue: {model: power, power: 2}
  fees: {maker_bps: -0.5, taker_bps: 5}
"""


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's high-water
    mark across fork and exec, so a child started by a big benchmark process reported the
    parent's figure."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _worker(data: str, repeats: int) -> None:
    """Run inside a fresh process: first run from process start, then warm loop repeats."""
    t_start = time.perf_counter()

    import yaml

    from bot.backtest import session
    from bot.config.schema import parse_config

    cfg = parse_config(yaml.safe_load(CONFIG))
    dataset = session.load_data([data])
    _, stats = session.run(cfg, dataset)
    first_s = time.perf_counter() - t_start
    warm = []
    for _ in range(repeats):
        again = session.build(cfg, dataset)
        again.warm_up()
        again.run()
        warm.append(again.run_s)
    print(
        json.dumps(
            {
                "events": stats["events"],
                "first_run_s": first_s,
                "compile_s": stats["compile_s"],
                "first_loop_s": stats["run_s"],
                "warm_loop_s": warm,
                "orders_sent": stats["orders_sent"],
                "fills": stats["fills"],
                "position_lot": stats["position_end_lot"],
                "peak_rss_bytes": _peak_rss_bytes(),
            }
        )
    )


def _run_json(cmd: list[str], env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _env(cache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = str(ROOT)
    return env


def ensure_data() -> tuple[Path, Path]:
    """Generate the workload once (and its hftbacktest copy); reuse it afterwards."""
    import numpy as np

    from bot.data.eventfile import read_event_file
    from bot.data.generate import GenerateParams, generate_file

    DATA_DIR.mkdir(parents=True, exist_ok=True)
    ours = DATA_DIR / f"bench-{EVENTS}-seed{SEED}.evt"
    theirs = DATA_DIR / f"bench-{EVENTS}-seed{SEED}-hftbacktest.npz"
    if not ours.exists():
        generate_file(ours, GenerateParams(events=EVENTS), seed=SEED)
    if not theirs.exists():
        ev = read_event_file(ours).events
        keep = (ev["kind"] == 1) | (ev["kind"] == 2) | (ev["kind"] == 4) | (ev["kind"] == 5)
        e = ev[keep]  # BOOK_CLEAR at the start is implicit: both books start empty
        dtype = np.dtype(
            [("ev", "<u8"), ("exch_ts", "<i8"), ("local_ts", "<i8"), ("px", "<f8"),
             ("qty", "<f8"), ("order_id", "<u8"), ("ival", "<i8"), ("fval", "<f8")],
            align=True,
        )  # fmt: skip
        out = np.zeros(e.shape[0], dtype=dtype)
        exch, local, buy, sell = 1 << 31, 1 << 30, 1 << 29, 1 << 28
        kind = e["kind"]
        depth, trade = 1, 2
        flag = np.select(
            [kind == 1, kind == 2, kind == 4],
            [depth | buy, depth | sell, trade | buy],
            trade | sell,
        )
        out["ev"] = flag.astype(np.uint64) | exch | local
        out["exch_ts"] = e["ts_exch_ns"]
        out["local_ts"] = e["ts_local_ns"]
        out["px"] = e["price_tick"] * 0.1
        out["qty"] = e["qty_lot"] * 0.001
        np.savez(theirs, data=out)
    return ours, theirs


HFT_REQUIREMENTS = HERE / "hftbacktest-requirements.txt"
"""The pinned peer version (its own venv: its numba/numpy pins conflict with tickbot's)."""


def ensure_hftbacktest() -> Path:
    """Create ``benchmarks/.venvs/hftbacktest`` from ``hftbacktest-requirements.txt`` if missing."""
    python = HFT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(HFT_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "-r", str(HFT_REQUIREMENTS)],
            check=True,
        )
    return python


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def _measure_tickbot(data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tickbot-bench-cache-") as cache:
        cmd = [sys.executable, "-m", "benchmarks.bench_backtest", "--worker", str(data)]
        cold = _run_json([*cmd, "0"], _env(Path(cache)))
        warm = _run_json([*cmd, "0"], _env(Path(cache)))
        repeats = _run_json([*cmd, str(REPEATS)], _env(Path(cache)))
    return {"cold": cold, "warm": warm, "repeats": repeats}


def _measure_hft(python: Path, data: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hft-bench-cache-") as cache:
        cmd = [str(python), str(HERE / "hft_fixed_spread.py"), str(data)]
        cold = _run_json([*cmd, "0"], _env(Path(cache)))
        warm = _run_json([*cmd, "0"], _env(Path(cache)))
        repeats = _run_json([*cmd, str(REPEATS)], _env(Path(cache)))
    return {"cold": cold, "warm": warm, "repeats": repeats}


def _row(name: str, ours: list[float], unit: str, base_name: str, base: float) -> dict[str, Any]:
    return {
        "name": name,
        "median": statistics.median(ours),
        "p99": _p99(ours),
        "unit": unit,
        "baseline": {"name": base_name, "median": base},
    }


def run() -> list[dict[str, Any]]:
    """Measure both engines on the workload; return the comparison rows."""
    ours_data, hft_data = ensure_data()
    python = ensure_hftbacktest()
    tb = _measure_tickbot(ours_data)
    hft = _measure_hft(python, hft_data)
    n = tb["repeats"]["events"]
    tb_eps = [n / s for s in tb["repeats"]["warm_loop_s"]]
    hft_eps = [hft["repeats"]["events"] / s for s in hft["repeats"]["warm_loop_s"]]
    mib = 1 << 20
    rows = [
        _row(
            "backtest warm events/s", tb_eps, "events/s", "hftbacktest", statistics.median(hft_eps)
        ),
        _row(
            "backtest first run, warm numba cache",
            [tb["warm"]["first_run_s"]],
            "s",
            "hftbacktest (cannot cache its strategy)",
            hft["warm"]["first_run_s"],
        ),
        _row(
            "backtest first run, cold numba cache",
            [tb["cold"]["first_run_s"]],
            "s",
            "hftbacktest",
            hft["cold"]["first_run_s"],
        ),
        _row(
            "backtest peak RSS (one run, warm cache)",
            [tb["warm"]["peak_rss_bytes"] / mib],
            "MiB",
            "hftbacktest (one run)",
            hft["warm"]["peak_rss_bytes"] / mib,
        ),
        _row(
            "backtest peak RSS (one run, cold cache: includes compiling)",
            [tb["cold"]["peak_rss_bytes"] / mib],
            "MiB",
            "hftbacktest (one run)",
            hft["cold"]["peak_rss_bytes"] / mib,
        ),
        _row(
            "backtest orders sent (same strategy: sanity)",
            [float(tb["warm"]["orders_sent"])],
            "orders",
            "hftbacktest",
            float(hft["warm"]["orders_sent"]),
        ),
    ]
    if os.environ.get("TICKBOT_BENCH_100M") == "1":
        rows.append(run_100m())
    return rows


def run_100m(events: int = 100_000_000) -> dict[str, Any]:
    """Backtest ``events`` generated events (memory-mapped) and report the peak RSS."""
    from bot.data.generate import GenerateParams, generate_file

    path = DATA_DIR / f"bench-{events}-seed{SEED}.evt"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        duration = 1800.0 * events / EVENTS
        generate_file(path, GenerateParams(events=events, duration_s=duration), seed=SEED)
    small, _ = ensure_data()
    with tempfile.TemporaryDirectory(prefix="tickbot-bench-cache-") as cache:
        worker = [sys.executable, "-m", "benchmarks.bench_backtest", "--worker"]
        _run_json([*worker, str(small), "0"], _env(Path(cache)))  # warm the numba cache
        res = _run_json([*worker, str(path), "0"], _env(Path(cache)))
    return {
        "name": f"backtest peak RSS, {events:,} events",
        "median": res["peak_rss_bytes"] / (1 << 20),
        "p99": res["peak_rss_bytes"] / (1 << 20),
        "unit": "MiB",
        "baseline": {"name": "target", "median": 1024.0},
        "events_per_s": res["events"] / res["first_loop_s"],
    }


def main() -> None:
    """Print the rows as a table."""
    rows = run()
    for r in rows:
        b = r["baseline"]
        ratio = r["median"] / b["median"] if b["median"] else float("nan")
        print(
            f"{r['name']:<48} {r['median']:>14,.3f} {r['unit']:<9} "
            f"{b['name']}: {b['median']:,.3f} ({ratio:.2f}x)"
        )
    out = HERE / "results" / "backtest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--worker":
        _worker(sys.argv[2], int(sys.argv[3]))
    else:
        main()
