"""Where the supervisor hands event rows: a synchronous callback or a bounded queue.

The live core runs in the same loop and takes rows synchronously, right after each frame (no task
switch on the hot path). Consumers in other tasks (paper trading UI, converters) use
``QueueSink``: bounded; on overflow the oldest batch is dropped, counted, and the feed's books are
resynced so the consumer never sees a silently incomplete book history.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np

EventSink = Callable[[np.ndarray], None]
"""Called with the rows of one frame (a view, valid only during the call)."""


class QueueSink:
    """A bounded queue of row batches (copies) for a consumer task."""

    def __init__(self, maxsize: int = 1024) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.queue: asyncio.Queue[np.ndarray] = asyncio.Queue(maxsize)
        self.dropped = 0
        self.overflowed = False
        """Set on overflow; the supervisor resyncs the feed's books and clears it."""

    def __call__(self, rows: np.ndarray) -> None:
        """Enqueue a copy of ``rows``; on overflow drop the oldest batch and flag it."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
            self.overflowed = True
        self.queue.put_nowait(rows.copy())

    async def get(self) -> np.ndarray:
        """Return the next batch of rows."""
        return await self.queue.get()
