"""The alerts and the dashboard query only metrics the bot declares (bot/metrics/registry.py)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

from bot.metrics.registry import REGISTRY
from tests.deploy import chart

pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")

NAME = re.compile(r"\btickbot_[a-z_]+")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _declared() -> set[str]:
    names = set()
    for family in REGISTRY.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":  # labelled: no samples until observed
            names.update(family.name + suffix for suffix in HISTOGRAM_SUFFIXES)
    return names


def _used(text: str) -> set[str]:
    return set(NAME.findall(text))


def test_alert_rules_use_declared_metrics() -> None:
    rule = chart.one(chart.manifests({}), "PrometheusRule")
    exprs = " ".join(r["expr"] for g in rule["spec"]["groups"] for r in g["rules"])
    used = _used(exprs)
    assert len(used) >= 8
    assert used <= _declared(), used - _declared()


def test_dashboard_uses_declared_metrics() -> None:
    items = chart.manifests({})
    cm = next(m.doc for m in items if m.name == f"{chart.RELEASE}-tickbot-dashboard")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    dashboard = json.loads(cm["data"]["tickbot.json"])
    used = _used(json.dumps(dashboard))
    assert len(dashboard["panels"]) >= 10
    assert used <= _declared(), used - _declared()


def test_rule_file_is_plain_yaml_of_groups() -> None:
    rule = chart.one(chart.manifests({}), "PrometheusRule")
    assert yaml.safe_load(yaml.safe_dump(rule["spec"]))["groups"][0]["rules"]
