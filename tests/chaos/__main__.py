"""``make chaos``: many seeded chaos runs, one line each, then the figures.

``python -m tests.chaos [--runs N] [--first-seed S] [--seed S ...] [--max-minutes M] [-v]``
runs the router sessions of ``tests/chaos/session.py`` for seeds ``S .. S+N-1`` (the seed picks
the venue and every fault), each in a fresh directory, in one uvloop loop. It stops starting
new runs after ``--max-minutes``. It ends with ``runs: N``, ``faults: N`` (and one line per
kind), ``violations: N`` and, when a run broke a check, the command that replays its seed
(``-v`` prints the failing run's steps). Exit status 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import uvloop

from tests.chaos.live import LiveSession
from tests.chaos.market import MarketSession
from tests.chaos.session import Outcome, Session, quiet_logs

DEFAULT_RUNS = 100
DEFAULT_MAX_MINUTES = 20.0
LIVE_EVERY = 10
"""Every tenth seed runs a real ``tickbot run`` process (kill -9, restart, lease, SIGTERM)."""


RUN_S = 240.0
"""A router or market-data run that has not ended by then hung (they take seconds)."""
LIVE_RUN_S = 900.0
"""A tickbot run process may compile kernels for minutes on a cold numba cache."""
CANCEL_S = 10.0
MARKET_AT = 4
"""Seeds ending in 4 run the market-data session (the real feed under its supervisor)."""


def is_live(seed: int) -> bool:
    """Return whether ``seed`` runs the ``tickbot run`` session."""
    return seed % LIVE_EVERY == LIVE_EVERY - 1


def session_of(seed: int, workdir: Path) -> Session | LiveSession | MarketSession:
    """Return the session ``seed`` runs: live process, market data, or the router."""
    if is_live(seed):
        return LiveSession(seed, workdir)
    if seed % LIVE_EVERY == MARKET_AT:
        return MarketSession(seed)
    return Session(seed, workdir)


async def _bounded(session: Session | LiveSession | MarketSession, limit_s: float) -> Outcome:
    """Run ``session``; a run still going after ``limit_s`` is a violation (it hung), and
    the awaits its tasks were stuck in go into its trace."""
    task = asyncio.ensure_future(session.run())
    done, _ = await asyncio.wait([task], timeout=limit_s)
    if done:
        return task.result()
    for other in asyncio.all_tasks():
        if other is not asyncio.current_task():
            where = [f"{f.f_code.co_name}:{f.f_lineno}" for f in other.get_stack(limit=4)]
            session.trace.append(f"task {other.get_name()}: {' <- '.join(where)}")
    task.cancel()
    await asyncio.wait([task], timeout=CANCEL_S)
    session.out.violations.append(f"hung: no end after {limit_s:.0f} s")
    return session.out


def _quiet_resets(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop the loopback servers' pushes to a socket a killed bot left (expected, noisy)."""
    if isinstance(context.get("exception"), ConnectionResetError):
        return
    loop.default_exception_handler(context)


async def run_seeds(
    seeds: list[int], max_s: float, verbose: bool, keep: Path | None = None
) -> list[Outcome]:
    """Run the session of every seed (until ``max_s`` has passed); print one line each."""
    began = time.monotonic()
    asyncio.get_running_loop().set_exception_handler(_quiet_resets)
    outcomes = []
    for seed in seeds:
        if time.monotonic() - began > max_s:
            print(f"time budget of {max_s:.0f} s spent: stopping before seed {seed}")
            break
        with tempfile.TemporaryDirectory(prefix="tickbot-chaos-") as workdir:
            session = session_of(seed, Path(workdir))
            out = await _bounded(session, LIVE_RUN_S if is_live(seed) else RUN_S)
            if out.violations and keep is not None:  # the journal and config, for a post-mortem
                shutil.copytree(workdir, keep / f"seed-{seed}", dirs_exist_ok=True)
        outcomes.append(out)
        faults = sum(out.faults.values())
        status = "ok" if not out.violations else f"{len(out.violations)} VIOLATION(S)"
        print(f"seed {seed:5d} {out.kind:6s} {out.venue:16s} {out.seconds:5.1f} s  "
              f"orders {out.orders:3d} fills {out.fills:3d} restarts {out.restarts} "
              f"faults {faults:3d}  {status}", flush=True)  # fmt: skip
        for v in out.violations:
            print(f"    {v}")
        if out.violations and verbose:
            print("\n".join(f"    | {line}" for line in session.trace))
    return outcomes


def report(outcomes: list[Outcome]) -> int:
    """Print the figures; return the number of violations."""
    faults: Counter[str] = Counter()
    venues: Counter[str] = Counter()
    for out in outcomes:
        faults.update(out.faults)
        venues[out.venue] += 1
    violations = sum(len(o.violations) for o in outcomes)
    print(f"runs: {len(outcomes)}")
    print("venues: " + ", ".join(f"{v} {n}" for v, n in sorted(venues.items())))
    print(f"faults: {sum(faults.values())}")
    for kind, n in sorted(faults.items()):
        print(f"  {kind}: {n}")
    print(f"violations: {violations}")
    failing = [o.seed for o in outcomes if o.violations]
    for seed in failing:
        print(f"replay: {sys.executable} -m tests.chaos --seed {seed} -v")
    return violations


def main(argv: list[str] | None = None) -> int:
    """Run the seeds, print the figures; 1 if any run broke a check."""
    ap = argparse.ArgumentParser(prog="python -m tests.chaos")
    ap.add_argument("--runs", type=int, default=DEFAULT_RUNS)
    ap.add_argument("--first-seed", type=int, default=0)
    ap.add_argument("--seed", type=int, nargs="*", default=None, help="run only these seeds")
    ap.add_argument("--max-minutes", type=float, default=DEFAULT_MAX_MINUTES)
    ap.add_argument("-v", "--verbose", action="store_true", help="steps of failing runs")
    ap.add_argument("--keep", type=Path, default=None, help="copy failing runs' files here")
    args = ap.parse_args(argv)
    seeds = args.seed if args.seed else list(range(args.first_seed, args.first_seed + args.runs))
    quiet_logs()
    outcomes = uvloop.run(run_seeds(seeds, args.max_minutes * 60, args.verbose, args.keep))
    return 1 if report(outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
