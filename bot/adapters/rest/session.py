"""One keep-alive aiohttp session per venue account, with deadlines and typed transport errors.

A state-changing request (new, cancel, amend, cancel-all, dead-man switch) that times out, loses
its connection or meets a 5xx has an unknown outcome: ``UnknownOutcomeError``. A 429/418 is a
``RateLimitedError`` carrying ``Retry-After``. A read that fails the same way is a
``RetryableError``. Nothing here retries: the router decides.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple

import aiohttp
from yarl import URL

from bot.adapters.errors import RetryableError, UnknownOutcomeError
from bot.adapters.rest.usage import retry_after_s
from bot.adapters.trading import RateLimitedError, SignedRequest, WriteHook

DEFAULT_TIMEOUT_S = 5.0
"""Whole-request deadline: a venue that has not answered by then left the outcome unknown."""
CONNECT_TIMEOUT_S = 3.0
KEEPALIVE_S = 30.0
"""How long an idle pooled connection is kept (venues close theirs after about a minute)."""
MAX_CONNECTIONS = 8
HTTP_RATE_LIMITED = frozenset({418, 429})
HTTP_SERVER_ERROR = 500


class WireRequest(NamedTuple):
    """A signed request ready to write (a tuple: cheap to build on the order path).

    The same fields as the contract's ``SignedRequest``; its repr hides headers and query,
    which carry the key, the signature and (OKX, Bitget) the passphrase.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""

    def __repr__(self) -> str:
        return f"WireRequest({self.method} {self.url.split('?', 1)[0]})"


@dataclass(frozen=True, slots=True)
class RestReply:
    """A venue's HTTP answer: status, headers (case-insensitive) and raw body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes


async def _on_headers_sent(
    _session: aiohttp.ClientSession,
    ctx: SimpleNamespace,
    _params: aiohttp.TraceRequestHeadersSentParams,
) -> None:
    hook = ctx.trace_request_ctx
    if hook is not None:
        hook(time.monotonic_ns())


class RestSession:
    """Signed requests over one pooled, keep-alive connection set to one venue."""

    def __init__(
        self,
        venue: str,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        default_retry_after_s: float | None = None,
    ) -> None:
        self.venue = venue
        self.default_retry_after_s = default_retry_after_s
        """Used when a 429 carries no ``Retry-After`` (the venue's documented window)."""
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_request_headers_sent.append(_on_headers_sent)
            connector = aiohttp.TCPConnector(
                limit=MAX_CONNECTIONS, keepalive_timeout=KEEPALIVE_S, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                trace_configs=[trace],
                auto_decompress=True,
            )
        return self._session

    @property
    def client(self) -> aiohttp.ClientSession:
        """The underlying aiohttp session (shared with the venue's WebSocket user stream)."""
        return self._client()

    async def request(
        self,
        signed: SignedRequest | WireRequest,
        *,
        state_changing: bool,
        on_write: WriteHook | None = None,
    ) -> RestReply:
        """Send ``signed``; return the reply unless the transport or status says "unknown"."""
        what = f"{self.venue} {signed.method} {signed.url.split('?', 1)[0]}"
        try:
            async with self._client().request(
                signed.method,
                URL(signed.url, encoded=True),  # sent byte for byte as signed, never requoted
                headers=signed.headers,
                data=signed.body or None,
                trace_request_ctx=on_write,
                allow_redirects=False,
            ) as resp:
                body = await resp.read()
                status = resp.status
                headers = resp.headers
        except TimeoutError as e:
            raise self._lost(state_changing, f"{what}: no reply within the deadline") from e
        except aiohttp.ClientError as e:
            raise self._lost(state_changing, f"{what}: {type(e).__name__}") from e
        if status in HTTP_RATE_LIMITED:
            wait = retry_after_s(headers)
            if wait is None:
                wait = self.default_retry_after_s
            raise RateLimitedError(f"{what}: HTTP {status}", wait)
        if status >= HTTP_SERVER_ERROR:
            raise self._lost(state_changing, f"{what}: HTTP {status}")
        return RestReply(status, headers, body)

    @staticmethod
    def _lost(state_changing: bool, message: str) -> Exception:
        if state_changing:
            return UnknownOutcomeError(message + " (outcome unknown: reconcile)")
        return RetryableError(message)

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None
