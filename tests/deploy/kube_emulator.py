"""An emulated Kubernetes API server on 127.0.0.1: just the ConfigMap calls ``config push`` makes.

It is an emulation (no real kube-apiserver is available here), but it speaks the real wire
protocol of those calls: bearer-token auth, ``labelSelector`` lists, JSON merge patches with the
``resourceVersion`` precondition (409 Conflict when stale), and Kubernetes ``Status`` errors.
It runs its own event loop in a thread because the ``kubernetes`` client blocks.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "emulator-token"
PATCH_TYPES = {"application/merge-patch+json", "application/strategic-merge-patch+json"}


@dataclass
class Emulator:
    """The stored ConfigMaps and every request seen (method, path)."""

    configmaps: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    version: int = 100
    port: int = 0
    edit_before_patch: bool = False
    """Simulate another writer: bump the object's resourceVersion just before a PATCH lands."""

    def add(self, configmap: dict[str, Any]) -> None:
        cm = copy.deepcopy(configmap)
        meta = cm["metadata"]
        self.version += 1
        meta["resourceVersion"] = str(self.version)
        self.configmaps[(meta["namespace"], meta["name"])] = cm

    def kubeconfig(self) -> str:
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "emulated",
            "clusters": [{"name": "emulated",
                          "cluster": {"server": f"http://127.0.0.1:{self.port}"}}],
            "users": [{"name": "emulated", "user": {"token": TOKEN}}],
            "contexts": [{"name": "emulated",
                          "context": {"cluster": "emulated", "user": "emulated"}}],
        })  # fmt: skip


def _status(code: int, reason: str, message: str) -> web.Response:
    body = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
            "reason": reason, "code": code}  # fmt: skip
    return web.json_response(body, status=code)


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        key, _, value = term.partition("=")
        if labels.get(key) != value:
            return False
    return True


def _app(emu: Emulator) -> web.Application:
    @web.middleware
    async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
        emu.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized", "Unauthorized")
        return await handler(request)

    async def list_cms(request: web.Request) -> web.Response:
        ns = request.match_info["ns"]
        selector = request.query.get("labelSelector", "")
        items = [cm for (n, _), cm in sorted(emu.configmaps.items())
                 if n == ns and _matches(cm["metadata"].get("labels", {}), selector)]  # fmt: skip
        return web.json_response({"kind": "ConfigMapList", "apiVersion": "v1",
                                  "metadata": {"resourceVersion": str(emu.version)},
                                  "items": items})  # fmt: skip

    async def patch_cm(request: web.Request) -> web.Response:
        ns, name = request.match_info["ns"], request.match_info["name"]
        if request.content_type not in PATCH_TYPES:
            return _status(415, "UnsupportedMediaType", request.content_type)
        cm = emu.configmaps.get((ns, name))
        if cm is None:
            return _status(404, "NotFound", f'configmaps "{name}" not found')
        if emu.edit_before_patch:
            emu.version += 1
            cm["metadata"]["resourceVersion"] = str(emu.version)
        patch = await request.json()
        wanted = patch.get("metadata", {}).get("resourceVersion")
        if wanted is not None and wanted != cm["metadata"]["resourceVersion"]:
            return _status(409, "Conflict", "the object has been modified")
        cm.setdefault("data", {}).update(patch.get("data", {}))
        emu.version += 1
        cm["metadata"]["resourceVersion"] = str(emu.version)
        return web.json_response(cm)

    app = web.Application(middlewares=[auth])
    app.router.add_get("/api/v1/namespaces/{ns}/configmaps", list_cms)
    app.router.add_patch("/api/v1/namespaces/{ns}/configmaps/{name}", patch_cm)
    return app


@contextmanager
def running() -> Iterator[Emulator]:
    """Serve an emulator on an ephemeral loopback port for the duration of the block."""
    emu = Emulator()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner = web.AppRunner(_app(emu), access_log=None)

    async def start() -> None:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        emu.port = runner.addresses[0][1]
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    started.wait(timeout=10)
    try:
        yield emu
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
