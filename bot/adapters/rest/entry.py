"""The request → reply → typed outcome loop shared by every venue's signed order entry.

A venue's ``orders.py`` subclasses ``RestOrderEntry``: it builds signed requests (signing before
the first await), names its usage-header parser and server-time endpoint, and implements
``_error(status, payload)``, which turns a reply into ``None`` (success) or a typed error. This
class sends, feeds usage figures to the router's hook, decodes JSON, and on a timestamp
rejection resynchronises the clock once before raising (the router, not the adapter, decides
whether to send again).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

import orjson

from bot.adapters.errors import AdapterError, RetryableError, UnknownOutcomeError
from bot.adapters.rest.clock import ServerClock
from bot.adapters.rest.session import DEFAULT_TIMEOUT_S, RestReply, RestSession, WireRequest
from bot.adapters.trading import (
    Credentials,
    OrderRejectedError,
    RateLimitedError,
    RateLimitUsage,
    RejectReason,
    SignedRequest,
    UsageHook,
    WriteHook,
)
from bot.core.dtypes import OrderFlag

HTTP_CLIENT_ERROR = 400
HTTP_UNAUTHORIZED = 401
DECIMAL_RE = re.compile(r"\d+(?:\.\d+)?", re.ASCII)
"""What an outgoing price or size must look like: an exact, unsigned decimal string."""

UsageParser = Callable[[Mapping[str, str]], tuple[RateLimitUsage, ...]]


F_POST_ONLY = int(OrderFlag.POST_ONLY)
F_REDUCE_ONLY = int(OrderFlag.REDUCE_ONLY)
F_IOC = int(OrderFlag.IOC)
F_MARKET = int(OrderFlag.MARKET)
"""``OrderFlag`` bits as plain ints: ``IntFlag`` arithmetic builds enum objects, which costs
more than the HMAC on the order path."""
MAX_FAST_ID_LEN = 32


def check_decimal(name: str, value: object) -> str:
    """Return ``value`` if it is an exact decimal string; raise ``ValueError`` otherwise.

    Floats are refused outright: an order's price must be the string made from ticks. The
    common case is checked with ``str`` methods (``DECIMAL_RE`` decides the rest).
    """
    if (
        type(value) is str
        and value.isascii()
        and value.replace(".", "", 1).isdigit()
        and value[0] != "."
        and value[-1] != "."
    ) or (type(value) is str and DECIMAL_RE.fullmatch(value) is not None):
        return value
    raise ValueError(f"{name} must be a decimal string made from ticks, got {value!r}")


REPORT_DECIMAL_RE = re.compile(r"-?\d{1,40}(?:\.\d{1,40})?(?:[eE][+-]?\d{1,2})?", re.ASCII)
"""A decimal a venue may report: the router does exact integer arithmetic on it, so a value
like ``1e999999`` (seconds of big-integer work) or ``NaN`` is refused at the boundary."""
REPORT_DECIMALS = {
    "qty": False,
    "filled_qty": False,
    "price": True,
    "avg_price": True,
    "fee": False,
    "entry_price": True,
    "total": False,
    "available": False,
}
"""Decimal fields of the report types; True where None is allowed."""
MALFORMED_REPLY_ERRORS = (ValueError, LookupError, TypeError, AttributeError, ArithmeticError)
"""What reading a reply of an unexpected shape raises (a field missing, of the wrong type)."""
log = logging.getLogger(__name__)


def check_report(report: Any) -> Any:
    """Return ``report`` if its decimal fields are decimals the router can use, else raise
    ``ValueError`` (a venue reply or push that parsed but carries garbage)."""
    for name in getattr(type(report), "__slots__", ()):
        if name in REPORT_DECIMALS:
            value = getattr(report, name)
            if value is None and REPORT_DECIMALS[name]:
                continue
            if type(value) is not str or REPORT_DECIMAL_RE.fullmatch(value) is None:
                raise ValueError(f"report field {name} is not a decimal: {value!r:.40}")
        elif name == "ts_exch_ns" and type(getattr(report, name)) is not int:
            raise ValueError("report field ts_exch_ns is not an integer")
    return report


def _check_result(result: Any) -> Any:
    if isinstance(result, list):
        for item in result:
            check_report(item)
    elif result is not None:
        check_report(result)
    return result


_REPLIED: contextvars.ContextVar[bool] = contextvars.ContextVar("tickbot_replied", default=False)
"""Set once the call in this task has decoded a reply: errors raised after that are the
reply's fault, errors raised before it the caller's (a bad price string)."""

STATE_CHANGING_CALLS = ("submit", "cancel", "amend", "cancel_all", "arm_dead_man_switch")
QUERY_CALLS = ("query_order", "open_orders", "recent_fills", "position", "balances")


def _guarded(
    fn: Callable[..., Coroutine[Any, Any, Any]], state_changing: bool
) -> Callable[..., Coroutine[Any, Any, Any]]:
    """Wrap an order-entry call so a reply it cannot read raises a typed ``AdapterError``:
    ``UnknownOutcomeError`` for a state-changing call (the venue may have acted: reconcile),
    ``RetryableError`` for a query. The router handles only these; a ``KeyError`` from a reply
    of an unexpected shape would otherwise end its task."""

    @functools.wraps(fn)
    async def call(self: RestOrderEntry, *args: Any, **kwargs: Any) -> Any:
        token = _REPLIED.set(False)
        try:
            return _check_result(await fn(self, *args, **kwargs))
        except MALFORMED_REPLY_ERRORS as e:
            if not _REPLIED.get():
                raise
            what = f"{self.venue_name}: {fn.__name__}: reply not understood ({type(e).__name__})"
            log.warning("%s: %.200s", what, e)
            if state_changing:
                raise UnknownOutcomeError(what + " (outcome unknown: reconcile)") from e
            raise RetryableError(what) from e
        finally:
            replied = _REPLIED.get()
            _REPLIED.reset(token)
            if replied:
                _REPLIED.set(True)

    return call


SYMBOL_RE = re.compile(r"[A-Za-z0-9_.-]{1,40}", re.ASCII)
_CHECKED_SYMBOLS: set[str] = set()


def check_symbol(value: str) -> str:
    """Return ``value`` if it is a plain venue symbol (safe in a query and in JSON)."""
    if value in _CHECKED_SYMBOLS:
        return value
    if type(value) is not str or SYMBOL_RE.fullmatch(value) is None:
        raise ValueError(f"not a venue symbol: {value!r}")
    _CHECKED_SYMBOLS.add(value)
    return value


def check_client_id(value: str, pattern: re.Pattern[str], venue: str) -> str:
    """Return ``value`` if the venue accepts it as a client order id.

    Short lower-case alphanumeric ids (what the router makes) fit every venue and skip the
    regex; anything else must match the venue's ``pattern``.
    """
    if type(value) is str and (
        (value.isascii() and value.isalnum() and value.islower() and len(value) <= MAX_FAST_ID_LEN)
        or pattern.fullmatch(value) is not None
    ):
        return value
    raise ValueError(f"client order id {value!r} does not fit {venue}'s rules")


def classify(
    venue: str,
    code: str,
    message: str,
    *,
    rejects: Mapping[str, RejectReason],
    unknown: frozenset[str] = frozenset(),
    rate_limited: frozenset[str] = frozenset(),
    retry_after_s: float | None = None,
    keywords: Sequence[tuple[str, RejectReason]] = (),
) -> AdapterError:
    """Map a venue error code (and, failing that, its message) to a typed error.

    ``unknown`` codes mean the venue itself does not know whether it acted (backend timeout);
    ``rate_limited`` codes are ``RateLimitedError``; every other code is a definitive refusal,
    typed by ``rejects`` or, for codes venues reuse, by ``keywords`` found in the message.
    """
    text = f"{venue}: {message}"
    if code in unknown:
        return UnknownOutcomeError(f"{text} (venue code {code}; outcome unknown: reconcile)")
    if code in rate_limited:
        return RateLimitedError(f"{text} (venue code {code})", retry_after_s)
    reason = rejects.get(code)
    if reason is None:
        low = message.lower()
        reason = next((r for word, r in keywords if word in low), RejectReason.OTHER)
    return OrderRejectedError(reason, code, text)


class RestOrderEntry:
    """Common machinery of a venue's signed REST order entry (see the module docstring)."""

    venue_name = "venue"
    time_path = "/"
    rate_window_s: float | None = None
    """The venue's rate-limit window, the wait reported when a 429 has no ``Retry-After``."""

    def __init__(
        self,
        credentials: Credentials,
        *,
        base_url: str,
        symbols: Sequence[str] = (),
        timeout_s: float = DEFAULT_TIMEOUT_S,
        on_usage: UsageHook | None = None,
        usage_parser: UsageParser,
    ) -> None:
        self._credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.symbols = tuple(symbols)
        self.http = RestSession(
            self.venue_name, timeout_s=timeout_s, default_retry_after_s=self.rate_window_s
        )
        self.clock = ServerClock(self._fetch_server_ms)
        self._on_usage = on_usage
        self._usage_parser = usage_parser

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for names, state_changing in ((STATE_CHANGING_CALLS, True), (QUERY_CALLS, False)):
            for name in names:
                fn = cls.__dict__.get(name)
                if fn is not None:
                    setattr(cls, name, _guarded(fn, state_changing))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r}, key={self._credentials})"

    async def sync_clock(self) -> None:
        """Measure the venue's clock offset (call once at start-up, before trading)."""
        await self.clock.sync()

    async def _fetch_server_ms(self) -> int:
        reply = await self.http.request(
            SignedRequest("GET", self.base_url + self.time_path, {}), state_changing=False
        )
        return self._server_ms(self._json(reply, state_changing=False))

    def _server_ms(self, payload: Any) -> int:
        raise NotImplementedError

    def _error(self, reply: RestReply, payload: Any) -> AdapterError | None:
        raise NotImplementedError

    def _decode(self, body: bytes) -> Any:
        """Decode a reply body (BitMEX overrides this to keep numbers as exact strings)."""
        return orjson.loads(body)

    def _json(self, reply: RestReply, *, state_changing: bool) -> Any:
        _REPLIED.set(True)
        try:
            return self._decode(reply.body)
        except ValueError as e:  # orjson's and json's decode errors are ValueErrors
            what = f"{self.venue_name}: HTTP {reply.status} with a body that is not JSON"
            if reply.status >= HTTP_CLIENT_ERROR:  # a definite 4xx refusal (WAF, auth)
                reason = (
                    RejectReason.AUTH if reply.status == HTTP_UNAUTHORIZED else RejectReason.OTHER
                )
                raise OrderRejectedError(reason, f"HTTP {reply.status}", what) from e
            if state_changing:
                raise UnknownOutcomeError(what + " (outcome unknown: reconcile)") from e
            raise RetryableError(what) from e

    async def _call(
        self,
        signed: SignedRequest | WireRequest,
        *,
        state_changing: bool,
        on_write: WriteHook | None = None,
    ) -> Any:
        """Send a signed request; return its decoded payload or raise the typed error."""
        reply = await self.http.request(signed, state_changing=state_changing, on_write=on_write)
        if self._on_usage is not None:
            usage = self._usage_parser(reply.headers)
            if usage:
                self._on_usage(usage)
        payload = self._json(reply, state_changing=state_changing)
        error = self._error(reply, payload)
        if error is None:
            return payload
        if isinstance(error, OrderRejectedError) and error.reason is RejectReason.TIMESTAMP:
            await self.clock.resync()
        raise error

    async def close(self) -> None:
        """Close the HTTP session."""
        await self.http.close()
