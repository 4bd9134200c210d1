"""``tickbot new-strategy``: what it writes, and the mistakes it refuses (exit 2, one line)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config.check import config_errors


def test_writes_an_installable_package_registering_the_strategy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new-strategy", "my_maker", "--dir", str(tmp_path)]) == 0
    root = tmp_path / "my_maker"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "examples/my_maker.yaml",
        "pyproject.toml",
        "src/tickbot_my_maker/__init__.py",
        "src/tickbot_my_maker/strategy.py",
        "tests/test_strategy.py",
    ]
    pyproject = (root / "pyproject.toml").read_text()
    entry_point = 'my_maker = "tickbot_my_maker.strategy"'
    assert f'[project.entry-points."tickbot.strategies"]\n{entry_point}' in pyproject
    for path in root.rglob("*.py"):
        ast.parse(path.read_text(), str(path))  # valid Python, every placeholder filled
        assert "{{" not in path.read_text()
    assert "next: pip install -e" in capsys.readouterr().out


def test_the_example_config_is_valid_but_for_the_strategy_not_yet_installed(
    tmp_path: Path,
) -> None:
    main(["new-strategy", "my_maker", "--dir", str(tmp_path)])
    raw = yaml.safe_load((tmp_path / "my_maker/examples/my_maker.yaml").read_text())
    errors = config_errors(raw)
    assert len(errors) == 1
    assert errors[0].startswith("strategy.name: unknown strategy 'my_maker'")
    raw["strategy"] = {"name": "fixed_spread", "params": {}}
    assert config_errors(raw) == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("My-Maker", "bad strategy name 'My-Maker'"),
        ("fixed_spread", "strategy 'fixed_spread' exists already"),
    ],
)
def test_refuses_a_bad_or_taken_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, message: str
) -> None:
    assert main(["new-strategy", name, "--dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"tickbot new-strategy: error: {message}")
    assert err.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites_a_folder_with_files_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = tmp_path / "my_maker" / "notes.txt"
    mine.parent.mkdir()
    mine.write_text("keep me")
    assert main(["new-strategy", "my_maker", "--dir", str(tmp_path)]) == 2
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in mine.parent.iterdir()] == ["notes.txt"]
    assert mine.read_text() == "keep me"
