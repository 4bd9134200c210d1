"""An emulated Kubernetes API server on 127.0.0.1 serving only ``coordination.k8s.io/v1`` Leases.

No real kube-apiserver can be installed here, so this emulates the part the bot uses (tests that
use it say "emulated" in their names): GET, POST (create) and PUT (replace) of namespaced Leases
with resourceVersion optimistic concurrency (409 on a stale write, 404 when absent), as the
real server does. Tests can make it fail (HTTP 500) or hand the Lease to another holder.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

_PREFIX = "/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    return web.json_response(body, status=code)


class EmulatedLeaseApi:
    """The emulated server; ``leases[(namespace, name)]`` holds the stored objects."""

    def __init__(self) -> None:
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.failing = False
        self.requests: list[tuple[str, str]] = []
        self._version = 0
        self._runner: web.AppRunner | None = None
        self.port = 0
        app = web.Application()
        app.router.add_get(_PREFIX + "/{name}", self._get)
        app.router.add_post(_PREFIX, self._create)
        app.router.add_put(_PREFIX + "/{name}", self._replace)
        self.app = app

    async def start(self) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def kubeconfig(self, path: Path) -> Path:
        """Write a kubeconfig pointing at this server (no auth) and return its path."""
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: emu\n"
            f"clusters: [{{name: emu, cluster: {{server: 'http://127.0.0.1:{self.port}'}}}}]\n"
            "contexts: [{name: emu, context: {cluster: emu, user: emu}}]\n"
            "users: [{name: emu, user: {}}]\n"
        )
        return path

    def holder(self, namespace: str, name: str) -> str | None:
        lease = self.leases.get((namespace, name))
        return None if lease is None else lease["spec"].get("holderIdentity")

    def take_over(
        self, namespace: str, name: str, identity: str, duration_s: int | None = None
    ) -> None:
        """Hand the Lease to another holder, freshly renewed (another instance won it)."""
        lease = self.leases[(namespace, name)]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lease["spec"].update(holderIdentity=identity, renewTime=now, acquireTime=now)
        if duration_s is not None:
            lease["spec"]["leaseDurationSeconds"] = duration_s
        lease["spec"]["leaseTransitions"] = lease["spec"].get("leaseTransitions", 0) + 1
        self._bump(lease)

    def _bump(self, lease: dict[str, Any]) -> None:
        self._version += 1
        lease["metadata"]["resourceVersion"] = str(self._version)

    async def _get(self, request: web.Request) -> web.Response:
        self.requests.append(("GET", request.path))
        if self.failing:
            return _status(500, "InternalError", "emulated outage")
        key = (request.match_info["ns"], request.match_info["name"])
        lease = self.leases.get(key)
        if lease is None:
            return _status(404, "NotFound", f'leases.coordination.k8s.io "{key[1]}" not found')
        return web.json_response(lease)

    async def _create(self, request: web.Request) -> web.Response:
        self.requests.append(("POST", request.path))
        if self.failing:
            return _status(500, "InternalError", "emulated outage")
        body = await request.json()
        ns = request.match_info["ns"]
        name = body["metadata"]["name"]
        if (ns, name) in self.leases:
            return _status(409, "AlreadyExists", f'leases.coordination.k8s.io "{name}" exists')
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": ns},
            "spec": body.get("spec", {}),
        }
        self._bump(lease)
        self.leases[(ns, name)] = lease
        return web.json_response(copy.deepcopy(lease), status=201)

    async def _replace(self, request: web.Request) -> web.Response:
        self.requests.append(("PUT", request.path))
        if self.failing:
            return _status(500, "InternalError", "emulated outage")
        key = (request.match_info["ns"], request.match_info["name"])
        body = await request.json()
        lease = self.leases.get(key)
        if lease is None:
            return _status(404, "NotFound", f'leases.coordination.k8s.io "{key[1]}" not found')
        if body["metadata"].get("resourceVersion") != lease["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", "the object has been modified")
        lease["spec"] = body.get("spec", {})
        self._bump(lease)
        return web.json_response(copy.deepcopy(lease))
