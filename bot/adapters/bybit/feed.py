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

from bot.adapters.base import ConnectionPolicy, EventBuffer, InstrumentRef, Keepalive, Reason
from bot.adapters.bybit import book_sync as book
from bot.adapters.bybit import constants as c
from bot.adapters.bybit import schemas
from bot.adapters.bybit.parse import TickerState, parse_public_trade
from bot.adapters.wire.feed import BookFeed, Resubscribe, op_frames
from bot.adapters.wire.layout import PHASE_SYNCED, SY_PHASE
from bot.adapters.wire.scalars import ms_to_ns
from bot.core.dtypes import VenueId

log = logging.getLogger(__name__)
_S = book.BookStatus


class BybitFeed(BookFeed):
    """Bybit v5 linear public market data for a set of instruments sharing one set of books."""

    venue = VenueId.BYBIT
    sync_columns = book.N_SY

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        ws_url: str = c.WS_PUBLIC_LINEAR_URL,
        rest_url: str = c.REST_BASE_URL,
        depth: int = c.BOOK_DEPTH,
        ping_interval_s: float = c.PING_INTERVAL_S,
        stale_after_s: float = c.STALE_AFTER_S,
        trades: bool = True,
        tickers: bool = True,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url,
            keepalive=Keepalive(interval_s=ping_interval_s, text=c.PING_TEXT),
            stale_after_s=stale_after_s,
        )
        self._depth = depth
        recovery = Resubscribe(self._resubscribe_frames)
        super().__init__(instruments, qty, state, policy, recovery, ws_url)
        self._trades = trades
        self._tickers = tickers
        self._res = np.zeros(book.N_RES, dtype=np.int64)
        self._tick_state = [TickerState() for _ in self.refs]

    def _book_topic(self, ref: InstrumentRef) -> str:
        return c.BOOK_TOPIC.format(depth=self._depth, symbol=ref.spec.symbol)

    def _resubscribe_frames(self, ref: InstrumentRef) -> list[str]:
        """Unsubscribe and subscribe the book topic: Bybit answers with a fresh snapshot."""
        topic = [self._book_topic(ref)]
        return op_frames("unsubscribe", topic, 1) + op_frames("subscribe", topic, 1)

    def subscribe_messages(self) -> Sequence[str]:
        """Return subscribe frames (book, trades, tickers), split to respect the args limit."""
        topics = [self._book_topic(ref) for ref in self.refs]
        for ref in self.refs:
            if self._trades:
                topics.append(c.TRADE_TOPIC.format(symbol=ref.spec.symbol))
            if self._tickers:
                topics.append(c.TICKER_TOPIC.format(symbol=ref.spec.symbol))
        frames: list[str] = []
        chunk: list[str] = []
        for topic in topics:
            if chunk and sum(len(t) + 3 for t in chunk) + len(topic) > c.MAX_ARGS_CHARS // 2:
                frames += op_frames("subscribe", chunk, len(chunk))
                chunk = []
            chunk.append(topic)
        if chunk:
            frames += op_frames("subscribe", chunk, len(chunk))
        return frames

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """After a (re)connect every book waits for the snapshot its subscription brings."""
        self._tick_state = [TickerState() for _ in self.refs]
        super().on_connect(ts_local_ns, out, url)

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
            self.table,
            self.qty,
            self.state,
            ts_local_ns,
            res,
        )
        status = res[book.R_STATUS]
        local = int(res[book.R_LOCAL])
        if status == _S.APPLIED:
            out.n = n
            if res[book.R_SNAPSHOT]:
                self.recovered(local)
            return
        if status == _S.WAITING:
            self.drop_unsynced(local, ts_local_ns)
        elif status == _S.GAP:
            self.stats.gaps += 1
            log.warning(
                "bybit %s: book gap u=%d expected=%d; resubscribing",
                self.symbol(local),
                res[book.R_U],
                res[book.R_EXPECTED],
            )
            self.invalidate(local, Reason.GAP, ts_local_ns, out)
        elif status == _S.CROSSED:
            out.n = n
            self.stats.crossed += 1
            log.warning(
                "bybit %s: book crossed after u=%d; resubscribing",
                self.symbol(local),
                res[book.R_U],
            )
            self.invalidate(local, Reason.CROSSED, ts_local_ns, out)
        elif status == _S.BAD_LEVEL:
            self.malformed("bad_level")
            log.warning(
                "bybit %s: malformed level at u=%d; resubscribing",
                self.symbol(local),
                res[book.R_U],
            )
            if self.table[local, SY_PHASE] == PHASE_SYNCED:
                self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)
        elif status == _S.UNKNOWN_SYMBOL:
            self.count(Reason.UNKNOWN_SYMBOL)
        elif slow_ok:
            self._slow(raw, ts_local_ns, out)
        else:
            self.malformed("book_rejected")

    def _slow(self, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Classify a frame the book scanner did not take, strictly."""
        try:
            frame = schemas.FRAME_DECODER.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed("decode")
            return
        if frame.op is not None:
            if frame.success is False:
                self.count(Reason.VENUE_ERROR)
                log.warning("bybit op %s failed: %s", frame.op, frame.ret_msg)
            return  # pong / subscribe ack
        topic = frame.topic or ""
        if not frame.data or not topic:
            self.malformed("unknown_frame")
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
                    local = self.local.get(trade.s)
                    if local is None:
                        self.count(Reason.UNKNOWN_SYMBOL)
                    elif not parse_public_trade(trade, self.refs[local], ts_local_ns, out):
                        self.malformed("bad_trade")
            elif topic.startswith("tickers."):
                ticker = schemas.TICKER_DECODER.decode(frame.data)
                local = self.local.get(ticker.symbol)
                ts_exch_ns = ms_to_ns(frame.cts or frame.ts or 0)
                if local is None:
                    self.count(Reason.UNKNOWN_SYMBOL)
                elif not self._tick_state[local].apply(
                    ticker, self.refs[local], ts_exch_ns, ts_local_ns, out
                ):
                    self.malformed("bad_ticker")
            else:
                self.count("ignored_topic")
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed("decode")
