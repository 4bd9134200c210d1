"""What users rely on in every rendered value set: Guaranteed QoS on whole CPUs, one replica,
the restricted Pod Security Standard, the config mounted as a directory, writable emptyDirs
for the numba cache and /tmp, the journal on a PVC, probes, and no secret material anywhere."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from tests.deploy import chart

pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")

VALUE_SETS = sorted(chart.VALUE_SETS)


def _pod_specs(items: list[chart.Manifest]) -> list[tuple[str, dict[str, Any]]]:
    specs = []
    for m in items:
        if m.kind in {"StatefulSet", "Job"}:
            specs.append((f"{m.kind}/{m.name}", m.doc["spec"]["template"]["spec"]))
        elif m.kind == "Pod":
            specs.append((f"Pod/{m.name}", m.doc["spec"]))
    return specs


def _trader(items: list[chart.Manifest]) -> dict[str, Any]:
    return chart.one(items, "StatefulSet")


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_guaranteed_qos_on_whole_cpus(value_set: str) -> None:
    for where, spec in _pod_specs(chart.manifests(chart.values_of(value_set))):
        for c in spec.get("initContainers", []) + spec["containers"]:
            res = c["resources"]
            assert res["requests"] == res["limits"], (where, c["name"])
            assert set(res["requests"]) == {"cpu", "memory"}, (where, c["name"])
            if where.startswith("StatefulSet"):
                assert isinstance(res["requests"]["cpu"], int), (where, res)


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_one_replica_one_pod_at_a_time(value_set: str) -> None:
    items = chart.manifests(chart.values_of(value_set))
    sts = _trader(items)
    assert sts["spec"]["replicas"] == 1
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert not [m for m in items if m.kind in {"Deployment", "ReplicaSet", "DaemonSet"}]


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_restricted_pod_security(value_set: str) -> None:
    for where, spec in _pod_specs(chart.manifests(chart.values_of(value_set))):
        psc = spec["securityContext"]
        assert psc["runAsNonRoot"] is True, where
        assert psc["runAsUser"] > 0, where
        assert psc["seccompProfile"]["type"] == "RuntimeDefault", where
        assert not spec.get("hostNetwork"), where
        assert not spec.get("hostPID"), where
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (where, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (where, c["name"])
            assert sc["capabilities"] == {"drop": ["ALL"]}, (where, c["name"])
            assert sc.get("privileged") is False, (where, c["name"])
        for v in spec.get("volumes", []):
            assert "hostPath" not in v, where


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_config_mounted_as_a_directory_and_writable_volumes(value_set: str) -> None:
    sts = _trader(chart.manifests(chart.values_of(value_set)))
    spec = sts["spec"]["template"]["spec"]
    bot = next(c for c in spec["containers"] if c["name"] == "tickbot")
    mounts = {m["name"]: m for m in bot["volumeMounts"]}
    assert all("subPath" not in m and "subPathExpr" not in m for m in bot["volumeMounts"])
    assert mounts["config"]["mountPath"] == "/etc/tickbot/config"
    assert bot["args"] == ["run", "--config", "/etc/tickbot/config/tickbot.yaml"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes["numba-cache"]
    assert "emptyDir" in volumes["tmp"]
    assert mounts["numba-cache"]["mountPath"] == "/var/cache/tickbot/numba"
    assert mounts["tmp"]["mountPath"] == "/tmp"
    claims = [t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]]
    assert claims == ["journal"]
    assert "journal" in mounts
    assert sts["spec"]["serviceName"]
    assert "checksum/config" not in sts["spec"]["template"]["metadata"].get("annotations", {})


def test_rollout_on_config_change_adds_the_checksum() -> None:
    a = _trader(chart.manifests({"rolloutOnConfigChange": True}))
    config = chart.values_of("default").get("config") or chart.chart_defaults()["config"]
    edited = {**config, "risk": {**config["risk"], "max_order_lot": 1}}
    b = _trader(chart.manifests({"rolloutOnConfigChange": True, "config": edited}))
    sum_a = a["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    sum_b = b["spec"]["template"]["metadata"]["annotations"]["checksum/config"]
    assert re.fullmatch("[0-9a-f]{64}", sum_a)
    assert sum_a != sum_b


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_probes_and_grace_period(value_set: str) -> None:
    values = chart.values_of(value_set)
    items = chart.manifests(values)
    spec = _trader(items)["spec"]["template"]["spec"]
    bot = spec["containers"][0]
    assert bot["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert bot["readinessProbe"]["httpGet"]["path"] == "/readyz"
    startup = bot["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120  # room to compile
    port = chart.bot_config(items).get("metrics", {}).get("port", 9464)
    assert bot["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
    shutdown = chart.bot_config(items).get("runtime", {}).get("shutdown_timeout_s", 10)
    assert spec["terminationGracePeriodSeconds"] > shutdown


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_dedicated_pool_scheduling(value_set: str) -> None:
    spec = _trader(chart.manifests(chart.values_of(value_set)))["spec"]["template"]["spec"]
    assert spec["nodeSelector"] == {"tickbot.io/pool": "trading"}
    assert {"key": "tickbot.io/dedicated", "operator": "Equal", "value": "trading",
            "effect": "NoSchedule"} in spec["tolerations"]  # fmt: skip


def test_key_vault_wiring() -> None:
    values = chart.values_of("live-keyvault")
    items = chart.manifests(values)
    spc = chart.one(items, "SecretProviderClass")
    kv = values["credentials"]["keyVault"]
    assert spc["spec"]["parameters"]["clientID"] == kv["clientId"]
    assert "objectAlias: api_secret" in spc["spec"]["parameters"]["objects"]
    sa = chart.one(items, "ServiceAccount")
    assert sa["metadata"]["annotations"]["azure.workload.identity/client-id"] == kv["clientId"]
    pod = _trader(items)["spec"]["template"]
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    vol = next(v for v in pod["spec"]["volumes"] if v["name"] == "credentials")
    assert vol["csi"]["volumeAttributes"]["secretProviderClass"] == spc["metadata"]["name"]
    mount = next(m for m in pod["spec"]["containers"][0]["volumeMounts"]
                 if m["name"] == "credentials")  # fmt: skip
    assert mount["mountPath"] == chart.bot_config(items)["venues"][0]["credentials"]["directory"]


SECRETISH = re.compile(
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\b[A-Za-z0-9+/]{40,}={0,2}(?![A-Za-z0-9+/=])"
    r"|(api_secret|api_key|passphrase|password)\s*[:=]\s*['\"]?[A-Za-z0-9]{8,}"
)

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
"""Image digests: long hex, not secrets."""


@pytest.mark.parametrize("value_set", VALUE_SETS)
def test_no_secret_material_in_any_manifest(value_set: str) -> None:
    items = chart.manifests(chart.values_of(value_set))
    assert not [m for m in items if m.kind == "Secret"]
    for template, text in chart.render(chart.values_of(value_set)).items():
        if template.endswith("dashboard.yaml"):
            continue  # JSON of PromQL, no credentials (checked below for key names)
        hits = [h.group(0) for h in SECRETISH.finditer(DIGEST.sub("", text))]
        assert hits == [], (template, hits)
    for m in items:
        for c in _containers(m):
            for e in c.get("env", []):
                assert "value" not in e or not re.search("KEY|SECRET|PASS", e["name"]), e


def _containers(m: chart.Manifest) -> list[dict[str, Any]]:
    if m.kind in {"StatefulSet", "Job"}:
        spec = m.doc["spec"]["template"]["spec"]
    elif m.kind == "Pod":
        spec = m.doc["spec"]
    else:
        return []
    return list(spec.get("initContainers", [])) + list(spec["containers"])


def test_secret_detector_finds_a_planted_key() -> None:
    planted = base64.b64encode(b"x" * 48).decode()
    assert SECRETISH.search(f"api_secret: {planted}")
    assert SECRETISH.search("api_key: 'AbCdEf123456'")
