"""hftbacktest's raw Binance USD-M collector files, replayed through the live Binance feed.

nkaz001/hftbacktest's collector writes one line per received message, ``<local receive time,
ns> <payload>`` (gzip): combined-stream frames (``{"stream": "btcusdt@depth@0ms", "data":
...}``, ``@bookTicker``, ``@trade``) and the REST ``/fapi/v1/depth`` snapshot body, the one
payload without ``"stream"``, received after the first diffs as Binance's sync procedure asks.
Each line becomes a capture line (``bot.ingest.capture``) and goes through ``BinanceUsdmFeed``,
so the rows come from the same parser and book sync as live trading:

* a REST body is the snapshot of the symbol of the last depth frame before it (a collector
  file holds one symbol; the body does not name it);
* an ``@trade`` frame becomes the one-fill ``aggTrade`` it is part of (``a = f = l = t``; the
  feed subscribes to aggTrades). Insurance-fund and ADL trades (``X`` not ``MARKET``) are not
  market trades (Binance leaves them out of aggTrades too) and are counted, not written;
* local receive times are shifted so that no row is received before the venue stamped it (the
  collector's clock ran behind the venue's), as hftbacktest's ``correct_local_timestamp`` does:
  otherwise the strategy would see the book a second before the simulated venue reaches it.
  The shift is the largest ``E``/``T`` minus receive time, found in a first pass over the file,
  plus ``--feed-latency``; it is reported in the input's type.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bot.adapters.base import InstrumentRef
from bot.adapters.binance_usdm import constants as bc
from bot.adapters.feeds import feed_factory
from bot.core.book import DEFAULT_WINDOW, new_books
from bot.core.instruments import InstrumentSpec
from bot.data.csvscan import ConvertError, open_text_binary
from bot.data.source import READ_ERRORS, Counts, FirstLine
from bot.ingest.capture import CaptureLine, ReplayStats, iter_replay

NAME = "hftbacktest-raw"
VENUE = bc.VENUE
_LINE = re.compile(rb"^(\d{16,19}) (\{.*\})\s*$", re.DOTALL)
_STAMPS = re.compile(rb'"[ET]":(\d{10,16})')
NS_PER_MS = 1_000_000
WS_SRC = bc.WS_ROUTE_PUBLIC + "/stream"
MARKET_TRADE = "MARKET"


def matches(first: FirstLine) -> bool:
    """Return whether ``first`` is a collector line: nanoseconds, a space, a JSON object."""
    return _LINE.match(first.raw) is not None


def _lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """Yield ``(line number, receive ns, payload)``; raise ``ConvertError`` on a bad line."""
    try:
        with open_text_binary(path) as f:
            for k, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                m = _LINE.match(raw)
                if m is None:
                    text = raw[:120].decode("utf-8", "replace").strip()
                    raise ConvertError(f"{path}:{k}: not '<receive ns> <JSON payload>' ({text})")
                yield k, int(m.group(1)), m.group(2)
    except READ_ERRORS as e:
        raise ConvertError(f"{path}: corrupt or truncated input ({e})") from None


def clock_shift_ns(path: Path) -> int:
    """Return how far receive times must move forward so none precedes its venue time."""
    lead = 0
    for _, ts, payload in _lines(path):
        stamps = _STAMPS.findall(payload)
        if stamps:
            lead = max(lead, max(int(s) for s in stamps) * NS_PER_MS - ts)
    return lead


class HftbacktestRawReader:
    """One collector file as event chunks (module docstring); ids are positions in ``specs``."""

    def __init__(
        self,
        path: Path,
        specs: list[InstrumentSpec],
        *,
        feed_latency_ns: int = 0,
        symbols: frozenset[str] | None = None,
    ) -> None:
        self.path = path
        self.counts = Counts()
        self.stats = ReplayStats()
        self.rows = 0
        self.non_market_trades = 0
        self.unknown_lines = 0
        refs = [
            InstrumentRef.of(k, s)
            for k, s in enumerate(specs)
            if s.venue == VENUE and (symbols is None or s.symbol in symbols)
        ]
        if not refs:
            raise ConvertError(
                f"{path}: hftbacktest raw files are {VENUE} data; --instruments lists no "
                f"{VENUE} instrument" + (" selected by --symbols" if symbols is not None else "")
            )
        self._symbols = {r.spec.symbol for r in refs}
        qty, state = new_books(len(specs), DEFAULT_WINDOW)
        self.feed = feed_factory(VENUE)(refs, qty, state)
        self.feed_latency_ns = feed_latency_ns
        self.shift_ns: int | None = None

    @property
    def data_type(self) -> str:
        """Return what the file holds, with the clock shift applied."""
        shift = "" if self.shift_ns is None else f", receive times +{self.shift_ns / 1e9:.3f} s"
        return f"hftbacktest raw {VENUE}{shift}"

    def _capture_lines(self, shift: int) -> Iterator[CaptureLine]:
        depth_symbol: str | None = None
        for k, ts, payload in _lines(self.path):
            try:
                obj = orjson.loads(payload)
            except orjson.JSONDecodeError:
                raise ConvertError(f"{self.path}:{k}: the payload is not JSON") from None
            if not isinstance(obj, dict):
                raise ConvertError(f"{self.path}:{k}: the payload is not a JSON object")
            ts += shift
            stream = obj.get("stream")
            if stream is None:
                if "lastUpdateId" not in obj:
                    self.unknown_lines += 1
                    continue
                only = next(iter(self._symbols)) if len(self._symbols) == 1 else None
                symbol = depth_symbol or only
                if symbol is None:
                    raise ConvertError(
                        f"{self.path}:{k}: a depth snapshot before any depth frame, and "
                        "several instruments: cannot tell its symbol"
                    )
                src = f"{bc.DEPTH_PATH}?symbol={symbol}&limit={bc.DEPTH_SNAPSHOT_LIMIT}"
                yield CaptureLine(ts, "rest", src, payload.decode())
                continue
            data = obj.get("data")
            if not isinstance(data, dict):
                self.unknown_lines += 1
                continue
            event = data.get("e")
            if event == "depthUpdate":
                depth_symbol = str(data.get("s", "")).upper() or depth_symbol
            elif event == "trade":
                if data.get("X", MARKET_TRADE) != MARKET_TRADE:
                    self.non_market_trades += 1
                    continue
                payload = orjson.dumps({"stream": stream, "data": _as_agg_trade(data)})
            yield CaptureLine(ts, "ws", WS_SRC, payload.decode())

    def chunks(self) -> Iterator[np.ndarray]:
        """Yield event chunks in receive order (two passes: the clock shift, then the rows)."""
        if self.shift_ns is None:
            self.shift_ns = clock_shift_ns(self.path) + self.feed_latency_ns
        for chunk in iter_replay(self._capture_lines(self.shift_ns), self.feed, stats=self.stats):
            self.rows += chunk.shape[0]
            yield chunk
        self.counts.gaps += self.feed.stats.gaps


def _as_agg_trade(trade: dict[str, Any]) -> dict[str, Any]:
    """Return the ``aggTrade`` of one ``trade`` (one fill: first = last = aggregate id)."""
    tid = trade.get("t")
    return {
        "e": "aggTrade",
        "E": trade.get("E"),
        "s": trade.get("s"),
        "a": tid,
        "p": trade.get("p"),
        "q": trade.get("q"),
        "f": tid,
        "l": tid,
        "T": trade.get("T"),
        "m": trade.get("m"),
    }
