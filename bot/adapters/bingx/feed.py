"""``BingxFeed``: BingX perpetual swap public market data as a ``MarketDataFeed`` (no I/O)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import msgspec
import numpy as np
import orjson

from bot.adapters.base import (
    ConnectionPolicy,
    EventBuffer,
    FrameError,
    InstrumentRef,
    Reason,
    gunzip_frame,
)
from bot.adapters.bingx import book_sync, constants, parse, schemas
from bot.adapters.bingx.errors import RetryableError, classify_ws_error
from bot.adapters.wire.feed import MALFORMED_ERRORS, BookFeed, Resubscribe
from bot.core.dtypes import VenueId

logger = logging.getLogger(__name__)

Parser = Callable[[msgspec.Raw, InstrumentRef, int, EventBuffer], int]
_PARSERS: dict[str, Parser] = {
    "trade": parse.parse_bingx_trades,
    "bookTicker": parse.parse_bingx_book_ticker,
    "markPrice": parse.parse_bingx_mark_price,
}


class BingxFeed(BookFeed):
    """BingX swap public feed; ``streams`` are ``constants.STREAMS`` suffixes (one depth stream).

    BingX gzips every frame: the policy sets ``gzip_frames`` so the supervisor gunzips binary
    frames before ``on_message``; a frame that still starts with the gzip magic (a test driving
    the feed directly) is gunzipped here, anything else is taken as the frame text (captures hold
    it decompressed). Server ``Ping`` is answered with ``Pong`` through ``take_outgoing``.
    """

    venue = VenueId.BINGX

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        streams: Sequence[str] = constants.DEFAULT_STREAMS,
        ws_url: str = constants.WS_URL,
        rest_url: str = constants.REST_URL,
        stale_after_s: float = constants.STALE_AFTER_S,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url,
            keepalive=constants.KEEPALIVE,
            stale_after_s=stale_after_s,
            gzip_frames=True,
        )
        recovery = Resubscribe(self.resubscribe_frames)
        super().__init__(instruments, qty, state, policy, recovery, ws_url)
        depth = [s for s in streams if _is_depth(s)]
        unknown = [s for s in streams if s not in _PARSERS and not _is_depth(s)]
        if unknown or len(depth) > 1:
            raise ValueError(
                f"bingx streams must be known and hold at most one depth stream: {list(streams)}"
                f"; known: {sorted(constants.STREAMS)}"
            )
        self.streams = tuple(streams)
        self.depth_stream = depth[0] if depth else None
        self._request_id = 0

    def _request(self, req_type: str, data_type: str) -> str:
        self._request_id += 1
        return orjson.dumps(
            {"id": f"tickbot-{self._request_id}", "reqType": req_type, "dataType": data_type}
        ).decode()

    def subscribe_messages(self) -> Sequence[str]:
        """Return one ``sub`` request per stream and instrument."""
        return [
            self._request("sub", f"{r.spec.symbol}@{s}") for s in self.streams for r in self.refs
        ]

    def resubscribe_frames(self, ref: InstrumentRef) -> Sequence[str]:
        """Re-subscribe ``@incrDepth`` (a fresh ``all``); ``depthN`` heals on its next push."""
        if self.depth_stream != constants.INCREMENTAL_DEPTH:
            return ()
        data_type = f"{ref.spec.symbol}@{self.depth_stream}"
        return [self._request("unsub", data_type), self._request("sub", data_type)]

    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Decompress and parse one frame into event rows; count and skip malformed input."""
        self.stats.messages += 1
        try:
            text = gunzip_frame(data) if isinstance(data, bytes) and parse.is_gzip(data) else data
        except FrameError:
            self.malformed("bingx_not_gzip", data)
            return
        if len(text) <= 8 and text.strip().lower() in ("ping", b"ping"):
            self.queue(constants.PONG)
            return
        try:
            frame = schemas.FRAME.decode(text)
        except MALFORMED_ERRORS as e:
            self.malformed(type(e).__name__, text)
            return
        if bytes(frame.ping) != b"null":
            self.queue(constants.PONG)
            return
        if not frame.dataType:
            self._on_reply(frame)
            return
        symbol, _, stream = frame.dataType.partition("@")
        ref = self.by_symbol.get(symbol)
        if ref is None:
            self.count(Reason.UNKNOWN_SYMBOL)
            return
        if _is_depth(stream):
            self._on_depth(ref, stream, frame, text, ts_local_ns, out)
            return
        parser = _PARSERS.get(stream)
        if parser is None:
            self.count(Reason.UNKNOWN_CHANNEL)
            return
        self.run_parser(parser, frame.data, ref, ts_local_ns, out, f"bingx_{stream}", text)

    def _on_depth(
        self, ref: InstrumentRef, stream: str, frame: schemas.Frame, text: str | bytes,
        ts_local_ns: int, out: EventBuffer,
    ) -> None:  # fmt: skip
        local = self.local[ref.spec.symbol]
        try:
            if stream == constants.INCREMENTAL_DEPTH:
                data = schemas.INCR_DEPTH.decode(frame.data)
                book_sync.on_incr_depth(self, local, data, ts_local_ns, out)
            else:
                depth = schemas.DEPTH.decode(frame.data)
                book_sync.on_depth_snapshot(self, local, depth, frame.ts, ts_local_ns, out)
        except MALFORMED_ERRORS as e:
            self.malformed(f"bingx_depth_{type(e).__name__}", text)
            self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)

    def _on_reply(self, frame: schemas.Frame) -> None:
        if frame.code == 0:
            return
        error = classify_ws_error(frame.code, frame.msg)
        self.count(Reason.VENUE_ERROR)
        level = logging.WARNING if isinstance(error, RetryableError) else logging.ERROR
        logger.log(level, "bingx request %s failed: %s", frame.id, error)


def _is_depth(stream: str) -> bool:
    return stream == constants.INCREMENTAL_DEPTH or bool(constants.PARTIAL_DEPTH.match(stream))
