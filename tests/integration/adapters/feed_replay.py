"""Helpers to drive a market-data feed through captured frames, as the supervisor would."""

from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np

from bot.adapters.base import EventBuffer
from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID, ST_VALID, Book
from bot.core.dtypes import EventKind
from tests.support.shared import fixture_file


def lines(venue: str, name: str) -> list[str]:
    """Return the non-empty lines of an ndjson fixture."""
    text = fixture_file(venue, name).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip()]


def load_json(venue: str, name: str):
    """Return a decoded JSON fixture."""
    return json.loads(fixture_file(venue, name).read_text(encoding="utf-8"))


def assert_valid_books_uncrossed(state: np.ndarray) -> None:
    """Fail if any book flagged valid is crossed or locked."""
    for inst in range(state.shape[0]):
        if state[inst, ST_VALID] and state[inst, ST_BEST_BID] != NO_BID:
            assert state[inst, ST_BEST_ASK] == NO_ASK or (
                state[inst, ST_BEST_BID] < state[inst, ST_BEST_ASK]
            ), f"instrument {inst} is flagged valid but crossed"


def run(feed, frames: Iterable[str | bytes], out: EventBuffer | None = None) -> EventBuffer:
    """Feed frames one by one, checking the valid-never-crossed invariant after each."""
    out = EventBuffer() if out is None else out
    for k, frame in enumerate(frames):
        feed.on_message(frame, 1_000 + k, out)
        assert_valid_books_uncrossed(feed.state)
    return out


def book_of(feed) -> Book:
    """Return a ``Book`` view on the feed's shared arrays."""
    book = Book()
    book.qty, book.state = feed.qty, feed.state
    return book


def kinds(out: EventBuffer) -> list[EventKind]:
    """Return the kinds of the emitted rows."""
    return [EventKind(int(k)) for k in out.view()["kind"]]


def invalid_rows(out: EventBuffer, inst: int = 0) -> int:
    """Return how many BOOK_INVALID rows were emitted for ``inst``."""
    rows = out.view()
    return int(np.sum((rows["kind"] == EventKind.BOOK_INVALID) & (rows["instrument"] == inst)))


def inject(frames: list, fault: str, k: int) -> list:
    """Return ``frames`` with message ``k`` dropped, duplicated, or swapped with ``k + 1``."""
    if fault == "drop":
        return [*frames[:k], *frames[k + 1 :]]
    if fault == "duplicate":
        return [*frames[: k + 1], frames[k], *frames[k + 1 :]]
    if fault == "out_of_order":
        return [*frames[:k], frames[k + 1], frames[k], *frames[k + 2 :]]
    raise ValueError(f"unknown fault {fault!r}")
