"""Binance USD-M request signing (REST and WebSocket API).

REST: ``signature = hex(HMAC_SHA256(secret, queryString + requestBody))`` over the exact bytes
sent, appended as the last parameter, key in ``X-MBX-APIKEY``. Every request here carries all of
its parameters in the query string, so the signed string is the query. WebSocket API: the
parameters (``apiKey`` included, ``signature`` excluded) sorted by name and joined ``k=v&...``.
The HMAC state keyed with the secret is built once and copied per request.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.adapters.trading import Credentials

API_KEY_HEADER = "X-MBX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000


def sign_payload(secret: str, payload: str) -> str:
    """Return the hex HMAC-SHA256 of ``payload`` (the documented vectors check this)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class BinanceSigner:
    """Signs Binance query strings with one account's key."""

    def __init__(self, credentials: Credentials, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS):
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self.headers = {API_KEY_HEADER: credentials.api_key}
        self._tail = f"recvWindow={recv_window_ms}&timestamp="

    def __repr__(self) -> str:
        return f"BinanceSigner(api_key={self.api_key[:4]}…)"

    def signature(self, payload: str) -> str:
        """Hex HMAC of ``payload`` with this account's secret."""
        mac = self._mac.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    def sign_query(self, params: str, ts_ms: int) -> str:
        """Return ``params`` + recvWindow + timestamp + signature, ready for the URL."""
        query = f"{params}&{self._tail}{ts_ms}" if params else f"{self._tail}{ts_ms}"
        return f"{query}&signature={self.signature(query)}"

    def sign_ws_params(self, params: dict[str, str | int], ts_ms: int) -> dict[str, str | int]:
        """Return WebSocket-API params with apiKey, timestamp and the signature added."""
        full: dict[str, str | int] = {**params, "apiKey": self.api_key, "timestamp": ts_ms}
        payload = "&".join(f"{k}={full[k]}" for k in sorted(full))
        full["signature"] = self.signature(payload)
        return full
