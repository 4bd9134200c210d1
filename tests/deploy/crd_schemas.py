"""Strict checks of the chart's custom resources, which kubernetes-validate has no schema for.

Each schema lists the fields of the CRD (Prometheus Operator v0.8x ServiceMonitor, PodMonitor,
PrometheusRule; Secrets Store CSI driver v1 SecretProviderClass) that a chart may set, with
their types, and rejects anything else: a subset of the CRD, so a misspelt or invented field
fails here as it would be dropped (or refused) by the API server.
"""

from __future__ import annotations

from typing import Any

import jsonschema

DURATION = r"^(0|([0-9]+(ms|s|m|h|d|w|y))+)$"


class CrdValidationError(AssertionError):
    """A custom resource does not match its CRD's fields."""


def _obj(props: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": props,
        "required": list(required),
        "additionalProperties": False,
    }


_STR = {"type": "string"}
_LABELS = {"type": "object", "additionalProperties": _STR}
_METADATA = _obj(
    {"name": _STR, "namespace": _STR, "labels": _LABELS, "annotations": _LABELS}, ("name",)
)
_SELECTOR = _obj(
    {
        "matchLabels": _LABELS,
        "matchExpressions": {
            "type": "array",
            "items": _obj(
                {"key": _STR, "operator": _STR, "values": {"type": "array", "items": _STR}},
                ("key", "operator"),
            ),
        },
    }
)
_NAMESPACES = _obj({"any": {"type": "boolean"}, "matchNames": {"type": "array", "items": _STR}})
_ENDPOINT = _obj(
    {
        "port": _STR,
        "targetPort": {"type": ["string", "integer"]},
        "path": _STR,
        "scheme": {"enum": ["http", "https"]},
        "interval": {"type": "string", "pattern": DURATION},
        "scrapeTimeout": {"type": "string", "pattern": DURATION},
        "honorLabels": {"type": "boolean"},
        "relabelings": {"type": "array", "items": {"type": "object"}},
        "metricRelabelings": {"type": "array", "items": {"type": "object"}},
    }
)
_MONITOR_GROUPS = ["monitoring.coreos.com/v1", "azmonitoring.coreos.com/v1"]


def _monitor(kind: str, endpoints: str) -> dict[str, Any]:
    """ServiceMonitor and PodMonitor differ only in the name of their endpoint list."""
    return _obj(
        {
            "apiVersion": {"enum": _MONITOR_GROUPS},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": _obj(
                {
                    "selector": _SELECTOR,
                    "namespaceSelector": _NAMESPACES,
                    endpoints: {"type": "array", "minItems": 1, "items": _ENDPOINT},
                    "jobLabel": _STR,
                },
                ("selector", endpoints),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    )


SCHEMAS: dict[str, dict[str, Any]] = {
    "ServiceMonitor": _monitor("ServiceMonitor", "endpoints"),
    "PodMonitor": _monitor("PodMonitor", "podMetricsEndpoints"),
    "PrometheusRule": _obj(
        {
            "apiVersion": {"const": "monitoring.coreos.com/v1"},
            "kind": {"const": "PrometheusRule"},
            "metadata": _METADATA,
            "spec": _obj(
                {
                    "groups": {
                        "type": "array",
                        "items": _obj(
                            {
                                "name": _STR,
                                "interval": {"type": "string", "pattern": DURATION},
                                "rules": {
                                    "type": "array",
                                    "items": _obj(
                                        {
                                            "alert": _STR,
                                            "record": _STR,
                                            "expr": _STR,
                                            "for": {"type": "string", "pattern": DURATION},
                                            "labels": _LABELS,
                                            "annotations": _LABELS,
                                        },
                                        ("expr",),
                                    ),
                                },
                            },
                            ("name", "rules"),
                        ),
                    }
                },
                ("groups",),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
    "SecretProviderClass": _obj(
        {
            "apiVersion": {"const": "secrets-store.csi.x-k8s.io/v1"},
            "kind": {"const": "SecretProviderClass"},
            "metadata": _METADATA,
            "spec": _obj(
                {
                    "provider": {"enum": ["azure", "aws", "gcp", "vault"]},
                    "parameters": {"type": "object", "additionalProperties": _STR},
                    "secretObjects": {"type": "array", "items": {"type": "object"}},
                },
                ("provider", "parameters"),
            ),
        },
        ("apiVersion", "kind", "metadata", "spec"),
    ),
}


def validate(doc: dict[str, Any]) -> None:
    """Raise ``CrdValidationError`` listing every violation of the object's CRD fields."""
    schema = SCHEMAS.get(str(doc.get("kind")))
    if schema is None:
        raise CrdValidationError(f"no CRD schema for kind {doc.get('kind')!r}")
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=str)
    if errors:
        where = doc.get("metadata", {}).get("name")
        lines = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors]
        raise CrdValidationError(f"{doc['kind']} {where}: " + "; ".join(lines))
