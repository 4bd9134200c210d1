"""The CLI surface: version, help, the demo end to end, and one-line user errors (exit 2)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot import __version__
from bot.cli import COMMAND_MODULES, build_parser, main


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"tickbot {__version__}"
    help_text = build_parser().format_help()
    for name in COMMAND_MODULES:
        assert name.replace("_", "-") in help_text  # module cancel_all: command cancel-all


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: tickbot" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_the_bot_and_prints_a_summary() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--duration", "3", "--speed", "5",
         "--metrics-port", "0", "--no-view"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = proc.stdout[proc.stdout.index("demo summary") :]
    orders = int(summary.split("orders sent", 1)[1].split()[0].replace(",", ""))
    assert orders > 0
    assert "tick-to-trade    p50" in summary
    assert "cancel-all: done, no order left" in proc.stdout + proc.stderr


def test_user_errors_exit_2_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--duration", "-5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "tickbot demo: error: --duration must be positive"
