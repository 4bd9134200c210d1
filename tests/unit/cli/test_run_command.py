"""``tickbot run`` refuses what it cannot run: one line, exit 2, no traceback, no secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CONFIG = """
strategy: {name: fixed_spread}
instruments: [{venue: bybit, symbol: BTCUSDT}]
risk: {max_position_lot: 1, max_order_lot: 1, max_notional_quote: 100, price_band_bps: 10,
       max_open_orders: 2, orders_per_s: 1, burst: 1}
mode: live
venues: [{name: bybit, rest_url: 'http://127.0.0.1:9'}]
journal: {path: /tmp/tickbot-journal}
"""


def _run(config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BYBIT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "--config", str(config), "--no-view"],
        capture_output=True, text=True, check=False, env={**clean, **env}, timeout=300,
    )  # fmt: skip


def test_live_without_credentials_refuses_to_start(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(CONFIG)
    proc = _run(config)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last == (
        "tickbot run: error: bybit: mode live needs credentials (environment variables "
        "BYBIT_API_KEY and BYBIT_API_SECRET are not set)"
    )
    assert "Traceback" not in proc.stderr


def test_live_needs_a_journal_and_real_venues(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    text = CONFIG.replace("journal: {path: /tmp/tickbot-journal}\n", "")
    config.write_text(text.replace("venues: [{name: bybit, rest_url: 'http://127.0.0.1:9'}]", ""))
    proc = _run(config)
    assert proc.returncode == 2
    assert "instruments[0].venue: 'bybit' is not in venues (none)" in proc.stderr
    assert "journal.path: required in mode live" in proc.stderr


def test_live_with_credentials_never_logs_them(tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(CONFIG)
    proc = _run(config, BYBIT_API_KEY="key-AAAA-1111", BYBIT_API_SECRET="secret-BBBB-2222")
    assert proc.returncode == 2  # refused (specs unreachable or no order entry): never trades
    assert "secret-BBBB-2222" not in proc.stdout + proc.stderr
    assert "key-AAAA-1111" not in proc.stdout + proc.stderr


def test_a_bad_config_is_one_line_per_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text(CONFIG.replace("max_order_lot: 1", "max_order_lot: 0"))
    proc = _run(config)
    assert proc.returncode == 2
    assert "risk.max_order_lot: must be > 0, got 0" in proc.stderr
    assert "Traceback" not in proc.stderr
