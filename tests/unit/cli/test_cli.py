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
        assert name in help_text


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: tickbot" in capsys.readouterr().out


def test_demo_streams_a_market_through_the_core(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--events", "20000", "--frames", "2", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "after 20,000 events" in out
    assert "crossed books 0" in out
    assert "in sync True" in out


def test_user_errors_exit_2_with_one_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo", "--events", "5"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "tickbot demo: error: --events must be at least 1000"
