"""``BinanceUsdmFeed``: Binance USD-M market data behind the ``MarketDataFeed`` contract.

Streams (2026 routes): ``/public`` carries ``@depth@100ms`` and ``@bookTicker``, ``/market``
carries ``@aggTrade`` and ``@markPrice@1s``; both are combined streams named in the URL. Depth
frames go through the ``sync.depth_update`` kernel (frame bytes to book, no per-level Python);
everything else through strict ``msgspec`` decoders. On a gap, a crossed book, a malformed diff,
a bookTicker that disagrees with the rebuilt book or a stale instrument, only that instrument is
invalidated and re-snapshotted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

import msgspec
import numpy as np
import orjson

from bot.adapters.base import ConnectionPolicy, EventBuffer, InstrumentRef, Keepalive, Reason
from bot.adapters.binance_usdm import book_sync as sync
from bot.adapters.binance_usdm import constants as c
from bot.adapters.binance_usdm import schemas
from bot.adapters.binance_usdm.parse import parse_agg_trade, parse_book_ticker, parse_mark_price
from bot.adapters.wire.feed import BookFeed, RestSnapshot
from bot.adapters.wire.layout import PHASE_SYNCED, PHASE_WAIT, SY_LAST_SEQ, SY_PHASE
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID, level_qty
from bot.core.dtypes import VenueId

log = logging.getLogger(__name__)
_S = sync.DepthStatus
_ROWS_MASK = sync.ROWS_MASK
_depth_update = sync.depth_update


def _depth_path(ref: InstrumentRef) -> str:
    return f"{c.DEPTH_PATH}?symbol={ref.spec.symbol}&limit={c.DEPTH_SNAPSHOT_LIMIT}"


class BinanceUsdmFeed(BookFeed):
    """Binance USD-M public market data for a set of instruments sharing one set of books.

    ``ws_url`` is the stream host; the routes (``/public``, ``/market``) and stream names are
    appended by ``ws_urls``. Books recover from REST depth snapshots.
    """

    venue = VenueId.BINANCE_USDM
    sync_columns = sync.N_SY

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        ws_url: str = c.WS_BASE_URL,
        rest_url: str = c.REST_BASE_URL,
        session_s: float | None = c.PROACTIVE_RECONNECT_S,
        stale_after_s: float = c.STALE_AFTER_S,
        trades: bool = True,
        mark_price: bool = True,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_url,
            keepalive=Keepalive(),  # server pings with frames; the transport answers them
            stale_after_s=stale_after_s,
            max_session_s=session_s,
            snapshot_timeout_s=c.SNAPSHOT_TIMEOUT_S,
        )
        super().__init__(instruments, qty, state, policy, RestSnapshot(_depth_path), ws_url)
        self._ws_base = ws_url.rstrip("/")
        self._trades = trades
        self._mark_price = mark_price
        self._res = np.zeros(sync.N_RES, dtype=np.int64)
        self._buffers: list[deque[tuple[bytes, int]]] = [deque() for _ in self.refs]
        self._bbo_held: list[tuple[int, tuple[int, int, int, int]] | None] = [None] * len(self.refs)

    # -- connection ------------------------------------------------------------------------
    def ws_urls(self) -> Sequence[str]:
        """Return the /public (depth, bookTicker) and, if wanted, /market stream URLs."""
        syms = [r.spec.symbol.lower() for r in self.refs]
        public = [c.DEPTH_STREAM.format(symbol=s) for s in syms]
        public += [c.BOOK_TICKER_STREAM.format(symbol=s) for s in syms]
        urls = [f"{self._ws_base}{c.WS_ROUTE_PUBLIC}/stream?streams={'/'.join(public)}"]
        market = [c.AGG_TRADE_STREAM.format(symbol=s) for s in syms] if self._trades else []
        if self._mark_price:
            market += [c.MARK_PRICE_STREAM.format(symbol=s) for s in syms]
        if market:
            urls.append(f"{self._ws_base}{c.WS_ROUTE_MARKET}/stream?streams={'/'.join(market)}")
        return urls

    def books_on(self, url: str) -> Sequence[int]:
        """Return every book for the ``/public`` (depth) connection, none for ``/market``."""
        if url and not urlsplit(url).path.startswith(c.WS_ROUTE_PUBLIC):
            return ()  # trades / mark price carry no book state
        return range(len(self.refs))

    # -- messages ----------------------------------------------------------------------------
    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame; depth diffs go straight from bytes to the book."""
        raw = data.encode() if isinstance(data, str) else data
        self.stats.messages += 1
        r = _depth_update(  # bytes: a read-only uint8 buffer to numba (its stubs say ndarray)
            raw, out.rows, out.n, self.table, self.qty, self.state, ts_local_ns, self._res  # type: ignore[arg-type]
        )  # fmt: skip
        if r <= _ROWS_MASK:  # applied: the hot path ends here
            out.n = r
            return
        self._depth_status(r, raw, ts_local_ns, out, slow_ok=True)

    def _depth(self, raw: bytes, ts_local_ns: int, out: EventBuffer, *, slow_ok: bool) -> None:
        r = _depth_update(  # bytes: a read-only uint8 buffer to numba (its stubs say ndarray)
            raw, out.rows, out.n, self.table, self.qty, self.state, ts_local_ns, self._res  # type: ignore[arg-type]
        )  # fmt: skip
        if r <= _ROWS_MASK:
            out.n = r
            return
        self._depth_status(r, raw, ts_local_ns, out, slow_ok=slow_ok)

    def _depth_status(
        self, r: int, raw: bytes, ts_local_ns: int, out: EventBuffer, *, slow_ok: bool
    ) -> None:
        status = r >> sync.STATUS_SHIFT
        res = self._res
        local = int(res[sync.R_LOCAL])
        if status == _S.FULL:
            out.reserve(len(raw) // 8 + 4)
            self._depth(raw, ts_local_ns, out, slow_ok=slow_ok)
        elif status == _S.BUFFER:
            self._buffer(local, raw, ts_local_ns, out)
        elif status == _S.STALE:
            self.stats.dropped_stale += 1
        elif status == _S.GAP:
            self.stats.gaps += 1
            log.warning(
                "binance-usdm %s: depth gap U=%d u=%d pu=%d expected=%d; resyncing",
                self.symbol(local),
                res[sync.R_FIRST],
                res[sync.R_LAST],
                res[sync.R_PREV],
                res[sync.R_EXPECTED],
            )
            self.invalidate(local, Reason.GAP, ts_local_ns, out)
            self._buffers[local].append((raw, ts_local_ns))
        elif status == _S.CROSSED:
            out.n = r & _ROWS_MASK
            self.stats.crossed += 1
            log.warning(
                "binance-usdm %s: book crossed after u=%d; resyncing",
                self.symbol(local),
                res[sync.R_LAST],
            )
            self.invalidate(local, Reason.CROSSED, ts_local_ns, out)
        elif status == _S.BAD_LEVEL:
            self.malformed("bad_level")
            if local >= 0 and self.table[local, SY_PHASE] != PHASE_WAIT:
                log.warning(
                    "binance-usdm %s: malformed level in a diff; resyncing",
                    self.symbol(local),
                )
                self.invalidate(local, Reason.MALFORMED, ts_local_ns, out)
        elif status == _S.UNKNOWN_SYMBOL:
            self.count(Reason.UNKNOWN_SYMBOL)
        elif slow_ok:
            self._slow(raw, ts_local_ns, out)
        else:
            self.malformed("depth_rejected")

    def _slow(self, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Classify a frame the depth scanner did not take, strictly; count what is malformed."""
        try:
            frame = schemas.FRAME_DECODER.decode(raw)
            if frame.data:
                event = schemas.EVENT_DECODER.decode(frame.data)
            elif frame.e is not None:
                event = schemas.EVENT_DECODER.decode(raw)
            elif frame.id is not None:
                return  # subscribe / list replies
            elif frame.code is not None:
                self.count(Reason.VENUE_ERROR)
                log.warning("binance-usdm error frame code=%s msg=%s", frame.code, frame.msg)
                return
            else:
                self.malformed("unknown_frame")
                return
        except (msgspec.DecodeError, msgspec.ValidationError):
            self.malformed("decode")
            return
        if isinstance(event, schemas.DepthUpdate):
            # Valid but laid out unusually: re-encode compactly and take the one sync path.
            canon = orjson.dumps(
                {
                    "e": "depthUpdate",
                    "E": event.E,
                    "T": event.T,
                    "s": event.s,
                    "U": event.U,
                    "u": event.u,
                    "pu": event.pu,
                    "b": event.b,
                    "a": event.a,
                }
            )
            self._depth(canon, ts_local_ns, out, slow_ok=False)
            return
        local = self.local.get(event.s)
        if local is None:
            self.count(Reason.UNKNOWN_SYMBOL)
            return
        ref = self.refs[local]
        if isinstance(event, schemas.BookTicker):
            top = parse_book_ticker(event, ref, ts_local_ns, out)
            if top is None:
                self.malformed("bad_bbo")
            else:
                self._cross_check(local, event.u, top, ts_local_ns, out)
        elif isinstance(event, schemas.AggTrade):
            if not parse_agg_trade(event, ref, ts_local_ns, out):
                self.malformed("bad_trade")
        elif isinstance(event, schemas.MarkPriceUpdate) and not parse_mark_price(
            event, ref, ts_local_ns, out
        ):
            self.malformed("bad_mark_price")

    def _cross_check(
        self, local: int, u: int, top: tuple[int, int, int, int], ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Compare bookTickers with the book when both describe the same update id ``u``.

        A bookTicker usually arrives before the 100 ms depth diff that contains its ``u``, so
        it is kept and compared when the next bookTicker arrives, if by then the book's last
        applied ``u`` is exactly that one. No cost on the depth hot path.
        """
        held = self._bbo_held[local]
        self._bbo_held[local] = None
        if held is not None:
            self._compare_top(local, held[0], held[1], ts_local_ns, out)
        if not self._compare_top(local, u, top, ts_local_ns, out):
            self._bbo_held[local] = (u, top)

    def _compare_top(
        self, local: int, u: int, top: tuple[int, int, int, int], ts_local_ns: int, out: EventBuffer
    ) -> bool:
        """Check ``top`` against the book if it is at ``u``; return whether it was compared."""
        row = self.table[local]
        inst = self.refs[local].instrument
        if row[SY_PHASE] != PHASE_SYNCED or row[SY_LAST_SEQ] != u:
            return False
        if self.state[inst, ST_VALID] == 0:
            return True
        bid, bid_lot, ask, ask_lot = top
        ok = (
            int(self.state[inst, ST_BEST_BID]) == bid
            and int(self.state[inst, ST_BEST_ASK]) == ask
            and level_qty(self.qty, self.state, inst, 0, bid) == bid_lot
            and level_qty(self.qty, self.state, inst, 1, ask) == ask_lot
        )
        self.count("bbo_checked")
        if not ok:
            log.warning(
                "binance-usdm %s: bookTicker u=%d disagrees with the book; resyncing",
                self.symbol(local),
                u,
            )
            self.invalidate(local, Reason.BBO_MISMATCH, ts_local_ns, out)
        return True

    # -- snapshots ---------------------------------------------------------------------------
    def apply_snapshot(self, local: int, body: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Apply a REST depth snapshot, then replay the diffs buffered meanwhile."""
        out.reserve(len(body) // 8 + 4)
        res = self._res
        n = sync.depth_snapshot(
            body,  # type: ignore[arg-type]  # bytes: a uint8 buffer to numba
            len(body),
            local,
            out.rows,
            out.n,
            self.table,
            self.qty,
            self.state,
            ts_local_ns,
            res,
        )
        if res[sync.R_STATUS] != sync.SnapshotStatus.APPLIED:
            self.malformed("bad_snapshot")
            log.warning(
                "binance-usdm %s: malformed depth snapshot; fetching again", self.symbol(local)
            )
            self.recovery.again(self, local, ts_local_ns)
            return
        out.n = n
        buffered, self._buffers[local] = self._buffers[local], deque()
        while buffered:
            raw, _received_ns = buffered.popleft()
            # The buffered diffs take effect now, with the snapshot: their rows carry its receive
            # time, so rows stay in replay order (event files and the core need ts_local_ns to
            # never go back).
            self._depth(raw, ts_local_ns, out, slow_ok=False)
            if self.table[local, SY_PHASE] == PHASE_WAIT:
                # Snapshot too old (gap) or the replay broke: keep the rest for the next one.
                self._buffers[local].extend(buffered)
                return
        inst = self.refs[local].instrument
        self.state[inst, ST_VALID] = 1
        self.check_crossed(local, ts_local_ns, out, int(res[sync.R_LAST]))

    # -- sync state --------------------------------------------------------------------------
    def forget(self, local: int) -> None:
        """Drop the diffs buffered for book ``local`` (a new snapshot starts a new buffer)."""
        self._buffers[local].clear()

    def _buffer(self, local: int, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        buffer = self._buffers[local]
        if len(buffer) >= c.MAX_BUFFERED_DIFFS:
            self.count(Reason.BUFFER_OVERFLOW)
            buffer.clear()
        buffer.append((raw, ts_local_ns))
