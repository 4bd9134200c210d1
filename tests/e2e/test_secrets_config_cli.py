"""A canary secret put where it does not belong never comes back out of the CLI.

Users paste keys into the wrong place: into an ``*_env`` field (which names a variable), or
as a ``api_secret:`` field the schema does not have. Each is refused with one line, exit 2,
no traceback, and the canary is nowhere in the output. Service paths with ``..`` are refused.
The order paths (router, adapters, ``tickbot sign``) have their own canary tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.botproc import ROOT

CANARY = "canarySecretZq81xVv0d"

LIVE = """
strategy: {{name: fixed_spread, params: {{offset_ticks: 2, qty_lot: 1, interval_ms: 20}}}}
instruments: [{{venue: bybit, symbol: BTCUSDT}}]
risk: {{max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 200, burst: 400}}
mode: live
journal: {{path: {journal}}}
venues: [{{name: bybit, ws_url: 'ws://127.0.0.1:9/', credentials: {{{credentials}}}}}]
"""


def _cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "TICKBOT_CANARY": CANARY, **(env or {})},
        timeout=300,
        check=False,
    )
    return proc.returncode, proc.stdout + proc.stderr


def _write(tmp_path: Path, credentials: str, journal: str = "/tmp/j") -> Path:
    path = tmp_path / "live.yaml"
    path.write_text(LIVE.format(credentials=credentials, journal=journal))
    return path


@pytest.mark.parametrize("command", [["config", "validate"], ["run", "--no-view", "--config"]])
@pytest.mark.parametrize(
    "credentials",
    [
        f"api_secret_env: {CANARY}",
        f"api_secret: {CANARY}",
        f"api_key_env: K, passphrase_env: {CANARY}",
    ],
    ids=["key-in-env-field", "unknown-secret-field", "passphrase-in-env-field"],
)
def test_a_pasted_secret_is_refused_and_never_echoed(
    tmp_path: Path, command: list[str], credentials: str
) -> None:
    code, out = _cli(tmp_path, *command, str(_write(tmp_path, credentials)))
    assert code == 2, out
    assert CANARY not in out
    assert "Traceback" not in out
    assert "credentials" in out


def test_service_paths_with_dot_dot_are_refused(tmp_path: Path) -> None:
    for credentials, journal in [
        ("directory: /var/run/secrets/../../etc", "/tmp/j"),
        ("directory: /var/run/secrets/tickbot", "/var/lib/tickbot/../../../tmp/x"),
    ]:
        code, out = _cli(
            tmp_path, "config", "validate", str(_write(tmp_path, credentials, journal))
        )
        assert code == 2, out
        assert "must not contain '..'" in out
        assert "Traceback" not in out


def test_missing_credentials_name_the_variables_not_their_values(tmp_path: Path) -> None:
    """The env names are printed (the user must set them); a set variable's value never is."""
    config = _write(tmp_path, "api_key_env: BYBIT_KEY, api_secret_env: BYBIT_SECRET")
    code, out = _cli(
        tmp_path, "run", "--no-view", "--config", str(config), env={"BYBIT_KEY": CANARY}
    )
    assert code == 2, out
    assert CANARY not in out
    assert "Traceback" not in out
