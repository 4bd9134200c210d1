"""BitMEX request signing (PROTOCOLS.md 6.4).

``api-signature = hex(HMAC_SHA256(secret, VERB + path + expires + body))`` where ``path``
includes ``/api/v1`` and the URL-encoded query exactly as sent, ``expires`` is a unix time in
seconds a little in the future, ``body`` the exact JSON sent. WebSocket auth
(``authKeyExpires``) signs ``"GET/realtime" + expires``.
"""

from __future__ import annotations

import hashlib
import hmac

from bot.adapters.trading import Credentials

EXPIRES_AFTER_S = 30
"""How far ahead ``api-expires`` is set: the venue drops a request older than that."""


def sign_payload(secret: str, verb: str, path: str, expires: int, body: str = "") -> str:
    """Hex signature of one request (the documented vectors check this)."""
    message = f"{verb}{path}{expires}{body}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class BitmexSigner:
    """Signs BitMEX requests with one account's key."""

    def __init__(self, credentials: Credentials, expires_after_s: int = EXPIRES_AFTER_S) -> None:
        self._mac = hmac.new(credentials.api_secret.encode(), digestmod=hashlib.sha256)
        self.api_key = credentials.api_key
        self.expires_after_s = expires_after_s

    def __repr__(self) -> str:
        return f"BitmexSigner(api_key={self.api_key[:4]}…)"

    def headers(self, now_s: int, verb: str, path: str, body: bytes = b"") -> dict[str, str]:
        """The authentication headers of one request (``path`` with its encoded query)."""
        expires = str(now_s + self.expires_after_s)
        mac = self._mac.copy()
        mac.update(f"{verb}{path}{expires}".encode())
        mac.update(body)
        return {
            "api-key": self.api_key,
            "api-expires": expires,
            "api-signature": mac.hexdigest(),
            "Content-Type": "application/json",
        }

    def ws_auth(self, expires_s: int) -> dict[str, object]:
        """The ``authKeyExpires`` op of the realtime WebSocket (``expires`` is a number)."""
        mac = self._mac.copy()
        mac.update(f"GET/realtime{expires_s}".encode())
        return {"op": "authKeyExpires", "args": [self.api_key, expires_s, mac.hexdigest()]}
