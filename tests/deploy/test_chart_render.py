"""The chart renders, lints strictly and validates against the Kubernetes API schemas.

Every value set in ``helm/tickbot/ci`` and ``examples`` is rendered with Helm's engine, linted
in strict mode for three Kubernetes minors AKS supports, and each manifest is validated with
kubernetes-validate in strict mode (a misspelt field is an error). Custom resources, which
kubernetes-validate has no schema for, are checked against their CRDs' fields in crd_schemas.
"""

from __future__ import annotations

import pytest

from tests.deploy import chart, crd_schemas

helm_python = pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

WARNING = 2
"""helm lint severities: 1 info, 2 warning, 3 error."""


@pytest.mark.parametrize("minor", chart.KUBE_MINORS)
@pytest.mark.parametrize("value_set", sorted(chart.VALUE_SETS))
def test_lint_strict_finds_nothing(value_set: str, minor: str) -> None:
    report = helm_python.lint(
        chart.CHART_DIR,
        chart.values_of(value_set),
        strict=True,
        namespace=chart.NAMESPACE,
        kube_version=f"v{minor}.0",
    )
    # strict: a warning counts as an error (info, such as "icon is recommended", does not)
    findings = [m for m in report["messages"] if m["severity"] >= WARNING]
    assert report["errors"] == []
    assert findings == []


@pytest.mark.parametrize("minor", chart.KUBE_MINORS)
@pytest.mark.parametrize("value_set", sorted(chart.VALUE_SETS))
def test_every_manifest_validates_strictly(value_set: str, minor: str) -> None:
    items = chart.manifests(chart.values_of(value_set))
    assert items
    for m in items:
        if m.kind in chart.CRD_KINDS:
            crd_schemas.validate(m.doc)
            continue
        kubernetes_validate.validate(m.doc, minor, strict=True)


def test_crd_check_rejects_a_misspelt_field() -> None:
    items = chart.manifests({})
    monitor = chart.one(items, "PodMonitor")
    monitor["spec"]["podMetricsEndpoint"] = monitor["spec"].pop("podMetricsEndpoints")
    with pytest.raises(crd_schemas.CrdValidationError, match="podMetricsEndpoint"):
        crd_schemas.validate(monitor)


def test_kubernetes_validate_rejects_a_misspelt_field() -> None:
    sts = chart.one(chart.manifests({}), "StatefulSet")
    sts["spec"]["template"]["spec"]["terminationGracePeriod"] = 30
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, chart.KUBE_MINORS[0], strict=True)


@pytest.mark.parametrize(
    ("value_set", "kinds"),
    [
        ("default", {"StatefulSet", "ConfigMap", "Service", "ServiceAccount", "Role",
                     "RoleBinding", "PodMonitor", "PrometheusRule", "NetworkPolicy", "Pod"}),
        ("live-keyvault", {"SecretProviderClass", "ServiceMonitor", "Role"}),
        ("sweep", {"Job", "PersistentVolumeClaim"}),
        ("lease-off", {"PodDisruptionBudget"}),
    ],
)  # fmt: skip
def test_value_set_renders_its_objects(value_set: str, kinds: set[str]) -> None:
    rendered = {m.kind for m in chart.manifests(chart.values_of(value_set))}
    assert kinds <= rendered, kinds - rendered


def test_monitoring_off_renders_no_monitoring_objects() -> None:
    rendered = {m.kind for m in chart.manifests(chart.values_of("monitoring-off"))}
    assert not rendered & {"PodMonitor", "ServiceMonitor", "PrometheusRule", "NetworkPolicy"}
    assert "tb-tickbot-dashboard" not in {
        m.name for m in chart.manifests(chart.values_of("monitoring-off"))
    }


def test_lease_off_has_no_rbac_and_no_token() -> None:
    items = chart.manifests(chart.values_of("lease-off"))
    assert not {m.kind for m in items} & {"Role", "RoleBinding"}
    pod = chart.one(items, "StatefulSet")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    on = chart.one(chart.manifests({}), "StatefulSet")["spec"]["template"]["spec"]
    assert on["automountServiceAccountToken"] is True


def test_lease_role_grants_only_the_lease() -> None:
    items = chart.manifests({})
    role = chart.one(items, "Role")
    assert {(g, r) for rule in role["rules"] for g in rule["apiGroups"]
            for r in rule["resources"]} == {("coordination.k8s.io", "leases")}  # fmt: skip
    named = [r for r in role["rules"] if "resourceNames" in r]
    assert named[0]["resourceNames"] == ["tb-tickbot"]
    lease = chart.bot_config(items)["lease"]  # the bot takes the Lease the Role names
    assert (lease["name"], lease["namespace"]) == ("tb-tickbot", chart.NAMESPACE)
