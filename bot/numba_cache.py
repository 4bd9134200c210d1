"""Where numba keeps its on-disk cache: one folder per version of the sources.

Why: numba checks only the timestamp of the file that defines a cached kernel, not of the
kernels it inlines from other files. After an edit, a cached caller would run stale machine code
(seen here as memory corruption). Keying the cache folder by a hash of every source of ``bot``
and ``strategies`` makes that impossible.

Nothing happens at import. Entry points call :func:`configure` once, before the first module
with ``@njit(cache=True)`` is imported (numba picks the folder when a kernel is decorated):
``bot.cli.main``, ``python -m benchmarks`` and ``tests/conftest.py`` do.

API (small on purpose):

- ``configure(base=None) -> Path``: sets ``NUMBA_CACHE_DIR`` (inherited by child processes) and
  numba's config to ``<base>/<digest>``, prunes stale sibling folders, returns the folder.
  ``base`` is, in order: the argument, ``NUMBA_CACHE_DIR`` (an emptyDir in Kubernetes), or
  ``$XDG_CACHE_HOME/tickbot/numba`` (``~/.cache/tickbot/numba``). Idempotent: a child process
  whose ``NUMBA_CACHE_DIR`` already ends in the digest keeps it.
- ``cache_dir() -> Path``: the configured folder (configures with the defaults if nobody did).
  Code that writes generated modules for numba to cache (the backtest loop) puts them here, so
  they are keyed and pruned with the rest.
- ``source_digest() -> str``: the hex key (version and every ``.py`` of ``bot``/``strategies``).

Pruning: a sibling folder named like a digest that no process has configured for
``STALE_AFTER_S`` is removed. The age guard keeps the folder of another checkout (or an older
process) that shares the same base and is still running.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from functools import cache
from hashlib import blake2b
from pathlib import Path

DIGEST_BYTES = 8
"""Digest size: 16 hex characters name a folder."""

STALE_AFTER_S = 6 * 3600.0
"""A digest folder not configured by any process for this long is pruned."""

_STAMP = ".last-used"
_DIGEST_NAME = re.compile(rf"[0-9a-f]{{{2 * DIGEST_BYTES}}}")
_ROOT = Path(__file__).resolve().parent.parent
_PACKAGES = ("bot", "strategies")
_configured: Path | None = None


@cache
def source_digest() -> str:
    """Return a short hash of the version and every ``.py`` file of ``bot`` and ``strategies``."""
    from bot import __version__

    digest = blake2b(__version__.encode(), digest_size=DIGEST_BYTES)
    for package in _PACKAGES:
        for path in sorted((_ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(_ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _default_base() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(xdg) / "tickbot" / "numba"


def configure(base: str | os.PathLike[str] | None = None) -> Path:
    """Point numba's cache at ``<base>/<source digest>`` and prune stale folders; return it."""
    global _configured
    digest = source_digest()
    current = os.environ.get("NUMBA_CACHE_DIR", "")
    if base is not None:
        root = Path(base)
    elif current:
        root = Path(current)
        if _DIGEST_NAME.fullmatch(root.name):  # keyed by a parent process (maybe other sources)
            root = root.parent
    else:
        root = _default_base()
    keyed = root / digest
    keyed.mkdir(parents=True, exist_ok=True)
    (keyed / _STAMP).touch()
    os.environ["NUMBA_CACHE_DIR"] = str(keyed)
    numba = sys.modules.get("numba")
    if numba is not None:  # imported before us: its config has already read the variable
        numba.config.CACHE_DIR = str(keyed)
    _prune(keyed)
    _configured = keyed
    return keyed


def cache_dir() -> Path:
    """Return the configured cache folder, configuring it with the defaults if nobody did."""
    return _configured if _configured is not None else configure()


def _prune(keep: Path) -> None:
    """Remove sibling digest folders of ``keep`` that no process configured for a while."""
    cutoff = time.time() - STALE_AFTER_S
    try:
        siblings = list(keep.parent.iterdir())
    except OSError:
        return
    for folder in siblings:
        if folder == keep or not _DIGEST_NAME.fullmatch(folder.name) or not folder.is_dir():
            continue
        stamp = folder / _STAMP
        try:
            last_used = (stamp if stamp.exists() else folder).stat().st_mtime
        except OSError:
            continue
        if last_used < cutoff:
            shutil.rmtree(folder, ignore_errors=True)
