"""The generated reference pages cover every command, option, config field and metric."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot import reference
from bot.cli import build_parser
from bot.config.check import config_schema
from bot.metrics.registry import REGISTRY


def test_cli_page_lists_every_command_and_option() -> None:
    page = reference.cli_markdown()
    parser = build_parser()
    commands = [name for name, _ in reference._subcommands(parser)]
    assert "backtest" in commands
    for name, sub in reference._subcommands(parser):
        assert f"## `tickbot {name}`" in page
        for action in sub._actions:
            for option in action.option_strings:
                if not isinstance(action, argparse._HelpAction):
                    assert f"`{option}`" in page, (name, option)


def test_config_page_lists_every_field_with_its_constraints() -> None:
    page = reference.config_markdown()
    defs = config_schema()["$defs"]
    risk = defs["RiskSection"]
    for field in risk["properties"]:
        assert f"| `{field}` |" in page
    assert "| `max_order_lot` | integer | yes |  | > `0` |" in page


def test_config_page_takes_field_meaning_from_attribute_docstrings() -> None:
    page = reference.config_markdown()
    assert "| `entry_ms` | number |  | `0.0` | >= `0` | Local -> venue, milliseconds. |" in page


def test_metrics_page_lists_every_registered_metric() -> None:
    page = reference.metrics_markdown()
    names = {m.name for m in REGISTRY.collect()}
    assert names
    for name in names:
        assert f"`{name}" in page, name


def test_write_pages_writes_each_page(tmp_path) -> None:
    written = reference.write_pages(tmp_path)
    assert sorted(p.name for p in written) == sorted(reference.PAGES)
    assert all(p.read_text().startswith("<!-- Generated") for p in written)


def test_committed_reference_pages_are_fresh(tmp_path) -> None:
    """``docs/reference`` is what ``make docs`` writes now: regenerate it after a change."""
    committed = Path(__file__).resolve().parents[3] / "docs" / "reference"
    for path in reference.write_pages(tmp_path):
        old = (committed / path.name).read_text(encoding="utf-8")
        assert old == path.read_text(encoding="utf-8"), f"{path.name} is stale: run make docs"


def test_alerts_page_lists_every_alert_of_the_chart_with_its_runbook() -> None:
    rules = reference.chart_alerts()
    page = reference.alerts_markdown(rules)
    runbook = (Path(__file__).resolve().parents[3] / "docs" / reference.RUNBOOK_PAGE).read_text()
    assert len(rules) >= 8
    for rule in rules:
        name = rule["alert"]
        assert f"## {name}\n" in page
        assert f"../{reference.RUNBOOK_PAGE}#{name.lower()}" in page
        assert rule["expr"].strip() in page
        # the runbook has a section headed by the alert's name (the anchor links to it)
        assert f"### {name}\n" in runbook, f"docs/{reference.RUNBOOK_PAGE} lacks ### {name}"
