"""Benchmarks: each ``bench_*.py`` module has ``run() -> list[dict]``; ``python -m benchmarks``."""
