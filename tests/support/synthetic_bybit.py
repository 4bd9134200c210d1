"""A live-looking Bybit v5 linear venue on 127.0.0.1, driven by the synthetic market generator.

It speaks Bybit's real public protocol: ``GET /v5/market/instruments-info`` (the recorded docs
body, whose BTCUSDT grid is the generator's), and on ``/v5/public/linear`` the ``subscribe`` and
``ping`` ops with their acks, ``orderbook.50.<symbol>`` as one snapshot then deltas with ``u``
counting up by one, and ``publicTrade.<symbol>`` frames. The market never ends: a background
task advances the generator one message every ``interval_s`` and pushes it to every subscribed
connection. ``disconnect()`` drops every connection and refuses new ones until ``reconnect()``
(a venue outage, seen by the bot as not-ready).
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import numpy as np
import orjson
from aiohttp import WSMsgType, web

from bot.core.dtypes import EventKind
from bot.core.ticks import Grid
from bot.data.generate import GenerateParams, generate_chunks
from tests.support.shared import fixture_file

SYMBOL = "BTCUSDT"
WS_PATH = "/v5/public/linear"
TICK = Grid.parse("0.10")
LOT = Grid.parse("0.001")


class SyntheticBybit:
    """The venue; ``ws_url`` and ``rest_url`` after ``start``."""

    def __init__(self, seed: int = 5, interval_s: float = 0.004) -> None:
        self.interval_s = interval_s
        params = GenerateParams(events=2_000_000, tick_size="0.1", lot_size="0.001",
                                price="60000", levels=20, duration_s=20_000.0)  # fmt: skip
        self._chunks = generate_chunks(params, seed)
        self._rows = np.zeros(0)
        self._pos = 0
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self.u = 0
        self.accepting = True
        self.subscribers: set[web.WebSocketResponse] = set()
        self.connections = 0
        self.messages_sent = 0
        self._runner: web.AppRunner | None = None
        self._pump: asyncio.Task[None] | None = None
        self.ws_url = ""
        self.rest_url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/v5/market/instruments-info", self._instruments)
        app.router.add_get(WS_PATH, self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = int(self._runner.addresses[0][1])
        self.ws_url = f"ws://127.0.0.1:{port}{WS_PATH}"
        self.rest_url = f"http://127.0.0.1:{port}"
        self._next_message()  # the generator's first message is the full book
        self._pump = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump
        await self._drop()
        if self._runner is not None:
            await self._runner.cleanup()

    async def disconnect(self) -> None:
        """Drop every connection and refuse new ones (an outage)."""
        self.accepting = False
        await self._drop()

    def reconnect(self) -> None:
        """Accept connections again."""
        self.accepting = True

    async def _drop(self) -> None:
        for ws in list(self.subscribers):
            await ws.close()
        self.subscribers.clear()

    # -- the market -------------------------------------------------------------------------
    def _next_message(self) -> tuple[list[list[str]], list[list[str]], list[dict]]:
        """Advance one message; return its (bids, asks, trades) in Bybit's strings."""
        if self._pos >= self._rows.shape[0]:
            self._rows = next(self._chunks)
            self._pos = 0
        bids: list[list[str]] = []
        asks: list[list[str]] = []
        trades: list[dict] = []
        while True:
            r = self._rows[self._pos]
            self._pos += 1
            kind = int(r["kind"])
            px, qty = int(r["price_tick"]), int(r["qty_lot"])
            if kind == EventKind.BOOK_CLEAR:
                self.bids.clear()
                self.asks.clear()
            elif kind in (EventKind.BOOK_BID, EventKind.BOOK_ASK):
                side = self.bids if kind == EventKind.BOOK_BID else self.asks
                if qty:
                    side[px] = qty
                else:
                    side.pop(px, None)
                (bids if kind == EventKind.BOOK_BID else asks).append(
                    [TICK.to_str(px), LOT.to_str(qty)]
                )
            elif kind in (EventKind.TRADE_BUY, EventKind.TRADE_SELL):
                trades.append({"s": SYMBOL, "S": "Buy" if kind == EventKind.TRADE_BUY else "Sell",
                               "v": LOT.to_str(qty), "p": TICK.to_str(px), "L": "ZeroPlusTick",
                               "i": f"t{self.messages_sent}", "BT": False})  # fmt: skip
            if int(r["flags"]) & 2 or self._pos >= self._rows.shape[0]:
                return bids, asks, trades

    def _book_frame(self, kind: str, bids: list, asks: list, ts_ms: int) -> str:
        data = {"s": SYMBOL, "b": bids, "a": asks, "u": self.u, "seq": self.u}
        return orjson.dumps({"topic": f"orderbook.50.{SYMBOL}", "type": kind, "ts": ts_ms,
                             "data": data, "cts": ts_ms}).decode()  # fmt: skip

    def snapshot_frame(self, ts_ms: int) -> str:
        bids = [[TICK.to_str(p), LOT.to_str(q)] for p, q in sorted(self.bids.items(), reverse=True)]
        asks = [[TICK.to_str(p), LOT.to_str(q)] for p, q in sorted(self.asks.items())]
        return self._book_frame("snapshot", bids[:50], asks[:50], ts_ms)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            bids, asks, trades = self._next_message()
            ts_ms = time.time_ns() // 1_000_000
            frames = []
            if bids or asks:  # u counts book updates: a trades-only message leaves it alone
                self.u += 1
                frames.append(self._book_frame("delta", bids, asks, ts_ms))
            if trades:
                for t in trades:
                    t["T"] = ts_ms
                frames.append(orjson.dumps({"topic": f"publicTrade.{SYMBOL}", "type": "snapshot",
                                            "ts": ts_ms, "data": trades}).decode())  # fmt: skip
            for ws in list(self.subscribers):
                for frame in frames:
                    with contextlib.suppress(ConnectionResetError):
                        await ws.send_str(frame)
            self.messages_sent += 1

    # -- HTTP and WebSocket -----------------------------------------------------------------
    async def _instruments(self, request: web.Request) -> web.Response:
        body = fixture_file("bybit", "docs_instruments_info_linear.json").read_bytes()
        return web.Response(body=body, content_type="application/json")

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="maintenance")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                op = orjson.loads(msg.data)
                if op.get("op") == "ping":
                    await ws.send_str(orjson.dumps({"success": True, "ret_msg": "pong",
                                                    "conn_id": "c", "req_id": op.get("req_id", ""),
                                                    "op": "ping"}).decode())  # fmt: skip
                elif op.get("op") == "subscribe":
                    await ws.send_str(orjson.dumps({"success": True, "ret_msg": "", "conn_id": "c",
                                                    "req_id": op.get("req_id", ""),
                                                    "op": "subscribe"}).decode())  # fmt: skip
                    if any(a.startswith("orderbook.") for a in op.get("args", [])):
                        ts_ms = time.time_ns() // 1_000_000
                        await ws.send_str(self.snapshot_frame(ts_ms))
                        self.subscribers.add(ws)
        finally:
            self.subscribers.discard(ws)
        return ws
