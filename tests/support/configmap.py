"""A ConfigMap volume written the way the kubelet's AtomicWriter writes it.

Layout: ``dir/..<timestamp>/<key>`` holds the files, ``dir/..data`` is a relative symlink to
the newest timestamped directory, and each key is ``dir/<key> -> ..data/<key>``. An update writes
a new timestamped directory, points a ``..data_tmp`` symlink at it, renames that over ``..data``
(the one atomic step) and removes the old directory.
"""

from __future__ import annotations

import itertools
import os
import shutil
from pathlib import Path

_counter = itertools.count()


class ConfigMapVolume:
    """A directory updated like a mounted ConfigMap."""

    def __init__(self, root: Path, files: dict[str, str]) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._current: Path | None = None
        self.update(files)
        for key in files:
            os.symlink(f"..data/{key}", root / key)

    def path(self, key: str) -> Path:
        """Return the path a pod reads (``dir/<key>``)."""
        return self.root / key

    def update(self, files: dict[str, str]) -> None:
        """Publish new contents with the atomic ``..data`` swap."""
        stamp = self.root / f"..2026_12_02_07_30_00.{next(_counter):09d}"
        stamp.mkdir()
        for key, text in files.items():
            (stamp / key).write_text(text)
        tmp = self.root / "..data_tmp"
        os.symlink(stamp.name, tmp)
        os.rename(tmp, self.root / "..data")
        if self._current is not None:
            shutil.rmtree(self._current)
        self._current = stamp
