"""``tickbot config push`` against an emulated Kubernetes API server on loopback.

The ConfigMap it edits is the one the chart renders (Helm's engine), stored in the emulator.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from tests.deploy import chart, kube_emulator

pytest.importorskip("helm_python", reason="helm-python-sdk (dev extra) missing")

KEY = "tickbot.yaml"


@pytest.fixture
def emulated_api(tmp_path: Path) -> Iterator[tuple[kube_emulator.Emulator, Path]]:
    with kube_emulator.running() as emu:
        for m in chart.manifests({}):
            if m.kind == "ConfigMap":
                emu.add(m.doc)
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(emu.kubeconfig())
        yield emu, kubeconfig


def _stored(emu: kube_emulator.Emulator) -> dict[str, Any]:
    return dict(yaml.safe_load(emu.configmaps[(chart.NAMESPACE, "tb-tickbot")]["data"][KEY]))


def _push(kubeconfig: Path, file: Path, *extra: str) -> int:
    args = ["--release", chart.RELEASE, "--namespace", chart.NAMESPACE]
    return main(["config", "push", str(file), *args, "--kubeconfig", str(kubeconfig), *extra])


def _edited(emu: kube_emulator.Emulator, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    """A user's file: the running config with the kill switch on, without the chart's fields."""
    config = _stored(emu)
    config["risk"]["kill_switch"] = True
    del config["lease"]["name"], config["lease"]["namespace"], config["journal"]
    path = tmp_path / "new.yaml"
    path.write_text(yaml.safe_dump(config))
    return path, config


def test_push_patches_the_configmap_on_emulated_api_server(
    emulated_api: tuple[kube_emulator.Emulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu, kubeconfig = emulated_api
    before = _stored(emu)
    version = emu.configmaps[(chart.NAMESPACE, "tb-tickbot")]["metadata"]["resourceVersion"]
    path, _ = _edited(emu, tmp_path)
    assert _push(kubeconfig, path) == 0
    out = capsys.readouterr().out
    assert "-  kill_switch: false\n+  kill_switch: true\n" in out
    assert (
        "kept from the cluster (set by the chart): lease.name, lease.namespace, journal.path" in out
    )
    after = _stored(emu)
    assert after["risk"]["kill_switch"] is True
    # the chart's fields stay as they were: the running bot's Lease does not move
    assert after["lease"] == before["lease"]
    assert after["journal"] == before["journal"]
    assert {k: v for k, v in after.items() if k != "risk"} == {
        k: v for k, v in before.items() if k != "risk"
    }
    stored = emu.configmaps[(chart.NAMESPACE, "tb-tickbot")]["metadata"]["resourceVersion"]
    assert int(stored) > int(version)
    assert ("PATCH", f"/api/v1/namespaces/{chart.NAMESPACE}/configmaps/tb-tickbot") in emu.requests
    # pushing the same file again changes nothing
    patches = sum(1 for method, _ in emu.requests if method == "PATCH")
    assert _push(kubeconfig, path) == 0
    assert "no change" in capsys.readouterr().out
    assert sum(1 for method, _ in emu.requests if method == "PATCH") == patches


def test_dry_run_shows_the_diff_and_changes_nothing_on_emulated_api_server(
    emulated_api: tuple[kube_emulator.Emulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu, kubeconfig = emulated_api
    before = _stored(emu)
    path, _ = _edited(emu, tmp_path)
    assert _push(kubeconfig, path, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "+  kill_switch: true" in out
    assert "dry run" in out
    assert _stored(emu) == before
    assert [m for m, _ in emu.requests] == ["GET"]


def test_invalid_file_is_refused_before_any_request_on_emulated_api_server(
    emulated_api: tuple[kube_emulator.Emulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu, kubeconfig = emulated_api
    config = _stored(emu)
    config["risk"]["max_order_lot"] = -1
    config["risk"]["typo_field"] = 1
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    assert _push(kubeconfig, path) == 2
    err = capsys.readouterr().err
    assert "risk.max_order_lot: must be > 0, got -1" in err
    assert "risk.typo_field: unknown field" in err
    assert emu.requests == []


def test_concurrent_edit_is_refused_not_overwritten_on_emulated_api_server(
    emulated_api: tuple[kube_emulator.Emulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu, kubeconfig = emulated_api
    before = _stored(emu)
    path, _ = _edited(emu, tmp_path)
    emu.edit_before_patch = True
    assert _push(kubeconfig, path) == 2
    err = capsys.readouterr().err
    assert "changed meanwhile" in err
    assert len(err.strip().splitlines()) == 1
    assert _stored(emu) == before


def test_unknown_release_and_bad_token_are_one_line_errors_on_emulated_api_server(
    emulated_api: tuple[kube_emulator.Emulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    emu, kubeconfig = emulated_api
    path, _ = _edited(emu, tmp_path)
    code = main(["config", "push", str(path), "--release", "nope", "--namespace",
                 chart.NAMESPACE, "--kubeconfig", str(kubeconfig)])  # fmt: skip
    assert code == 2
    assert "no tickbot config ConfigMap of release nope" in capsys.readouterr().err
    kubeconfig.write_text(emu.kubeconfig().replace(kube_emulator.TOKEN, "wrong"))
    assert _push(kubeconfig, path) == 2
    err = capsys.readouterr().err
    assert "401" in err
    assert "wrong" not in err  # the token never reaches the output
    assert len(err.strip().splitlines()) == 1


def test_unreachable_api_server_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    emu = kube_emulator.Emulator(port=port)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(emu.kubeconfig())
    config = chart.bot_config(chart.manifests({}))
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert _push(kubeconfig, path) == 2
    err = capsys.readouterr().err
    assert "cannot reach the API server" in err
    assert len(err.strip().splitlines()) == 1
