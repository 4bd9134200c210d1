"""``tickbot config push FILE --release R --namespace N [--dry-run]``: edit a running bot's config.

The file is validated (every error, as ``config validate`` prints them), then compared with the
ConfigMap the Helm chart made for release R (found by its labels, so ``fullnameOverride`` does
not matter) and the difference is shown as a unified diff of both documents in one canonical
YAML form, so only real changes appear. Without ``--dry-run`` the ConfigMap is patched through
the Kubernetes API (kubeconfig, or the in-cluster service account), guarded by the object's
``resourceVersion``: an edit made by someone else in between is refused, not overwritten. The
kubelet delivers the new file to the pod within about a minute, and the bot reloads it.

Fields the chart fills in for the bot (the Lease's name and namespace, the journal path) are
kept from the cluster when the file leaves them out: pushing a plain config never moves the
Lease of a running bot.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.cli import UserError
from bot.config.check import config_errors

CONFIG_KEY = "tickbot.yaml"
"""The file name inside the chart's ConfigMap (mounted at /etc/tickbot/config/)."""
CHART_FILLED = (("lease", "name"), ("lease", "namespace"), ("journal", "path"))
"""Config fields the chart sets when the values leave them out."""
API_TIMEOUT_S = (5.0, 15.0)
"""Connect and read timeouts of each API request."""


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``config push`` to the ``config`` subcommand's actions."""
    p = sub.add_parser(
        "push",
        help="validate a config, diff it against the cluster's ConfigMap, and patch it",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument("file", type=Path, help="config file (YAML)")
    p.add_argument("--release", required=True, help="Helm release name")
    p.add_argument("--namespace", required=True, help="namespace of the release")
    p.add_argument("--dry-run", action="store_true", help="show the diff, change nothing")
    p.add_argument("--kubeconfig", type=Path, help="kubeconfig file (default: $KUBECONFIG)")
    p.add_argument("--context", help="kubeconfig context (default: the current one)")
    p.set_defaults(handler=run_push)


def _read(path: Path) -> tuple[Any, list[str]]:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise UserError(f"{path}: not valid YAML: {e}") from None
    return raw, config_errors(raw)


def canonical(doc: Any) -> str:
    """Return a document as YAML in one fixed form (sorted keys, block style)."""
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False, allow_unicode=True)


def keep_chart_fields(new: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Copy the chart-filled fields ``new`` leaves out from ``current``; return their paths."""
    kept = []
    for section, field in CHART_FILLED:
        old = current.get(section)
        if not isinstance(old, dict) or field not in old:
            continue
        target = new.setdefault(section, {})
        if isinstance(target, dict) and field not in target:
            if section == "lease" and not target.get("enabled", old.get("enabled", False)):
                continue
            target[field] = old[field]
            kept.append(f"{section}.{field}")
    return kept


def _api(kubeconfig: Path | None, context: str | None) -> Any:
    from kubernetes import client, config

    try:
        if (
            kubeconfig is None
            and not os.environ.get("KUBECONFIG")
            and os.environ.get("KUBERNETES_SERVICE_HOST")
        ):
            config.load_incluster_config()
        else:
            config.load_kube_config(
                config_file=str(kubeconfig) if kubeconfig else None, context=context
            )
    except (config.ConfigException, OSError) as e:
        raise UserError(f"no usable Kubernetes config: {e}") from None
    return client.CoreV1Api()


def _call(what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    try:
        return fn(*args, _request_timeout=API_TIMEOUT_S, **kwargs)
    except ApiException as e:
        if e.status == 409:
            raise UserError(f"{what}: the ConfigMap changed meanwhile; run push again") from None
        raise UserError(f"{what}: the API server answered {e.status} {e.reason}") from None
    except HTTPError as e:
        raise UserError(f"{what}: cannot reach the API server ({type(e).__name__})") from None


def find_configmap(api: Any, release: str, namespace: str) -> Any:
    """Return the release's config ConfigMap (by the chart's labels)."""
    selector = f"app.kubernetes.io/instance={release},app.kubernetes.io/component=config"
    found = _call(
        "list ConfigMaps", api.list_namespaced_config_map, namespace, label_selector=selector
    ).items
    if not found:
        raise UserError(f"no tickbot config ConfigMap of release {release} in {namespace}")
    if len(found) > 1:
        names = ", ".join(sorted(cm.metadata.name for cm in found))
        raise UserError(f"release {release} has several config ConfigMaps: {names}")
    cm = found[0]
    if CONFIG_KEY not in (cm.data or {}):
        raise UserError(f"ConfigMap {cm.metadata.name} has no {CONFIG_KEY}")
    return cm


def run_push(args: argparse.Namespace) -> int:
    """Validate, diff, and (without ``--dry-run``) patch; return 0 (changed or not).

    An invalid file prints every error (``path: field: what``) and returns 2, touching nothing.
    """
    new, errors = _read(args.file)
    for error in errors:
        print(f"{args.file}: {error}", file=sys.stderr)
    if errors:
        return 2
    api = _api(args.kubeconfig, args.context)
    cm = find_configmap(api, args.release, args.namespace)
    name = cm.metadata.name
    try:
        current = yaml.safe_load(cm.data[CONFIG_KEY]) or {}
    except yaml.YAMLError:
        current = {}
    kept = keep_chart_fields(new, current if isinstance(current, dict) else {})
    before, after = canonical(current), canonical(new)
    where = f"configmap/{name} in {args.namespace}"
    if before == after:
        print(f"{where}: no change")
        return 0
    sys.stdout.writelines(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{where} (cluster)",
            tofile=str(args.file),
        )
    )
    if kept:
        print(f"kept from the cluster (set by the chart): {', '.join(kept)}")
    if args.dry_run:
        print(f"dry run: {where} not changed")
        return 0
    body = {
        "metadata": {"resourceVersion": cm.metadata.resource_version},
        "data": {CONFIG_KEY: after},
    }
    _call("patch ConfigMap", api.patch_namespaced_config_map, name, args.namespace, body)
    print(
        f"patched {where}: the bot reloads it within about a minute "
        "(a helm upgrade with other values would put the chart's config back)"
    )
    return 0
