"""Logs: one JSON object per line off a TTY, context fields kept, secrets never shown."""

from __future__ import annotations

import io
import logging

import orjson

from bot.logsetup import configure, redact


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_json_lines_with_context_and_no_secret() -> None:
    out = io.StringIO()
    configure("INFO", "auto", out)
    redact("s3cr3t-key-material")
    log = logging.getLogger("bot.test")
    log.info("sent %s", "order", extra={"venue": "bybit", "client_order_id": "abc1"})
    try:
        raise ValueError("signature over s3cr3t-key-material failed")
    except ValueError:
        log.exception("boom s3cr3t-key-material")
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first = orjson.loads(lines[0])
    assert first["message"] == "sent order"
    assert first["venue"] == "bybit"
    assert first["client_order_id"] == "abc1"
    assert first["level"] == "INFO"
    assert first["logger"] == "bot.test"
    second = orjson.loads(lines[1])
    assert "s3cr3t" not in lines[1]
    assert "***" in second["message"]
    assert "***" in second["exception"]


def test_text_on_a_tty() -> None:
    out = _Tty()
    configure("INFO", "auto", out)
    logging.getLogger("bot.test").warning("hello %d", 3)
    line = out.getvalue().strip()
    assert line.endswith("WARNING bot.test: hello 3")
    assert not line.startswith("{")
