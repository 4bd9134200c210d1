"""Bybit v5 request signing (PROTOCOLS.md 2.6).

``X-BAPI-SIGN = hex(HMAC_SHA256(secret, timestamp + api_key + recv_window + payload))`` where the
payload is the query string of a GET or the exact JSON body bytes of a POST. WebSocket auth
(private and trade streams) signs ``"GET/realtime" + expires_ms``.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.adapters.trading import Credentials

DEFAULT_RECV_WINDOW_MS = 5000


def sign_payload(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 of a string to sign."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def string_to_sign(ts_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """What Bybit signs: timestamp, key, receive window, payload, concatenated."""
    return f"{ts_ms}{api_key}{recv_window_ms}{payload}"


class BybitSigner:
    """Signs Bybit requests with one account's key."""

    def __init__(self, credentials: Credentials, recv_window_ms: int = DEFAULT_RECV_WINDOW_MS):
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self.recv_window = str(recv_window_ms)
        self._prefix = credentials.api_key + self.recv_window

    def __repr__(self) -> str:
        return f"BybitSigner(api_key={self.api_key[:4]}…)"

    def signature(self, ts_ms: int, payload: bytes) -> str:
        """Hex signature of a request carrying ``payload`` at ``ts_ms``."""
        mac = self._mac.copy()
        mac.update(f"{ts_ms}{self._prefix}".encode())
        mac.update(payload)
        return mac.hexdigest()

    def headers(self, ts_ms: int, payload: bytes) -> dict[str, str]:
        """The authentication headers of one request."""
        return {
            "X-BAPI-API-KEY": self.api_key,
            "X-BAPI-TIMESTAMP": str(ts_ms),
            "X-BAPI-RECV-WINDOW": self.recv_window,
            "X-BAPI-SIGN": self.signature(ts_ms, payload),
            "Content-Type": "application/json",
        }

    def ws_auth(self, expires_ms: int) -> dict[str, object]:
        """The ``auth`` op of the private / trade WebSocket."""
        mac = self._mac.copy()
        mac.update(f"GET/realtime{expires_ms}".encode())
        return {"op": "auth", "args": [self.api_key, expires_ms, mac.hexdigest()]}
