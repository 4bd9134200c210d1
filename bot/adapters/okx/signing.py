"""OKX v5 request signing (PROTOCOLS.md 3.5).

``OK-ACCESS-SIGN = base64(HMAC_SHA256(secret, timestamp + METHOD + requestPath + body))`` with
an ISO-8601 UTC millisecond timestamp; a GET's query is part of ``requestPath``. WebSocket login
signs ``timestamp(seconds) + "GET" + "/users/self/verify"``. Demo trading adds
``x-simulated-trading: 1``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from binascii import b2a_base64

from bot.adapters.trading import Credentials

_MS_PER_S = 1000


def iso_ms(ts_ms: int) -> str:
    """``2020-12-08T09:08:57.715Z`` for a millisecond timestamp."""
    secs, ms = divmod(ts_ms, _MS_PER_S)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def sign_payload(secret: str, prehash: str) -> str:
    """Base64 HMAC-SHA256 of a pre-hash string."""
    return base64.b64encode(
        hmac.new(secret.encode(), prehash.encode(), hashlib.sha256).digest()
    ).decode()


class OkxSigner:
    """Signs OKX requests with one account's key and passphrase."""

    def __init__(self, credentials: Credentials, *, demo: bool) -> None:
        if credentials.passphrase is None:
            raise ValueError("okx: the API passphrase is required (TICKBOT_API_PASSPHRASE)")
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self._passphrase = credentials.passphrase
        self._base_headers = {
            "OK-ACCESS-KEY": credentials.api_key,
            "OK-ACCESS-PASSPHRASE": credentials.passphrase,
            "Content-Type": "application/json",
        }
        if demo:
            self._base_headers["x-simulated-trading"] = "1"
        self._iso_sec = -1
        self._iso_prefix = ""

    def __repr__(self) -> str:
        return f"OkxSigner(api_key={self.api_key[:4]}…)"

    def _iso(self, ts_ms: int) -> str:
        secs, ms = divmod(ts_ms, _MS_PER_S)
        if secs != self._iso_sec:  # strftime once per second, not per request
            self._iso_sec = secs
            self._iso_prefix = time.strftime("%Y-%m-%dT%H:%M:%S.", time.gmtime(secs))
        return f"{self._iso_prefix}{ms:03d}Z"

    def headers(self, ts_ms: int, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        """The authentication headers of one request (``path`` includes any query)."""
        ts = self._iso(ts_ms)
        mac = self._mac.copy()
        mac.update(f"{ts}{method}{path}".encode())
        mac.update(body)
        return {
            **self._base_headers,
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-SIGN": b2a_base64(mac.digest(), newline=False).decode(),
        }

    def ws_login(self, ts_s: int) -> dict[str, object]:
        """The ``login`` op of the private WebSocket."""
        mac = self._mac.copy()
        mac.update(f"{ts_s}GET/users/self/verify".encode())
        arg = {
            "apiKey": self.api_key,
            "passphrase": self._passphrase,
            "timestamp": str(ts_s),
            "sign": base64.b64encode(mac.digest()).decode(),
        }
        return {"op": "login", "args": [arg]}
