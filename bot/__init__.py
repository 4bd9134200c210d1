"""tickbot: a low-latency crypto trading bot (asyncio ingest, numba core, backtests)."""

from __future__ import annotations

import hashlib
import os
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

try:
    __version__ = version("tickbot")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"


def _source_digest() -> str:
    """Return a short hash of every ``.py`` file of ``bot`` and ``strategies``."""
    root = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(__version__.encode(), digest_size=8)
    for package in ("bot", "strategies"):
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _key_numba_cache() -> None:
    """Point numba's on-disk cache at a folder keyed by the source code's hash.

    numba checks only the timestamp of the file that defines a kernel, not of the kernels it
    inlines from other files: after an edit, a cached caller would run stale machine code (seen
    here as memory corruption). Keying the folder by a hash of all sources makes that impossible.
    The base folder is ``NUMBA_CACHE_DIR`` if set (an emptyDir in Kubernetes) or the user cache.
    """
    digest = _source_digest()
    current = os.environ.get("NUMBA_CACHE_DIR", "")
    if current.endswith(digest):
        return  # already keyed (a child process inherits it)
    base = current or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "tickbot", "numba"
    )
    keyed = os.path.join(base, digest)
    os.environ["NUMBA_CACHE_DIR"] = keyed
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before us: its config has already read the variable
        numba.config.CACHE_DIR = keyed


_key_numba_cache()
