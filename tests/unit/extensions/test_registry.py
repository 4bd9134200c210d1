"""Strategies and venues from other distributions: found through their entry points, listed by
``tickbot strategies`` / ``tickbot venues``, and a bad plugin is one clear line (exit 2).

Each plugin here is a real installed distribution as Python sees one: a ``*.dist-info`` folder
with ``METADATA`` and ``entry_points.txt`` on ``sys.path``, next to its module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import strategies
from bot.cli import main
from bot.ingest import venues

PLUGIN_STRATEGY = '''"""Plugin maker: fixed_spread under another name."""
from strategies.fixed_spread import *  # noqa: F403
NAME = "plugin_maker"
'''
PLUGIN_VENUE = """from bot.ingest.venues import VENUES, VenueEntry
import dataclasses
ENTRY = dataclasses.replace(VENUES["okx"], name="deribit", order_entry="")
WRONG = dataclasses.replace(VENUES["okx"], name="nowhere")
"""


def _install(root: Path, dist: str, modules: dict[str, str], entry_points: str) -> None:
    """Write a distribution the way pip leaves one: its modules and its ``.dist-info``."""
    for name, text in modules.items():
        (root / f"{name}.py").write_text(text)
    info = root / f"{dist}-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2\n")
    (info / "entry_points.txt").write_text(entry_points)


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder on ``sys.path`` to install plugin distributions into."""
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in ("tp_strategy", "tp_broken", "tp_venue"):
        sys.modules.pop(name, None)


def test_a_plugin_strategy_is_available_loaded_and_described(site: Path) -> None:
    assert "plugin_maker" not in strategies.available()
    _install(site, "tp-maker", {"tp_strategy": PLUGIN_STRATEGY},
             "[tickbot.strategies]\nplugin_maker = tp_strategy\n")  # fmt: skip
    assert "plugin_maker" in strategies.available()
    module = strategies.load("plugin_maker")
    assert module.__name__ == "tp_strategy"
    info = strategies.describe("plugin_maker")
    assert info.source == "tp-maker 1.2"
    assert info.summary == "Plugin maker: fixed_spread under another name."
    assert "offset_ticks" in info.params


def test_a_plugin_cannot_replace_a_shipped_strategy(site: Path) -> None:
    _install(site, "tp-shadow", {"tp_strategy": PLUGIN_STRATEGY},
             "[tickbot.strategies]\nfixed_spread = tp_strategy\n")  # fmt: skip
    assert strategies.load("fixed_spread").__name__ == "strategies.fixed_spread"
    assert strategies.describe("fixed_spread").source == "built-in"


def test_a_broken_plugin_is_one_line_naming_it(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(site, "tp-broken", {"tp_broken": "import no_such_module_here\n"},
             "[tickbot.strategies]\nbroken_one = tp_broken\n")  # fmt: skip
    with pytest.raises(strategies.UnknownStrategyError, match=r"broken_one.*does not import"):
        strategies.load("broken_one")
    assert main(["strategies"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tickbot strategies: error: strategy 'broken_one' (tp_broken")
    assert "\n" not in err


def test_a_plugin_whose_name_disagrees_with_its_module_is_refused(site: Path) -> None:
    _install(site, "tp-other", {"tp_strategy": PLUGIN_STRATEGY},
             "[tickbot.strategies]\nother_name = tp_strategy\n")  # fmt: skip
    with pytest.raises(strategies.UnknownStrategyError, match="NAME = 'plugin_maker'"):
        strategies.load("other_name")


def test_tickbot_strategies_lists_shipped_and_plugin_strategies(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(site, "tp-maker", {"tp_strategy": PLUGIN_STRATEGY},
             "[tickbot.strategies]\nplugin_maker = tp_strategy\n")  # fmt: skip
    assert main(["strategies", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(strategies.builtin()) < set(rows)
    assert rows["plugin_maker"]["source"] == "tp-maker 1.2"
    assert rows["avellaneda_stoikov"]["wakes_on"] == ["timer", "orders"]
    assert rows["ema_rsi"]["uses_signals"] is True


def test_a_plugin_venue_serves_a_venue_id_the_core_knows(site: Path) -> None:
    _install(site, "tp-deribit", {"tp_venue": PLUGIN_VENUE},
             "[tickbot.venues]\nderibit = tp_venue:ENTRY\n")  # fmt: skip
    assert "deribit" not in venues.VENUES
    assert venues.venue("deribit").name == "deribit"
    assert set(venues.all_venues()) == {*venues.VENUES, "deribit"}


def test_a_plugin_venue_without_a_venue_id_is_refused(site: Path) -> None:
    _install(site, "tp-nowhere", {"tp_venue": PLUGIN_VENUE},
             "[tickbot.venues]\nnowhere = tp_venue:WRONG\n")  # fmt: skip
    with pytest.raises(ValueError, match="the core has no venue id for it"):
        venues.venue("nowhere")
    with pytest.raises(ValueError, match="unknown venue 'elsewhere'; supported: binance-usdm"):
        venues.venue("elsewhere")


def test_tickbot_venues_lists_what_each_venue_supports(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(site, "tp-deribit", {"tp_venue": PLUGIN_VENUE},
             "[tickbot.venues]\nderibit = tp_venue:ENTRY\n")  # fmt: skip
    assert main(["venues", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert set(rows) == {*venues.VENUES, "deribit"}
    assert rows["bitget"]["amend"] is False  # Bitget has no amend in our adapter
    assert rows["bitget"]["dead_man_switch"] is False
    assert rows["binance-usdm"]["ws_order_entry"] is True
    assert rows["okx"]["ws_order_entry"] is False
    assert all(rows[v]["testnet"] and rows[v]["cancel_all"] for v in venues.VENUES)
    assert rows["binance-usdm"]["streams"][0] == "depth@100ms"
    assert rows["deribit"] == {**rows["okx"], "name": "deribit", "source": "tp-deribit 1.2",
                               "order_entry": False, "amend": False, "cancel_all": False,
                               "dead_man_switch": False, "ws_order_entry": False,
                               "testnet": False}  # fmt: skip


def test_tickbot_venues_with_a_broken_plugin_is_one_line(
    site: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(site, "tp-nowhere", {"tp_venue": PLUGIN_VENUE},
             "[tickbot.venues]\nnowhere = tp_venue:WRONG\n")  # fmt: skip
    assert main(["venues"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tickbot venues: error: venue 'nowhere'")
    assert "\n" not in err
