"""``BybitFeed``: Bybit v5 linear public market data behind the ``MarketDataFeed`` contract.

Topics: ``orderbook.<depth>.<symbol>`` (book, through the ``book.book_message`` kernel),
``publicTrade.<symbol>`` and ``tickers.<symbol>`` (BBO, mark price, funding). Keepalive is the
JSON ``{"op":"ping"}`` every 20 s. A gap, crossed book, malformed delta or stale instrument
invalidates only that instrument and resubscribes its book topic (Bybit answers a subscribe with
a fresh snapshot); no REST snapshot is needed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import numpy as np
import orjson

from bot.adapters.base import (
    ConnectionPolicy,
    EventBuffer,
    InstrumentRef,
    Keepalive,
    SnapshotRequest,
)
from bot.adapters.bybit import book, schemas
from bot.adapters.bybit import constants as c
from bot.adapters.bybit.errors import classify_http
from bot.adapters.bybit.parse import TickerState, parse_public_trade
from bot.adapters.common import ms_to_ns, symbol_table
from bot.adapters.kernelfeed import KernelBookFeed, SyncLayout
from bot.core.dtypes import VenueId
from bot.core.ticks import POW10

log = logging.getLogger(__name__)
_S = book.BookStatus


class BybitFeed(KernelBookFeed):
    """Bybit v5 linear public market data for a set of instruments sharing one set of books."""

    venue = VenueId.BYBIT
    layout = SyncLayout(
        n_columns=book.N_SY,
        grid=(book.SY_TICK_M, book.SY_TICK_E, book.SY_LOT_M, book.SY_LOT_E),
        instrument=book.SY_INST,
        last_u=book.SY_LAST_U,
        phase=book.SY_PHASE,
        phase_wait=book.PHASE_WAIT,
        n_res=book.N_RES,
    )

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        ws_url: str = c.WS_PUBLIC_LINEAR_URL,
        rest_base_url: str = c.REST_BASE_URL,
        depth: int = c.BOOK_DEPTH,
        ping_interval_s: float = c.PING_INTERVAL_S,
        stale_after_s: float = c.STALE_AFTER_S,
        trades: bool = True,
        tickers: bool = True,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_base_url,
            keepalive=Keepalive(interval_s=ping_interval_s, text=c.PING_TEXT),
            stale_after_s=stale_after_s,
            classify_http=classify_http,
        )
        super().__init__(instruments, qty, state, policy)
        self._ws_url = ws_url
        self._depth = depth
        self._trades = trades
        self._tickers = tickers
        topics = [self._book_topic(k) for k in range(len(self._refs))]
        self._symtab, lengths = symbol_table(topics, c.MAX_TOPIC_BYTES)
        self._sync[:, book.SY_TOPICLEN] = lengths[: len(self._refs)]
        self._sync[:, book.SY_SYMLEN] = [len(r.spec.symbol) for r in self._refs]
        self._tick_state = [TickerState() for _ in self._refs]
        self._outgoing: list[str] = []

    def _book_topic(self, local: int) -> str:
        return c.BOOK_TOPIC.format(depth=self._depth, symbol=self._refs[local].spec.symbol)

    # -- connection ------------------------------------------------------------------------
    def ws_urls(self) -> Sequence[str]:
        """Return the public linear URL."""
        return [self._ws_url]

    def subscribe_messages(self) -> Sequence[str]:
        """Return subscribe frames (book, trades, tickers), split to respect the args limit."""
        topics = [self._book_topic(k) for k in range(len(self._refs))]
        for ref in self._refs:
            if self._trades:
                topics.append(c.TRADE_TOPIC.format(symbol=ref.spec.symbol))
            if self._tickers:
                topics.append(c.TICKER_TOPIC.format(symbol=ref.spec.symbol))
        frames: list[str] = []
        chunk: list[str] = []
        for topic in topics:
            if chunk and sum(len(t) + 3 for t in chunk) + len(topic) > c.MAX_ARGS_CHARS // 2:
                frames.append(_op("subscribe", chunk))
                chunk = []
            chunk.append(topic)
        if chunk:
            frames.append(_op("subscribe", chunk))
        return frames

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """After a (re)connect every book waits for the snapshot its subscription brings."""
        self._forget_recovery()
        for k in range(len(self._refs)):
            self._invalidate(k, "connect", ts_local_ns, out)

    def _forget_recovery(self) -> None:
        self._outgoing.clear()
        self._tick_state = [TickerState() for _ in self._refs]

    def take_outgoing(self) -> Sequence[str]:
        """Return and clear resubscribe frames queued by resyncs."""
        if not self._outgoing:
            return ()
        frames, self._outgoing = self._outgoing, []
        return frames

    # -- messages ----------------------------------------------------------------------------
    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame; book frames go straight from bytes to the book."""
        raw = data.encode() if isinstance(data, str) else data
        self.stats.messages += 1
        self._book(raw, ts_local_ns, out, slow_ok=True)

    def _book(self, raw: bytes, ts_local_ns: int, out: EventBuffer, *, slow_ok: bool) -> None:
        out.reserve(len(raw) // 8 + 4)
        res = self._res
        # the kernels read bytes as a read-only uint8 buffer (numba's stubs say ndarray)
        n = book.book_message(
            raw,  # type: ignore[arg-type]
            len(raw),
            out.rows,
            out.n,
            self._sync,
            self._symtab,
            self._qty,
            self._state,
            POW10,
            ts_local_ns,
            res,
        )
        status = res[book.R_STATUS]
        if status == _S.APPLIED:
            out.n = n
            return
        local = int(res[book.R_LOCAL])
        if status == _S.WAITING:
            self.stats.dropped_stale += 1
        elif status == _S.GAP:
            self.stats.gaps += 1
            log.warning(
                "bybit %s: book gap u=%d expected=%d; resubscribing",
                self._refs[local].spec.symbol,
                res[book.R_U],
                res[book.R_EXPECTED],
            )
            self._start_resync(local, "gap", ts_local_ns, out)
        elif status == _S.CROSSED:
            out.n = n
            self.stats.crossed += 1
            log.warning(
                "bybit %s: book crossed after u=%d; resubscribing",
                self._refs[local].spec.symbol,
                res[book.R_U],
            )
            self._start_resync(local, "crossed", ts_local_ns, out)
        elif status == _S.BAD_LEVEL:
            self._malformed("bad_level")
            log.warning(
                "bybit %s: malformed level at u=%d; resubscribing",
                self._refs[local].spec.symbol,
                res[book.R_U],
            )
            if self._sync[local, book.SY_PHASE] == book.PHASE_SYNCED:
                self._start_resync(local, "malformed", ts_local_ns, out)
        elif status == _S.UNKNOWN_SYMBOL:
            self._count("unknown_symbol")
        elif status == _S.OTHER_TOPIC:
            self._count("unsubscribed_topic")
        elif slow_ok:
            self._slow(raw, ts_local_ns, out)
        else:
            self._malformed("book_rejected")

    def _slow(self, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Classify a frame the book scanner did not take, strictly."""
        try:
            frame = schemas.FRAME_DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._malformed("decode")
            return
        if frame.op is not None:
            if frame.success is False:
                self._count("venue_error")
                log.warning("bybit op %s failed: %s", frame.op, frame.ret_msg)
            return  # pong / subscribe ack
        topic = frame.topic or ""
        if not frame.data or not topic:
            self._malformed("unknown_frame")
            return
        try:
            if topic.startswith("orderbook."):
                data = schemas.BOOK_DATA_DECODER.decode(frame.data)
                canon = orjson.dumps(
                    {
                        "topic": topic,
                        "type": frame.type,
                        "ts": frame.ts or 0,
                        "data": {"s": data.s, "b": data.b, "a": data.a, "u": data.u},
                    }
                )
                self._book(canon, ts_local_ns, out, slow_ok=False)
            elif topic.startswith("publicTrade."):
                for trade in schemas.TRADES_DECODER.decode(frame.data):
                    local = self._local.get(trade.s)
                    if local is None:
                        self._count("unknown_symbol")
                    elif not parse_public_trade(trade, self._refs[local], ts_local_ns, out):
                        self._malformed("bad_trade")
            elif topic.startswith("tickers."):
                ticker = schemas.TICKER_DECODER.decode(frame.data)
                local = self._local.get(ticker.symbol)
                if local is None:
                    self._count("unknown_symbol")
                elif not self._tick_state[local].apply(
                    ticker, self._refs[local], ms_to_ns(frame.cts or frame.ts), ts_local_ns, out
                ):
                    self._malformed("bad_ticker")
            else:
                self._count("ignored_topic")
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._malformed("decode")

    # -- sync state --------------------------------------------------------------------------
    def pending_snapshots(self) -> Sequence[SnapshotRequest]:
        """Return nothing: Bybit books recover by resubscribing, not by REST."""
        return ()

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Count and ignore: this feed never asks for REST snapshots."""
        self._count("unexpected_snapshot")

    def _start_resync(self, local: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate the book and resubscribe its topic (Bybit answers with a snapshot)."""
        self._invalidate(local, reason, ts_local_ns, out)
        topic = self._book_topic(local)
        self._outgoing.append(_op("unsubscribe", [topic]))
        self._outgoing.append(_op("subscribe", [topic]))


def _op(op: str, args: list[str]) -> str:
    return orjson.dumps({"op": op, "args": args}).decode()
