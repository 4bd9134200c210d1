"""values.schema.json: the config's own schema embedded, closed objects, and the values users
must not get wrong (fractional CPUs, a second replica, a misspelt key) refused at install."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from helm import build_schema
from tests.deploy import chart

helm_python = pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")

SCHEMA = json.loads((chart.CHART_DIR / "values.schema.json").read_text(encoding="utf-8"))


def test_schema_file_is_what_make_chart_schema_writes() -> None:
    # Fails when bot/config changed (new field, new strategy) and the chart was not regenerated.
    assert (chart.CHART_DIR / "values.schema.json").read_text() == build_schema.render()


def _objects(node: Any, path: str = "$") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(node, dict):
        if "properties" in node:
            found.append((path, node))
        for key, child in node.items():
            found.extend(_objects(child, f"{path}.{key}"))
    elif isinstance(node, list):
        for i, child in enumerate(node):
            found.extend(_objects(child, f"{path}[{i}]"))
    return found


def test_every_object_level_is_closed() -> None:
    objects = _objects(SCHEMA)
    assert len(objects) > 30
    open_ = [path for path, node in objects if node.get("additionalProperties") is not False]
    assert open_ == []


def _rejects(values: dict[str, Any], needle: str) -> None:
    with pytest.raises(helm_python.HelmValuesError, match=needle):
        chart.chart().validate_schema(values)


def test_defaults_and_every_value_set_pass() -> None:
    for name in chart.VALUE_SETS:
        chart.chart().validate_schema(chart.values_of(name))


def test_fractional_cpu_is_refused() -> None:
    _rejects({"resources": {"requests": {"cpu": 1.5, "memory": "2Gi"},
                            "limits": {"cpu": 1.5, "memory": "2Gi"}}}, "cpu")  # fmt: skip
    _rejects({"resources": {"requests": {"cpu": "1500m", "memory": "2Gi"},
                            "limits": {"cpu": "1500m", "memory": "2Gi"}}}, "cpu")  # fmt: skip


def test_two_replicas_are_refused() -> None:
    _rejects({"replicaCount": 2}, "replicaCount")


@pytest.mark.parametrize(
    ("values", "needle"),
    [
        ({"replicas": 1}, "replicas"),
        ({"monitor": {"enabeld": True}}, "enabeld"),
        (
            {
                "config": {
                    "strategy": {"name": "fixed_spread"},
                    "instruments": [],
                    "risk": {},
                    "bogus": 1,
                }
            },
            "bogus",
        ),
    ],
)
def test_unknown_keys_are_refused(values: dict[str, Any], needle: str) -> None:
    _rejects(values, needle)


def test_strategy_params_are_checked_against_the_strategy() -> None:
    values = {"config": copy.deepcopy(chart.values_of("example-binance-avellaneda")["config"])}
    values["config"]["strategy"]["params"]["gamma_per_tick"] = -1
    _rejects(values, "gamma_per_tick|minimum|exclusiveMinimum")


def test_requests_unequal_to_limits_fail_the_render() -> None:
    # The schema cannot compare two values: the template's fail does.
    values = {"resources": {"requests": {"cpu": 2, "memory": "2Gi"},
                            "limits": {"cpu": 3, "memory": "2Gi"}}}  # fmt: skip
    with pytest.raises(helm_python.HelmRenderError, match="Guaranteed QoS"):
        chart.render(values)


def test_grace_period_must_cover_the_shutdown_deadline() -> None:
    with pytest.raises(helm_python.HelmRenderError, match="terminationGracePeriodSeconds"):
        chart.render({"terminationGracePeriodSeconds": 10})


def test_live_mode_without_credentials_fails_the_render() -> None:
    values = chart.values_of("live-keyvault")
    values["credentials"] = {"keyVault": {"enabled": False}}
    with pytest.raises(helm_python.HelmRenderError, match="credentials"):
        chart.render(values)
