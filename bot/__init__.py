"""tickbot: a low-latency crypto trading bot (asyncio ingest, numba core, backtests).

Importing ``bot`` has no side effects; entry points configure numba's cache explicitly
(``bot.numba_cache.configure``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tickbot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"
