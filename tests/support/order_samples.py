"""Locate the real exchange samples in ``../shared`` (env ``TICKBOT_SHARED``) and skip without.

The samples are read in place, never copied into the repo.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest

REPO = Path(__file__).resolve().parents[2]


def shared_root() -> Path:
    """``$TICKBOT_SHARED``, else ``../shared`` beside the checkout."""
    env = os.environ.get("TICKBOT_SHARED")
    return Path(env) if env else REPO.parent / "shared"


def sample(venue_dir: str, relative: str) -> Path:
    """Path of ``exchanges/samples/<venue_dir>/<relative>``; skip the test when absent."""
    path = shared_root() / "exchanges" / "samples" / venue_dir / relative
    if not path.exists():
        pytest.skip(f"shared sample not available: {venue_dir}/{relative} (set TICKBOT_SHARED)")
    return path


def sample_json(venue_dir: str, relative: str) -> Any:
    """A sample file decoded as JSON."""
    return orjson.loads(sample(venue_dir, relative).read_bytes())


def sample_ndjson(venue_dir: str, relative: str) -> list[Any]:
    """Every line of an NDJSON sample, decoded."""
    lines = sample(venue_dir, relative).read_bytes().splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


def sample_bytes(venue_dir: str, relative: str) -> bytes:
    """A sample file's raw bytes (a captured frame as the venue sent it)."""
    return sample(venue_dir, relative).read_bytes()
