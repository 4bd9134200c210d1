"""Shared pytest setup: numba's keyed cache, asyncio debug mode, the ``../shared`` locator.

This file is imported before any test module, so configuring numba's cache here comes before
the first ``@njit(cache=True)`` kernel is decorated.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import numba_cache
from tests.support.shared import shared_root

numba_cache.configure()
os.environ.setdefault("PYTHONASYNCIODEBUG", "1")


@pytest.fixture
def shared() -> Path:
    """Return the root of the team's shared samples; skip the test when it is absent."""
    return shared_root()
