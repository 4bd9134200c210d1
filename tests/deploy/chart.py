"""Render the chart with Helm's own engine (``helm_python``: Helm's Go SDK, no helm binary).

Value sets are the chart's ``ci/*-values.yaml`` and ``examples/*.yaml``; each renders to a list
of manifests (dicts) with the template they came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "helm" / "tickbot"
CI_VALUES = sorted((CHART_DIR / "ci").glob("*-values.yaml"))
EXAMPLES = sorted((CHART_DIR / "examples").glob("*.yaml"))
VALUE_SETS = {p.name.removesuffix("-values.yaml"): p for p in CI_VALUES} | {
    f"example-{p.stem}": p for p in EXAMPLES
}
KUBE_MINORS = ("1.32", "1.33", "1.34")
"""Kubernetes minors AKS supports as the chart is written (lint and validate against each)."""
RELEASE = "tb"
NAMESPACE = "trading"
CRD_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule", "SecretProviderClass"}


@dataclass(frozen=True)
class Manifest:
    """One rendered object and the template that made it."""

    template: str
    doc: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.doc["kind"])

    @property
    def name(self) -> str:
        return str(self.doc["metadata"]["name"])


@cache
def chart() -> Any:
    """Return the loaded chart (loaded once per process)."""
    import helm_python

    return helm_python.Chart.load(CHART_DIR)


def values_of(name: str) -> dict[str, Any]:
    """Return the values of a named value set (``{}`` for the defaults)."""
    return yaml.safe_load(VALUE_SETS[name].read_text(encoding="utf-8")) or {}


def render(values: dict[str, Any]) -> dict[str, str]:
    """Return ``{template path: text}`` (NOTES.txt included)."""
    return dict(chart().render(values, name=RELEASE, namespace=NAMESPACE, is_install=True))


def manifests(values: dict[str, Any]) -> list[Manifest]:
    """Return every object the values render to (hooks such as the test pod included)."""
    out = []
    for template, text in render(values).items():
        if not template.endswith((".yaml", ".yml")):
            continue
        out.extend(Manifest(template, doc) for doc in yaml.safe_load_all(text) if doc)
    return out


def one(items: list[Manifest], kind: str) -> dict[str, Any]:
    """Return the single object of a kind (fail when there are none or several)."""
    found = [m.doc for m in items if m.kind == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def bot_config(items: list[Manifest]) -> dict[str, Any]:
    """Return the bot's config file as the chart's ConfigMap delivers it."""
    cm = next(m.doc for m in items if m.kind == "ConfigMap" and m.name == f"{RELEASE}-tickbot")
    return dict(yaml.safe_load(cm["data"]["tickbot.yaml"]))


def chart_defaults() -> dict[str, Any]:
    """Return the chart's values.yaml."""
    return dict(yaml.safe_load((CHART_DIR / "values.yaml").read_text(encoding="utf-8")))
