"""Error classes every adapter's ``errors.py`` re-exports (STYLE.md section 8).

``RetryableError``: reconnect or retry with backoff. ``FatalError``: retrying cannot help (bad
request, unknown symbol, no permission). ``UnknownOutcomeError``: an order request whose outcome
is unknown (timeout, disconnect, 5xx); reconciliation settles it.
"""

from __future__ import annotations


class VenueError(Exception):
    """An error reported by, or about, a venue."""


class RetryableError(VenueError):
    """Transient: reconnect or retry with backoff."""


class FatalError(VenueError):
    """Permanent: retrying the same request cannot succeed."""


class UnknownOutcomeError(VenueError):
    """The venue may or may not have acted; reconcile before assuming either."""
