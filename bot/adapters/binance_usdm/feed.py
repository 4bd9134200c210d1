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

from bot.adapters.base import (
    ConnectionPolicy,
    EventBuffer,
    InstrumentRef,
    Keepalive,
    SnapshotRequest,
)
from bot.adapters.binance_usdm import constants as c
from bot.adapters.binance_usdm import schemas, snapshot, sync
from bot.adapters.binance_usdm.errors import classify_http
from bot.adapters.binance_usdm.parse import parse_agg_trade, parse_book_ticker, parse_mark_price
from bot.adapters.common import pack_symbols
from bot.adapters.kernelfeed import KernelBookFeed, SyncLayout
from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID, ST_VALID, level_qty
from bot.core.dtypes import VenueId
from bot.core.ticks import POW10

log = logging.getLogger(__name__)
_S = sync.DepthStatus
_ROWS_MASK = sync.ROWS_MASK
_depth_update = sync.depth_update


class BinanceUsdmFeed(KernelBookFeed):
    """Binance USD-M public market data for a set of instruments sharing one set of books."""

    venue = VenueId.BINANCE_USDM
    layout = SyncLayout(
        n_columns=sync.N_SY,
        grid=(sync.SY_TICK_M, sync.SY_TICK_E, sync.SY_LOT_M, sync.SY_LOT_E),
        instrument=sync.SY_INST,
        last_u=sync.SY_LAST_U,
        phase=sync.SY_PHASE,
        phase_wait=sync.PHASE_WAIT,
        n_res=sync.N_RES,
    )

    def __init__(
        self,
        instruments: Sequence[InstrumentRef],
        qty: np.ndarray,
        state: np.ndarray,
        *,
        ws_base_url: str = c.WS_BASE_URL,
        rest_base_url: str = c.REST_BASE_URL,
        session_s: float | None = c.PROACTIVE_RECONNECT_S,
        stale_after_s: float = c.STALE_AFTER_S,
        trades: bool = True,
        mark_price: bool = True,
    ) -> None:
        policy = ConnectionPolicy(
            rest_base_url=rest_base_url,
            keepalive=Keepalive(),  # server pings with frames; the transport answers them
            stale_after_s=stale_after_s,
            max_session_s=session_s,
            snapshot_timeout_s=c.SNAPSHOT_TIMEOUT_S,
            classify_http=classify_http,
        )
        super().__init__(instruments, qty, state, policy)
        self._ws_base = ws_base_url.rstrip("/")
        self._trades = trades
        self._mark_price = mark_price
        pack_symbols(self._sync, sync.SY_SYM0, sync.SY_SYMLEN, [r.spec.symbol for r in self._refs])
        self._buffers: list[deque[tuple[bytes, int]]] = [deque() for _ in self._refs]
        self._wanted: set[int] = set()
        self._bbo_held: list[tuple[int, tuple[int, int, int, int]] | None] = [None] * len(
            self._refs
        )
        self._pending: list[SnapshotRequest] = []

    # -- connection ------------------------------------------------------------------------
    def ws_urls(self) -> Sequence[str]:
        """Return the /public (depth, bookTicker) and, if wanted, /market stream URLs."""
        syms = [r.spec.symbol.lower() for r in self._refs]
        public = [c.DEPTH_STREAM.format(symbol=s) for s in syms]
        public += [c.BOOK_TICKER_STREAM.format(symbol=s) for s in syms]
        urls = [f"{self._ws_base}{c.WS_ROUTE_PUBLIC}/stream?streams={'/'.join(public)}"]
        market = [c.AGG_TRADE_STREAM.format(symbol=s) for s in syms] if self._trades else []
        if self._mark_price:
            market += [c.MARK_PRICE_STREAM.format(symbol=s) for s in syms]
        if market:
            urls.append(f"{self._ws_base}{c.WS_ROUTE_MARKET}/stream?streams={'/'.join(market)}")
        return urls

    def subscribe_messages(self) -> Sequence[str]:
        """Return no frames: streams are named in the URL."""
        return ()

    def on_connect(self, ts_local_ns: int, out: EventBuffer, url: str = "") -> None:
        """After a (re)connect of the depth connection, every book resyncs from a snapshot."""
        if not self.carries_books(url):
            return  # trades / mark price carry no book state
        self._forget_recovery()
        for k in range(len(self._refs)):
            self._start_resync(k, "connect", ts_local_ns, out)

    def carries_books(self, url: str) -> bool:
        """Return whether ``url`` is the /public route (depth, bookTicker)."""
        return not url or urlsplit(url).path.startswith(c.WS_ROUTE_PUBLIC)

    def _forget_recovery(self) -> None:
        self._wanted.clear()
        self._pending.clear()
        for buffer in self._buffers:
            buffer.clear()

    def take_outgoing(self) -> Sequence[str]:
        """Return nothing: Binance needs no application-level answers."""
        return ()

    # -- messages ----------------------------------------------------------------------------
    def on_message(self, data: str | bytes, ts_local_ns: int, out: EventBuffer) -> None:
        """Parse one frame; depth diffs go straight from bytes to the book."""
        raw = data.encode() if isinstance(data, str) else data
        self.stats.messages += 1
        r = _depth_update(  # bytes: a read-only uint8 buffer to numba (its stubs say ndarray)
            raw, out.rows, out.n, self._sync, self._qty, self._state, ts_local_ns, self._res  # type: ignore[arg-type]
        )  # fmt: skip
        if r <= _ROWS_MASK:  # applied: the hot path ends here
            out.n = r
            return
        self._depth_status(r, raw, ts_local_ns, out, slow_ok=True)

    def _depth(self, raw: bytes, ts_local_ns: int, out: EventBuffer, *, slow_ok: bool) -> None:
        r = _depth_update(  # bytes: a read-only uint8 buffer to numba (its stubs say ndarray)
            raw, out.rows, out.n, self._sync, self._qty, self._state, ts_local_ns, self._res  # type: ignore[arg-type]
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
                self._refs[local].spec.symbol,
                res[sync.R_FIRST],
                res[sync.R_LAST],
                res[sync.R_PREV],
                res[sync.R_EXPECTED],
            )
            self._start_resync(local, "gap", ts_local_ns, out)
            self._buffers[local].append((raw, ts_local_ns))
        elif status == _S.CROSSED:
            out.n = r & _ROWS_MASK
            self.stats.crossed += 1
            log.warning(
                "binance-usdm %s: book crossed after u=%d; resyncing",
                self._refs[local].spec.symbol,
                res[sync.R_LAST],
            )
            self._start_resync(local, "crossed", ts_local_ns, out)
        elif status == _S.BAD_LEVEL:
            self._malformed("bad_level")
            if local >= 0 and self._sync[local, sync.SY_PHASE] != sync.PHASE_WAIT:
                log.warning(
                    "binance-usdm %s: malformed level in a diff; resyncing",
                    self._refs[local].spec.symbol,
                )
                self._start_resync(local, "malformed", ts_local_ns, out)
        elif status == _S.UNKNOWN_SYMBOL:
            self._count("unknown_symbol")
        elif slow_ok:
            self._slow(raw, ts_local_ns, out)
        else:
            self._malformed("depth_rejected")

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
                self._count("venue_error")
                log.warning("binance-usdm error frame code=%s msg=%s", frame.code, frame.msg)
                return
            else:
                self._malformed("unknown_frame")
                return
        except (msgspec.DecodeError, msgspec.ValidationError):
            self._malformed("decode")
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
        local = self._local.get(event.s)
        if local is None:
            self._count("unknown_symbol")
            return
        ref = self._refs[local]
        if isinstance(event, schemas.BookTicker):
            top = parse_book_ticker(event, ref, ts_local_ns, out)
            if top is None:
                self._malformed("bad_bbo")
            else:
                self._cross_check(local, event.u, top, ts_local_ns, out)
        elif isinstance(event, schemas.AggTrade):
            if not parse_agg_trade(event, ref, ts_local_ns, out):
                self._malformed("bad_trade")
        elif isinstance(event, schemas.MarkPriceUpdate) and not parse_mark_price(
            event, ref, ts_local_ns, out
        ):
            self._malformed("bad_mark_price")

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
        row = self._sync[local]
        inst = self._refs[local].instrument
        if row[sync.SY_PHASE] != sync.PHASE_SYNCED or row[sync.SY_LAST_U] != u:
            return False
        if self._state[inst, ST_VALID] == 0:
            return True
        bid, bid_lot, ask, ask_lot = top
        ok = (
            int(self._state[inst, ST_BEST_BID]) == bid
            and int(self._state[inst, ST_BEST_ASK]) == ask
            and level_qty(self._qty, self._state, inst, 0, bid) == bid_lot
            and level_qty(self._qty, self._state, inst, 1, ask) == ask_lot
        )
        self._count("bbo_checked")
        if not ok:
            log.warning(
                "binance-usdm %s: bookTicker u=%d disagrees with the book; resyncing",
                self._refs[local].spec.symbol,
                u,
            )
            self._start_resync(local, "bbo_mismatch", ts_local_ns, out)
        return True

    # -- snapshots ---------------------------------------------------------------------------
    def pending_snapshots(self) -> Sequence[SnapshotRequest]:
        """Return and clear the REST depth snapshots to fetch."""
        if not self._pending:
            return ()
        pending, self._pending = self._pending, []
        return pending

    def on_snapshot(
        self, request: SnapshotRequest, body: bytes, ts_local_ns: int, out: EventBuffer
    ) -> None:
        """Apply a REST depth snapshot, then replay the diffs buffered meanwhile."""
        local = next(
            (k for k, r in enumerate(self._refs) if r.instrument == request.instrument), None
        )
        if local is None or local not in self._wanted:
            self._count("unexpected_snapshot")
            return
        self._wanted.discard(local)
        out.reserve(len(body) // 8 + 4)
        res = self._res
        n = snapshot.depth_snapshot(
            body,  # type: ignore[arg-type]  # bytes: a uint8 buffer to numba
            len(body),
            local,
            out.rows,
            out.n,
            self._sync,
            self._qty,
            self._state,
            POW10,
            ts_local_ns,
            res,
        )
        if res[sync.R_STATUS] != snapshot.SnapshotStatus.APPLIED:
            self._malformed("bad_snapshot")
            log.warning(
                "binance-usdm %s: malformed depth snapshot; fetching again",
                self._refs[local].spec.symbol,
            )
            self._request(local)
            return
        out.n = n
        buffered, self._buffers[local] = self._buffers[local], deque()
        while buffered:
            raw, _received_ns = buffered.popleft()
            # The buffered diffs take effect now, with the snapshot: their rows carry its receive
            # time, so rows stay in replay order (event files and the core need ts_local_ns to
            # never go back).
            self._depth(raw, ts_local_ns, out, slow_ok=False)
            if self._sync[local, sync.SY_PHASE] == sync.PHASE_WAIT:
                # Snapshot too old (gap) or the replay broke: keep the rest for the next one.
                self._buffers[local].extend(buffered)
                return
        inst = self._refs[local].instrument
        self._state[inst, ST_VALID] = 1
        check = self._book_check(inst)
        if check:
            self.stats.crossed += 1
            log.warning(
                "binance-usdm %s: book crossed after snapshot %d; resyncing",
                self._refs[local].spec.symbol,
                res[sync.R_LAST],
            )
            self._start_resync(local, "crossed", ts_local_ns, out)

    def _book_check(self, inst: int) -> bool:
        bid = self._state[inst, ST_BEST_BID]
        ask = self._state[inst, ST_BEST_ASK]
        return bid != NO_BID and ask != NO_ASK and bid >= ask

    # -- sync state --------------------------------------------------------------------------
    def _start_resync(self, local: int, reason: str, ts_local_ns: int, out: EventBuffer) -> None:
        """Invalidate the book and fetch a new REST snapshot (diffs buffer meanwhile)."""
        self._invalidate(local, reason, ts_local_ns, out)
        self._buffers[local].clear()
        self._request(local)

    def _request(self, local: int) -> None:
        if local in self._wanted:
            return
        self._wanted.add(local)
        symbol = self._refs[local].spec.symbol
        path = f"{c.DEPTH_PATH}?symbol={symbol}&limit={c.DEPTH_SNAPSHOT_LIMIT}"
        self._pending.append(SnapshotRequest(self._refs[local].instrument, path))

    def _buffer(self, local: int, raw: bytes, ts_local_ns: int, out: EventBuffer) -> None:
        buffer = self._buffers[local]
        if len(buffer) >= c.MAX_BUFFERED_DIFFS:
            self._count("buffer_overflow")
            buffer.clear()
        buffer.append((raw, ts_local_ns))
