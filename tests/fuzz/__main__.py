"""``make fuzz``: every fuzz target under atheris, an input budget per target group, figures.

``python -m tests.fuzz [--inputs N] [--only NAME ...] [--max-seconds S]`` gives each group
``N`` inputs (default 1,000,000), split evenly over the group's targets, runs each target in
its own process (``tests.fuzz.one``) over a seed corpus of real captured frames, and prints one
line per target (inputs, seconds, inputs/s) and per group. A target that breaks its contract
leaves its input in ``build/fuzz/crashes/`` and the command to replay it is printed; the exit
status is then 1.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from tests.fuzz.targets import Target, targets

DEFAULT_INPUTS_PER_GROUP = 1_000_000
BUILD = Path("build/fuzz")
DONE_RE = re.compile(rb"Done (\d+) runs in (\d+) second")
TAIL_LINES = 25


def _corpus(target: Target) -> Path:
    folder = BUILD / "corpus" / target.name
    folder.mkdir(parents=True, exist_ok=True)
    for k, seed in enumerate(target.seeds()):
        (folder / f"seed-{k:04d}").write_bytes(seed)
    return folder


def _run(target: Target, runs: int, max_seconds: int) -> tuple[int, float, bool]:
    corpus = _corpus(target)
    crashes = BUILD / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "tests.fuzz.one",
        target.name,
        f"-runs={runs}",
        f"-max_total_time={max_seconds}",
        f"-artifact_prefix={crashes}/{target.name}-",
        "-print_final_stats=0",
        str(corpus),
    ]
    start = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, check=False)
    seconds = time.monotonic() - start
    done = DONE_RE.search(proc.stderr)
    inputs = int(done.group(1)) if done else 0
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").splitlines()[-TAIL_LINES:]
        print("\n".join(tail), file=sys.stderr)
        found = sorted(crashes.glob(f"{target.name}-*"), key=lambda p: p.stat().st_mtime)
        if found:
            print(
                f"replay: {sys.executable} -m tests.fuzz.one {target.name} {found[-1]}",
                file=sys.stderr,
            )
        return inputs, seconds, False
    return inputs, seconds, True


def main(argv: list[str] | None = None) -> int:
    """Fuzz every (or the named) target; print the figures; 1 if any target broke."""
    ap = argparse.ArgumentParser(prog="python -m tests.fuzz")
    ap.add_argument("--inputs", type=int, default=DEFAULT_INPUTS_PER_GROUP, help="per group")
    ap.add_argument("--only", nargs="*", default=None, help="target names")
    ap.add_argument("--max-seconds", type=int, default=3600, help="per target")
    args = ap.parse_args(argv)
    every = targets()
    chosen = [every[n] for n in args.only] if args.only else list(every.values())
    groups: dict[str, list[Target]] = defaultdict(list)
    for t in chosen:
        groups[t.group].append(t)
    per_group: dict[str, int] = defaultdict(int)
    failed = []
    print(f"{'target':<20} {'group':<16} {'inputs':>10} {'seconds':>8} {'inputs/s':>9}")
    for group, members in groups.items():
        runs = -(-args.inputs // len(members))
        for t in members:
            inputs, seconds, ok = _run(t, runs, args.max_seconds)
            per_group[group] += inputs
            rate = inputs / seconds if seconds else 0.0
            status = "" if ok else "  FAILED"
            print(f"{t.name:<20} {group:<16} {inputs:>10} {seconds:>8.0f} {rate:>9.0f}{status}")
            sys.stdout.flush()
            if not ok:
                failed.append(t.name)
    for group, n in per_group.items():
        print(f"group {group}: {n} inputs")
    print(f"targets: {len(chosen)}, failed: {len(failed)} {' '.join(failed)}".rstrip())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
