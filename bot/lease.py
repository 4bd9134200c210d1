"""Single active instance: hold a ``coordination.k8s.io/v1`` Lease while trading.

The algorithm is client-go's leader election, on the ``kubernetes`` client (whose calls block,
so each runs on a worker thread under ``asyncio.timeout``):

* acquire: read the Lease; create it if absent; take it if the holder is us or its
  ``renewTime + leaseDurationSeconds`` has passed (``leaseTransitions`` + 1 when it changes
  hands); otherwise wait ``renew_every_s`` and try again. Every write is a ``replace`` carrying
  the ``resourceVersion`` read, so two instances racing for it cannot both win (409 Conflict);
* renew every ``renew_every_s``; the Lease is *lost* when a renewal finds another holder, or
  when no renewal has succeeded for ``duration_s - renew_every_s`` (the renew deadline: we stop
  before the others may consider the Lease expired);
* on acquiring, ``on_acquired`` runs (the app starts quoting: no order goes out before); on
  losing, ``on_lost`` runs at once (the app stops quoting and cancels every order), and the loop
  goes back to acquiring.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from bot.config.schema import LeaseSection

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_NOT_FOUND = 404
_CONFLICT = 409


def default_namespace() -> str:
    """Return the pod's namespace (service-account file, ``POD_NAMESPACE``, else ``default``)."""
    env = os.environ.get("POD_NAMESPACE")
    if env:
        return env
    try:
        return SERVICE_ACCOUNT_NAMESPACE.read_text(encoding="utf-8").strip()
    except OSError:
        return "default"


def default_identity() -> str:
    """Return this instance's holder identity (``POD_NAME``, else the host name)."""
    return os.environ.get("POD_NAME") or socket.gethostname()


def api_client() -> client.ApiClient:
    """Return an API client: in-cluster config in a pod, else the kubeconfig (``KUBECONFIG``)."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()
    else:
        config.load_kube_config()
    return client.ApiClient()


def _now() -> datetime:
    return datetime.now(UTC)


class LeaseKeeper:
    """Acquire, renew and (on loss) report a Lease until cancelled."""

    def __init__(
        self,
        section: LeaseSection,
        *,
        api: client.ApiClient | None = None,
        on_acquired: Callable[[], None] = lambda: None,
        on_lost: Callable[[str], None] = lambda reason: None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.section = section
        self.name = section.name
        self.namespace = section.namespace or default_namespace()
        self.identity = section.identity or default_identity()
        self.on_acquired = on_acquired
        self.on_lost = on_lost
        self._api_client = api
        self._api: client.CoordinationV1Api | None = None
        self._clock = clock
        self.held = False
        self.transitions_seen = 0
        self.last_renew_mono = 0.0
        self._last_error = ""

    @property
    def renew_deadline_s(self) -> float:
        """How long renewals may fail before the Lease counts as lost."""
        return self.section.duration_s - self.section.renew_every_s

    def _coordination(self) -> client.CoordinationV1Api:
        if self._api is None:
            self._api = client.CoordinationV1Api(self._api_client or api_client())
        return self._api

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        timeout = self.section.api_timeout_s
        async with asyncio.timeout(timeout + 1.0):
            return await asyncio.to_thread(fn, *args, _request_timeout=timeout)

    def _spec(self, transitions: int, acquired: datetime | None) -> client.V1LeaseSpec:
        now = self._clock()
        return client.V1LeaseSpec(
            holder_identity=self.identity,
            lease_duration_seconds=round(self.section.duration_s),
            acquire_time=acquired or now,
            renew_time=now,
            lease_transitions=transitions,
        )

    async def try_acquire_or_renew(self) -> bool:
        """Make one attempt; return whether we hold the Lease after it (raises on API errors)."""
        api = self._coordination()
        try:
            lease = await self._call(api.read_namespaced_lease, self.name, self.namespace)
        except ApiException as e:
            if e.status != _NOT_FOUND:
                raise
            body = client.V1Lease(
                metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace),
                spec=self._spec(0, None),
            )
            try:
                await self._call(api.create_namespaced_lease, self.namespace, body)
            except ApiException as e2:
                if e2.status == _CONFLICT:  # someone created it first
                    return False
                raise
            return True
        spec = lease.spec or client.V1LeaseSpec()
        holder = spec.holder_identity
        transitions = spec.lease_transitions or 0
        if holder != self.identity and holder:
            renewed = spec.renew_time or spec.acquire_time
            duration = spec.lease_duration_seconds or 0
            if renewed is not None and renewed + timedelta(seconds=duration) > self._clock():
                return False  # held by someone else and not expired
            transitions += 1
            acquired = None
        else:
            acquired = spec.acquire_time if holder == self.identity else None
        lease.spec = self._spec(transitions, acquired)
        try:
            await self._call(api.replace_namespaced_lease, self.name, self.namespace, lease)
        except ApiException as e:
            if e.status == _CONFLICT:  # written by someone else since we read it
                return False
            raise
        self.transitions_seen = transitions
        return True

    async def run(self) -> None:
        """Keep the Lease until cancelled (releasing nothing: expiry hands it over)."""
        period = self.section.renew_every_s
        while True:
            ok = await self._attempt()
            now = time.monotonic()
            if ok:
                self.last_renew_mono = now
                if not self.held:
                    self.held = True
                    log.info("lease %s/%s acquired by %s", self.namespace, self.name, self.identity)
                    self.on_acquired()
            elif self.held:
                other = self._last_error == "held by another"
                if other or now - self.last_renew_mono >= self.renew_deadline_s:
                    reason = "another holder" if other else "renewal failed past the deadline"
                    self.held = False
                    log.error(
                        "lease %s/%s lost (%s): stop quoting", self.namespace, self.name, reason
                    )
                    self.on_lost(reason)
            await asyncio.sleep(period)

    async def _attempt(self) -> bool:
        self._last_error = ""
        try:
            ok = await self.try_acquire_or_renew()
        except (ApiException, OSError, TimeoutError, HTTPError) as e:
            # urllib3's HTTPError covers the client's transport failures (MaxRetryError, ...)
            self._last_error = type(e).__name__
            log.warning(
                "lease %s/%s: API call failed (%s)", self.namespace, self.name, self._last_error
            )
            return False
        if not ok:
            self._last_error = "held by another"
        return ok
