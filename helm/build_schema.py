"""Write ``helm/tickbot/values.schema.json``: the chart's values, with ``config`` checked by the
schema of ``tickbot config schema`` (embedded under ``$defs``).

Run ``make chart-schema`` after changing the config structs or the chart's values;
``tests/deploy`` fails while the checked-in file differs from what this writes.
Every object sets ``additionalProperties: false``, so a misspelt value is an error at install.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).resolve().parent / "tickbot" / "values.schema.json"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|k|M|G|T)?$"
DURATION = r"^[0-9]+(ms|s|m|h)$"
MONITOR_GROUPS = ["monitoring.coreos.com/v1", "azmonitoring.coreos.com/v1"]


def obj(props: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Return a closed object schema (no unknown keys)."""
    out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
    if required:
        out["required"] = required
    out.update(extra)
    return out


def free_map(values: dict[str, Any], description: str) -> dict[str, Any]:
    """Return a map of user-chosen keys (labels, annotations) with typed values."""
    return {"type": "object", "additionalProperties": values, "description": description}


STR = {"type": "string"}
BOOL = {"type": "boolean"}
LABELS = free_map(STR, "string to string")
WHOLE_CPU = {
    "type": "integer",
    "minimum": 1,
    "description": "Whole CPUs: the static CPU manager pins cores only for integer requests",
}
MEMORY = {"type": "string", "pattern": QUANTITY}


def resources() -> dict[str, Any]:
    """Guaranteed QoS: integer CPUs and memory, requests and limits both given."""
    pair = obj({"cpu": WHOLE_CPU, "memory": MEMORY}, ["cpu", "memory"])
    return obj({"requests": pair, "limits": pair}, ["requests", "limits"])


def peer() -> dict[str, Any]:
    """A NetworkPolicy peer (selectors are Kubernetes LabelSelectors)."""
    selector = obj(
        {
            "matchLabels": LABELS,
            "matchExpressions": {"type": "array", "items": {"type": "object"}},
        }
    )
    return obj({"namespaceSelector": selector, "podSelector": selector})


def chart_schema() -> dict[str, Any]:
    """Return the schema of the chart's own values (``config`` refers to ``$defs``)."""
    probe = {"type": "integer", "minimum": 1}
    return obj(
        {
            "nameOverride": STR,
            "fullnameOverride": {"type": "string", "maxLength": 63},
            "commonLabels": LABELS,
            "image": obj(
                {
                    "repository": {"type": "string", "minLength": 1},
                    "tag": STR,
                    "digest": {"type": "string", "pattern": r"^(sha256:[0-9a-f]{64})?$"},
                    "pullPolicy": {"enum": ["Always", "IfNotPresent", "Never"]},
                },
                ["repository"],
            ),
            "imagePullSecrets": {"type": "array", "items": obj({"name": STR}, ["name"])},
            "replicaCount": {
                "type": "integer",
                "minimum": 0,
                "maximum": 1,
                "description": "Never two bots on one account",
            },
            "resources": resources(),
            "nodeSelector": LABELS,
            "tolerations": {
                "type": "array",
                "items": obj(
                    {
                        "key": STR,
                        "operator": {"enum": ["Equal", "Exists"]},
                        "value": STR,
                        "effect": {"enum": ["NoSchedule", "PreferNoSchedule", "NoExecute"]},
                        "tolerationSeconds": {"type": "integer"},
                    }
                ),
            },
            "affinity": {"type": "object"},
            "priorityClassName": STR,
            "terminationGracePeriodSeconds": {"type": "integer", "minimum": 1},
            "podLabels": LABELS,
            "podAnnotations": LABELS,
            "podSecurityContext": obj({"fsGroup": {"type": "integer", "minimum": 1}}),
            "env": {
                "type": "array",
                "items": obj(
                    {"name": STR, "value": STR, "valueFrom": {"type": "object"}}, ["name"]
                ),
            },
            "config": {"$ref": "#/$defs/StrategyConfig"},
            "rolloutOnConfigChange": BOOL,
            "credentials": obj(
                {
                    "mountPath": {"type": "string", "pattern": "^/"},
                    "existingSecret": STR,
                    "keyVault": obj(
                        {
                            "enabled": BOOL,
                            "vaultName": STR,
                            "tenantId": STR,
                            "clientId": STR,
                            "objects": {
                                "type": "array",
                                "items": obj(
                                    {
                                        "name": {"type": "string", "minLength": 1},
                                        "file": {"enum": ["api_key", "api_secret", "passphrase"]},
                                    },
                                    ["name", "file"],
                                ),
                            },
                        }
                    ),
                }
            ),
            "serviceAccount": obj({"create": BOOL, "name": STR, "annotations": LABELS}),
            "numbaCache": obj({"sizeLimit": MEMORY}),
            "tmp": obj({"sizeLimit": MEMORY}),
            "journal": obj(
                {
                    "mountPath": {"type": "string", "pattern": "^/"},
                    "size": MEMORY,
                    "storageClassName": STR,
                }
            ),
            "probes": obj(
                {
                    "startup": obj({"periodSeconds": probe, "failureThreshold": probe}),
                    "liveness": obj(
                        {"periodSeconds": probe, "failureThreshold": probe, "timeoutSeconds": probe}
                    ),
                    "readiness": obj(
                        {"periodSeconds": probe, "failureThreshold": probe, "timeoutSeconds": probe}
                    ),
                }
            ),
            "service": obj({"annotations": LABELS}),
            "monitor": obj(
                {
                    "enabled": BOOL,
                    "kind": {"enum": ["ServiceMonitor", "PodMonitor"]},
                    "apiVersion": {"enum": MONITOR_GROUPS},
                    "interval": {"type": "string", "pattern": DURATION},
                    "labels": LABELS,
                }
            ),
            "alerts": obj(
                {
                    "enabled": BOOL,
                    "labels": LABELS,
                    "feedStaleSeconds": {"type": "number", "exclusiveMinimum": 0},
                    "notReadyFor": {"type": "string", "pattern": DURATION},
                    "tickToTradeP99Seconds": {"type": "number", "exclusiveMinimum": 0},
                    "reconnectsPer10m": {"type": "integer", "minimum": 0},
                    "positionNearLimitRatio": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "maximum": 1,
                    },
                    "spreadWidening": {"type": "number", "exclusiveMinimum": 1},
                }
            ),
            "dashboard": obj({"enabled": BOOL, "labels": LABELS}),
            "networkPolicy": obj(
                {
                    "enabled": BOOL,
                    "metricsFrom": {"type": "array", "items": peer()},
                    "egressCidrs": {"type": "array", "items": STR},
                    "apiServerCidrs": {"type": "array", "items": STR},
                }
            ),
            "podDisruptionBudget": obj({"enabled": BOOL}),
            "sweep": obj(
                {
                    "enabled": BOOL,
                    "shards": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "parallelism": {"type": "integer", "minimum": 1},
                    "grid": free_map(
                        {"type": "array", "minItems": 1}, "dotted config path to a list of values"
                    ),
                    "config": {
                        "anyOf": [
                            {"$ref": "#/$defs/StrategyConfig"},
                            {"type": "object", "maxProperties": 0},
                        ]
                    },
                    "dataClaim": STR,
                    "data": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "results": obj({"size": MEMORY, "storageClassName": STR}),
                    "resources": resources(),
                    "backoffLimitPerIndex": {"type": "integer", "minimum": 0},
                }
            ),
            "global": {"type": "object", "description": "Helm's global values (of a parent chart)"},
        },
        ["image", "resources", "config"],
    )


def render() -> str:
    """Return the values schema as the file's text."""
    from bot.config.check import config_schema

    config = config_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "tickbot"}
    schema.update(chart_schema())
    schema["$defs"] = config["$defs"]
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def main() -> int:
    """Write the schema file; with ``--check``, exit 1 when the file is out of date."""
    text = render()
    if "--check" in sys.argv[1:]:
        if SCHEMA_PATH.read_text(encoding="utf-8") != text:
            sys.stderr.write(f"{SCHEMA_PATH} is out of date: run make chart-schema\n")
            return 1
        return 0
    SCHEMA_PATH.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
