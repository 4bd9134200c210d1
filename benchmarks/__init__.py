"""Benchmarks: each module exposes ``run() -> list[dict]`` (see STYLE.md section 11)."""
