"""Benchmarks: each ``bench_*.py`` module has ``run() -> list[dict]``; ``python -m benchmarks``.

Importing this package is an entry point (``python -m benchmarks`` or ``python -m
benchmarks.bench_x``, and their worker processes): it configures numba's keyed cache before any
benchmark module imports a cached kernel.
"""

from bot import numba_cache

numba_cache.configure()
