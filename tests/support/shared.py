"""Locate the team's shared samples (real captures, public data files) and read them in place.

The samples are not copied into this repository. They live in a folder beside the checkout
(``../shared``, as CI provides it) or wherever ``TICKBOT_SHARED`` points. A test that needs one
skips with ``SKIP_REASON`` when the folder is absent; tests that must run everywhere use the
self-written fixtures in ``tests/fixtures/`` instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ENV = "TICKBOT_SHARED"
SKIP_REASON = "../shared samples not found (set TICKBOT_SHARED)"
DEFAULT = Path(__file__).resolve().parents[2].parent / "shared"
"""``../shared`` beside the checkout."""
OWN = Path(__file__).resolve().parents[1] / "fixtures"
"""The fixtures this project wrote itself (``tests/fixtures/<venue>/``)."""

VENUE_DIRS = {
    "binance_usdm": "binance_usdm",
    "bybit": "bybit_v5",
    "okx": "okx_v5",
    "bitget": "bitget_v2",
    "bingx": "bingx_swap",
    "bitmex": "bitmex",
}
"""Test-side venue name -> folder of its samples under ``exchanges/samples``."""


def shared_root() -> Path:
    """Return the shared folder, or skip the calling test (or module) when it is absent."""
    root = Path(os.environ.get(ENV) or DEFAULT)
    if not root.is_dir():
        pytest.skip(SKIP_REASON, allow_module_level=True)
    return root


def shared_path(*parts: str) -> Path:
    """Return ``<shared>/<parts...>``; skip when the shared folder or that file is absent."""
    path = shared_root().joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{SKIP_REASON}: {'/'.join(parts)} missing", allow_module_level=True)
    return path


def exchange_sample(venue: str, name: str) -> Path:
    """Return the captured (or documented) message file ``name`` of ``venue``."""
    return shared_path("exchanges", "samples", VENUE_DIRS[venue], name)


def fixture_file(venue: str, name: str) -> Path:
    """Return ``tests/fixtures/<venue>/<name>`` if this project wrote it, else the shared sample.

    ``name`` may name a subfolder of the venue's samples (``docs/ws_OrderBook_push.json``).
    """
    own = OWN / venue / name
    return own if own.exists() else exchange_sample(venue, name)


def data_sample(name: str) -> Path:
    """Return the public data file ``name`` (Binance archives, tardis CSVs)."""
    return shared_path("data-formats", "samples", name)
