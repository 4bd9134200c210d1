"""numba's cache folder is keyed by the sources, configured explicitly, and pruned when stale."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numba
import pytest

from bot import numba_cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test call ``configure`` and restore the suite's own cache settings afterwards."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", os.environ.get("NUMBA_CACHE_DIR", ""))
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    monkeypatch.setattr(numba_cache, "_configured", None)


def test_importing_bot_changes_nothing(tmp_path: Path) -> None:
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    probe = "import os, bot, bot.backtest.engine; print(os.environ['NUMBA_CACHE_DIR'])"
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == str(tmp_path)
    assert not (tmp_path / numba_cache.source_digest()).exists()


_NO_LIBC_PROBE = """
import ctypes, importlib, pkgutil, numba, numpy
import bot
loaded = []
real = ctypes.CDLL
ctypes.CDLL = lambda *a, **k: loaded.append(a) or real(*a, **k)
for m in pkgutil.walk_packages(bot.__path__, "bot."):
    importlib.import_module(m.name)
print(len(loaded))
"""


def test_no_module_of_bot_loads_a_c_library_at_import() -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _NO_LIBC_PROBE], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "0"


@pytest.mark.usefixtures("isolated")
def test_configure_keys_the_folder_and_tells_numba(tmp_path: Path) -> None:
    keyed = numba_cache.configure(tmp_path)
    assert keyed == tmp_path / numba_cache.source_digest()
    assert keyed.is_dir()
    assert os.environ["NUMBA_CACHE_DIR"] == str(keyed)
    assert str(keyed) == numba.config.CACHE_DIR
    assert numba_cache.cache_dir() == keyed


@pytest.mark.usefixtures("isolated")
def test_a_child_process_keeps_the_keyed_folder(tmp_path: Path) -> None:
    keyed = numba_cache.configure(tmp_path)
    assert numba_cache.configure() == keyed  # NUMBA_CACHE_DIR already ends in the digest
    os.environ["NUMBA_CACHE_DIR"] = str(tmp_path / ("0" * 16))  # keyed by other sources
    assert numba_cache.configure() == keyed


@pytest.mark.usefixtures("isolated")
def test_stale_folders_are_pruned_and_others_kept(tmp_path: Path) -> None:
    old, recent, unrelated = tmp_path / ("a" * 16), tmp_path / ("b" * 16), tmp_path / "notes"
    for folder in (old, recent, unrelated):
        folder.mkdir()
    stale = time.time() - numba_cache.STALE_AFTER_S - 60
    os.utime(old, (stale, stale))
    (unrelated / "x").write_text("kept")
    os.utime(unrelated, (stale, stale))
    numba_cache.configure(tmp_path)
    assert not old.exists()
    assert recent.is_dir()
    assert unrelated.is_dir()


def test_digest_follows_every_source_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for package in ("bot", "strategies"):
        (tmp_path / package / "sub").mkdir(parents=True)
        (tmp_path / package / "sub" / "k.py").write_text("X = 1\n")
    monkeypatch.setattr(numba_cache, "_ROOT", tmp_path)
    numba_cache.source_digest.cache_clear()
    try:
        before = numba_cache.source_digest()
        (tmp_path / "strategies" / "sub" / "k.py").write_text("X = 2\n")
        numba_cache.source_digest.cache_clear()
        assert numba_cache.source_digest() != before
    finally:
        numba_cache.source_digest.cache_clear()
