"""Run every benchmark module, print a table and write ``benchmarks/results/latest.json``.

Usage: ``python -m benchmarks [NAME ...]`` (names filter modules, e.g. ``core``).
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import machine

RESULTS = Path(__file__).parent / "results" / "latest.json"


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if abs(value) < 1e5 else f"{value:,.0f}"


def main(argv: list[str]) -> int:
    """Run the selected benchmark modules and report."""
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]))
    modules = [n for n in names if n.startswith("bench_")]
    if argv:
        modules = [m for m in modules if any(a in m for a in argv)]
    rows: list[dict[str, Any]] = []
    for name in modules:
        t0 = time.perf_counter()
        print(f"# {name} ...", file=sys.stderr, flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        for row in module.run():
            row["suite"] = name.removeprefix("bench_")
            rows.append(row)
        print(f"# {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    header = f"{'benchmark':<52} {'median':>12} {'p99':>12} {'unit':<10} {'baseline':>12}  ratio"
    print(header)
    print("-" * len(header))
    for row in rows:
        base = row.get("baseline") or row.get("floor") or {}
        ratio = ""
        if row.get("floor") and row["median"]:
            # vs a physical floor: how many times the floor our path costs (lower is better)
            ratio = f"{row['median'] / base['median']:.2f}x floor"
        elif base.get("median") and row["median"]:
            ratio = f"{base['median'] / row['median']:.1f}x"
            if row["unit"].endswith("/s"):
                ratio = f"{row['median'] / base['median']:.1f}x"
        print(
            f"{row['name']:<52} {_fmt(row['median']):>12} {_fmt(row['p99']):>12} "
            f"{row['unit']:<10} {_fmt(base['median']) if base else '':>12}  {ratio}"
            + (f"  vs {base['name']}" if base else "")
        )
    for row in rows:
        if row.get("note"):
            print(f"  note ({row['name']}): {row['note']}")
    payload = {
        "machine": machine(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "results": rows,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    if argv and RESULTS.exists():  # a partial run keeps the other suites' rows
        old = json.loads(RESULTS.read_text())
        kept = [
            r for r in old.get("results", []) if r.get("suite") not in {r["suite"] for r in rows}
        ]
        payload["results"] = kept + rows
    RESULTS.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
