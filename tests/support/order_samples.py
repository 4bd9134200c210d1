"""Read the real order-entry samples in place (``exchanges/samples/<venue_dir>/...`` under the
shared folder located by ``tests.support.shared``); a test skips when one is absent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from tests.support.shared import shared_path


def sample(venue_dir: str, relative: str) -> Path:
    """Path of ``exchanges/samples/<venue_dir>/<relative>``; skip the test when absent."""
    return shared_path("exchanges", "samples", venue_dir, *relative.split("/"))


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
