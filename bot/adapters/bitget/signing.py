"""Bitget v2 request signing (PROTOCOLS.md 4.4).

``ACCESS-SIGN = base64(HMAC_SHA256(secret, timestamp_ms + METHOD + path + ("?" + query) + body))``
over the exact (unencoded) query and body sent. WebSocket login signs
``timestamp_s + "GET" + "/user/verify"``. Demo trading adds ``paptrading: 1``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from binascii import b2a_base64

from bot.adapters.trading import Credentials


def sign_payload(secret: str, prehash: str) -> str:
    """Base64 HMAC-SHA256 of a pre-hash string."""
    return base64.b64encode(
        hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    ).decode()


class BitgetSigner:
    """Signs Bitget requests with one account's key and passphrase."""

    def __init__(self, credentials: Credentials, *, demo: bool) -> None:
        if credentials.passphrase is None:
            raise ValueError("bitget: the API passphrase is required (TICKBOT_API_PASSPHRASE)")
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self._passphrase = credentials.passphrase
        self._base_headers = {
            "ACCESS-KEY": credentials.api_key,
            "ACCESS-PASSPHRASE": credentials.passphrase,
            "Content-Type": "application/json",
            "locale": "en-US",
        }
        if demo:
            self._base_headers["paptrading"] = "1"

    def __repr__(self) -> str:
        return f"BitgetSigner(api_key={self.api_key[:4]}…)"

    def headers(self, ts_ms: int, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        """The authentication headers of one request (``path`` includes any ``?query``)."""
        ts = str(ts_ms)
        mac = self._mac.copy()
        mac.update(f"{ts}{method}{path}".encode())
        mac.update(body)
        return {
            **self._base_headers,
            "ACCESS-TIMESTAMP": ts,
            "ACCESS-SIGN": b2a_base64(mac.digest(), newline=False).decode(),
        }

    def ws_login(self, ts_s: int) -> dict[str, object]:
        """The ``login`` op of the private WebSocket."""
        mac = self._mac.copy()
        mac.update(f"{ts_s}GET/user/verify".encode())
        arg = {
            "apiKey": self.api_key,
            "passphrase": self._passphrase,
            "timestamp": str(ts_s),
            "sign": base64.b64encode(mac.digest()).decode(),
        }
        return {"op": "login", "args": [arg]}
