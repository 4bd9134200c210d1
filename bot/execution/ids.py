"""Client order ids: lowercase base36, run id + counter, unique across restarts.

Every venue's id rule admits ``[0-9a-z]{1,32}`` (Binance ≤36 of ``[.A-Za-z:/0-9_-]``, Bybit ≤36,
OKX ≤32 alphanumerics, Bitget <50, BingX ≤40 and lower-cased by the venue, BitMEX any), so the
text id is ``run_id`` (8 base36 digits: milliseconds since 2020-01-01 at start-up) followed by
the order counter in base36 (at most 13 digits for an int64): 9 to 21 characters.

The counter is also the order's int64 ``client_order_id`` in the core's rows. A restarted router
continues the counter after the largest one its journal has seen, and takes a run id greater
than any journaled one, so neither the int64 nor the text id is ever reused. Reconciliation
recognises our own orders, even ones whose journal records were lost, by ``parse_client_id``.
"""

from __future__ import annotations

import re
import time

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
RUN_ID_LEN = 8
"""Width of the run id prefix (36**8 ms is 89 years from the epoch below)."""
RUN_EPOCH_MS = 1_577_836_800_000
"""2020-01-01T00:00:00Z in Unix ms: run ids count milliseconds from here."""
MAX_CLIENT_ID_LEN = 32
"""The tightest venue rule (OKX ``clOrdId``); our ids never exceed 21 characters."""
_MAX_COUNTER = (1 << 63) - 1
_OUR_ID = re.compile(r"^[0-9a-z]{9,21}$")


def to_base36(n: int) -> str:
    """Return ``n >= 0`` in lowercase base36."""
    if n < 0:
        raise ValueError(f"base36 of a negative number: {n}")
    if n == 0:
        return "0"
    digits = []
    while n:
        n, r = divmod(n, 36)
        digits.append(ALPHABET[r])
    return "".join(reversed(digits))


def new_run_id(now_ms: int | None = None, after: str | None = None) -> str:
    """Return a run id for a process starting at ``now_ms`` (Unix ms), greater than ``after``.

    ``after`` is the last run id in the journal: a clock that stepped back never makes a
    restarted bot reuse an earlier run's prefix.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = max(0, ms - RUN_EPOCH_MS)
    if after is not None:
        value = max(value, int(after, 36) + 1)
    text = to_base36(value)
    if len(text) > RUN_ID_LEN:
        raise ValueError(f"run id overflow: {text!r}")
    return text.rjust(RUN_ID_LEN, "0")


def client_id(run_id: str, counter: int) -> str:
    """Return the text client order id of order ``counter`` of run ``run_id``."""
    if not 0 < counter <= _MAX_COUNTER:
        raise ValueError(f"order counter out of range: {counter}")
    return run_id + to_base36(counter)


def parse_client_id(text: str) -> tuple[str, int] | None:
    """Return ``(run_id, counter)`` if ``text`` has our format, else None (a foreign order)."""
    if _OUR_ID.match(text) is None:
        return None
    counter = int(text[RUN_ID_LEN:], 36)
    if counter == 0 or counter > _MAX_COUNTER:
        return None
    return text[:RUN_ID_LEN], counter


class IdSource:
    """Hands out order counters and text ids for one run (one per router)."""

    def __init__(self, run_id: str, last_counter: int = 0) -> None:
        if len(run_id) != RUN_ID_LEN or any(c not in ALPHABET for c in run_id):
            raise ValueError(f"bad run id {run_id!r}")
        self.run_id = run_id
        self.last = last_counter

    def next(self) -> tuple[int, str]:
        """Return the next ``(counter, text id)``."""
        self.last += 1
        return self.last, self.run_id + to_base36(self.last)

    def advance_past(self, counter: int) -> None:
        """Never hand out ``counter`` or anything below it (journal replay)."""
        self.last = max(self.last, counter)
