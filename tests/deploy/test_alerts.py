"""The chart's PrometheusRule is real PromQL that fires on the situations it names.

The rule groups are taken from the rendered PrometheusRule, checked with ``promtool check
rules``, and unit-tested with ``promtool test rules``: series go in, and the test states which
alerts fire, with their labels and annotations, at which time, and which stay silent (another
release's pods, a healthy venue). promtool comes with Debian's ``prometheus`` package, which
``.ci/run`` installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import chart

pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")
PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing (apt-get install prometheus)"
)
POD = {"namespace": chart.NAMESPACE, "pod": f"{chart.RELEASE}-tickbot-0"}
OTHER = {"namespace": chart.NAMESPACE, "pod": "other-tickbot-0"}
"""Another release in the namespace: its series must never fire this release's alerts."""
ALERTS = {
    "TickbotFeedStale", "TickbotNotReady", "TickbotKillSwitchEngaged", "TickbotTickToTradeSlow",
    "TickbotReconnectStorm", "TickbotUnknownOutcomeOrders", "TickbotPositionNearLimit",
    "TickbotSpreadWide",
}  # fmt: skip


def _series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in {**POD, **labels}.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _other(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in {**OTHER, **labels}.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _quiet(name: str, at: str) -> dict[str, Any]:
    return {"alertname": name, "eval_time": at, "exp_alerts": []}


def _firing(
    rules: Path, name: str, at: str, labels: dict[str, str], severity: str, summary: str
) -> dict[str, Any]:
    """An alert expected at ``at``: labels, severity, the summary with its values filled in,
    and the rule's own description with its ``$labels`` filled in."""
    labels = {**POD, **labels}
    rule = next(
        r for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]
        if r["alert"] == name
    )  # fmt: skip
    text = rule["annotations"]["description"]
    description = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
    exp = {
        "exp_labels": {**labels, "severity": severity},
        "exp_annotations": {"summary": summary, "description": description},
    }
    return {"alertname": name, "eval_time": at, "exp_alerts": [exp]}


def _rules(tmp_path: Path, values: dict[str, Any]) -> Path:
    rule = chart.one(chart.manifests(values), "PrometheusRule")
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    return path


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run([PROMTOOL, *args], capture_output=True, text=True, timeout=120)


def test_rules_pass_promtool_check(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {})
    done = _promtool("check", "rules", str(rules))
    assert done.returncode == 0, done.stdout + done.stderr
    names = {r["alert"] for g in yaml.safe_load(rules.read_text())["groups"] for r in g["rules"]}
    assert names == ALERTS


def _bucket(venue: str, le: str, values: str) -> dict[str, str]:
    return _series("tickbot_tick_to_trade_seconds_bucket", {"venue": venue, "le": le}, values)


def test_each_alert_fires_on_its_situation_and_only_then(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {})
    v = {"venue": "binance-usdm"}
    book = {"venue": "binance-usdm", "symbol": "BTCUSDT"}
    series = [
        # silent 1 s, then 9 s stale from 1m15s: over 5 s for 30 s
        _series("tickbot_feed_staleness_seconds", v, "1x4 9x20"),
        _series("tickbot_feed_staleness_seconds", {"venue": "bybit"}, "1x24"),
        _other("tickbot_feed_staleness_seconds", v, "60x24"),
        # ready, then not ready from 1m15s (alert after 2 m)
        _series("tickbot_ready", {}, "1x4 0x20"),
        _other("tickbot_ready", {}, "0x24"),
        _series("tickbot_kill_switch", {}, "0x4 1x4"),
        # slow venue: every order between 1 and 2 ms; fast venue: all under 0.5 ms
        _bucket("binance-usdm", "0.0005", "0+0x60"),
        _bucket("binance-usdm", "0.001", "0+1x60"),
        _bucket("binance-usdm", "0.002", "0+100x60"),
        _bucket("binance-usdm", "+Inf", "0+100x60"),
        _bucket("bybit", "0.0005", "0+100x60"),
        _bucket("bybit", "0.001", "0+100x60"),
        _bucket("bybit", "0.002", "0+100x60"),
        _bucket("bybit", "+Inf", "0+100x60"),
        # one reconnect every 15 s on okx (40 in 10 min); bybit steady
        _series("tickbot_ws_reconnects_total", {"venue": "okx", "reason": "closed"}, "0+1x60"),
        _series("tickbot_ws_reconnects_total", {"venue": "bybit", "reason": "closed"}, "3x60"),
        _series("tickbot_orders_unknown_outcome_total", v, "0x4 1x20"),
        _series("tickbot_orders_unknown_outcome_total", {"venue": "bybit"}, "2x24"),
        # max_position_lot 50 in the default config: 45 short is over 80 %; 10 is not
        _series("tickbot_position_lots", book, "-45x10"),
        _series("tickbot_position_lots", {**book, "symbol": "ETHUSDT"}, "10x10"),
        # a 2-tick spread for an hour, then 20 ticks
        _series("tickbot_spread_ticks", book, "2x240 20x20"),
        _series("tickbot_spread_ticks", {**book, "symbol": "ETHUSDT"}, "2x260"),
    ]
    pod = POD["pod"]
    tests = [
        _quiet("TickbotFeedStale", "1m"),
        _firing(rules, "TickbotFeedStale", "2m", v, "critical",
                "binance-usdm market data silent for 9s"),
        _quiet("TickbotNotReady", "2m"),
        _firing(rules, "TickbotNotReady", "4m", {}, "critical", f"{pod} not ready"),
        _quiet("TickbotKillSwitchEngaged", "45s"),
        _firing(rules, "TickbotKillSwitchEngaged", "1m30s", {}, "critical",
                f"kill switch on in {pod}"),
        _quiet("TickbotTickToTradeSlow", "4m"),
        _firing(rules, "TickbotTickToTradeSlow", "12m", v, "warning",
                "tick-to-trade p99 1.99ms on binance-usdm"),
        _quiet("TickbotReconnectStorm", "1m"),
        _firing(rules, "TickbotReconnectStorm", "10m", {"venue": "okx"}, "warning",
                "okx reconnected 40 times in 10 minutes"),
        _quiet("TickbotUnknownOutcomeOrders", "45s"),
        _firing(rules, "TickbotUnknownOutcomeOrders", "2m", v, "critical",
                "orders with unknown outcome on binance-usdm"),
        _quiet("TickbotPositionNearLimit", "30s"),
        _firing(rules, "TickbotPositionNearLimit", "2m", book, "warning",
                "BTCUSDT position 45 lots"),
        _quiet("TickbotSpreadWide", "59m"),
        _firing(rules, "TickbotSpreadWide", "64m", book, "warning",
                "BTCUSDT spread 20 ticks on binance-usdm"),
    ]  # fmt: skip
    suite = {
        "rule_files": [str(rules)],
        "evaluation_interval": "15s",
        "tests": [{"interval": "15s", "input_series": series, "alert_rule_test": tests}],
    }
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump(suite, sort_keys=False))
    done = _promtool("test", "rules", str(test_file))
    assert done.returncode == 0, done.stdout + done.stderr


def test_thresholds_come_from_values(tmp_path: Path) -> None:
    rules = _rules(tmp_path, {"alerts": {"feedStaleSeconds": 30, "positionNearLimitRatio": 0.5}})
    exprs = {r["alert"]: r["expr"] for g in yaml.safe_load(rules.read_text())["groups"]
             for r in g["rules"]}  # fmt: skip
    assert exprs["TickbotFeedStale"].endswith("> 30")
    assert exprs["TickbotPositionNearLimit"].endswith("> 25")  # 0.5 x max_position_lot 50
