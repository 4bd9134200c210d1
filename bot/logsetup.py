"""Process-wide logging for ``tickbot run``: JSON lines off a TTY, plain text on one.

A JSON line carries ``ts`` (UTC, ISO 8601), ``level``, ``logger``, ``message`` and the standard
context fields when a call passes them in ``extra`` (``venue``, ``symbol``, ``strategy``,
``client_order_id``, ...): what AKS Container Insights and Loki ingest. Secrets registered with
``redact`` are replaced by ``***`` in every record, whatever the logger, so a key that slips into
an exception text still never reaches the output.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import orjson

_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}
_SECRETS: set[str] = set()
_MIN_SECRET_LEN = 4
"""Shorter values are not redacted (they would mask ordinary words)."""


def redact(*secrets: str | None) -> None:
    """Register values that must never appear in a log line."""
    for secret in secrets:
        if secret is not None and len(secret) >= _MIN_SECRET_LEN:
            _SECRETS.add(secret)


def scrub(text: str) -> str:
    """Return ``text`` with every registered secret replaced by ``***``."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a JSON object (context fields from ``extra`` included)."""
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="microseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """``HH:MM:SS.mmm LEVEL logger: message`` (for a human at a terminal)."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s.%(msecs)03d %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as one line of text, secrets scrubbed."""
        return scrub(super().format(record))


def configure(level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stdout) as JSON or text.

    ``fmt``: ``json``, ``text`` or ``auto`` (text on a TTY, else JSON).
    """
    out = stream if stream is not None else sys.stdout
    if fmt == "auto":
        fmt = "text" if out.isatty() else "json"
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("aiohttp.access", "kubernetes.client.rest", "urllib3"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
