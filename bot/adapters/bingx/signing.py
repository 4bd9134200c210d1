"""BingX swap request signing (PROTOCOLS.md 5.5).

``signature = hex(HMAC_SHA256(secret, paramString))`` over the parameters as sent (query and
body concatenated with no separator when both exist), appended as ``signature``; key in
``X-BX-APIKEY``. Every request here carries its parameters in the query string.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.adapters.trading import Credentials

API_KEY_HEADER = "X-BX-APIKEY"
DEFAULT_RECV_WINDOW_MS = 5000


def sign_payload(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of the parameter string (the documented vectors check this)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class BingxSigner:
    """Signs BingX query strings with one account's key."""

    def __init__(self, credentials: Credentials, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS):
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self.headers = {API_KEY_HEADER: credentials.api_key}
        self._tail = f"recvWindow={recv_window_ms}&timestamp="

    def __repr__(self) -> str:
        return f"BingxSigner(api_key={self.api_key[:4]}…)"

    def signature(self, payload: str) -> str:
        """Hex HMAC of ``payload`` with this account's secret."""
        mac = self._mac.copy()
        mac.update(payload.encode())
        return mac.hexdigest()

    def sign_query(self, params: str, ts_ms: int) -> str:
        """Return ``params`` + recvWindow + timestamp + signature, ready for the URL."""
        query = f"{params}&{self._tail}{ts_ms}" if params else f"{self._tail}{ts_ms}"
        return f"{query}&signature={self.signature(query)}"
