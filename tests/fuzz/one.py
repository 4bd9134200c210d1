"""Run one fuzz target under atheris: ``python -m tests.fuzz.one NAME [libFuzzer args] [CORPUS]``.

tickbot's input-reading modules are instrumented for coverage (the numba kernels are not: numba
compiles from the original bytecode). Given a file instead of a corpus folder, libFuzzer runs
that one input: the replay command ``make fuzz`` prints for a crash.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import atheris

INSTRUMENTED = ("bot.adapters", "bot.ingest", "bot.execution.journal", "bot.data", "bot.config")
ROOT = Path(__file__).resolve().parents[2]


def _import_uninstrumented() -> None:
    """Import every module holding numba kernels first, so they stay as written."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "numba" in text or "njit" in text:
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            importlib.import_module(name)


def main() -> None:
    """Set up atheris on the named target and fuzz (libFuzzer exits the process)."""
    name, rest = sys.argv[1], sys.argv[2:]
    _import_uninstrumented()
    with atheris.instrument_imports(include=list(INSTRUMENTED)):
        from tests.fuzz import targets as t

    with t.quiet():
        one_input = t.targets()[name].make()
        atheris.Setup([sys.argv[0], *rest], one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
