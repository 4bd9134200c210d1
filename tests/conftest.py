"""Shared pytest setup: asyncio debug mode for every async test (STYLE 7)."""

from __future__ import annotations

import os

os.environ.setdefault("PYTHONASYNCIODEBUG", "1")
