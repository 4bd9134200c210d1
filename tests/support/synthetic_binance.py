"""A live-looking Binance USD-M venue on 127.0.0.1, driven by the synthetic market generator.

The market is ``SyntheticBybit``'s (the same generator, grid and symbol: BTCUSDT, tick 0.1, lot
0.001); the protocol is Binance's public one: ``GET /fapi/v1/exchangeInfo`` (the docs example
re-pointed at BTCUSDT's grid), ``GET /fapi/v1/depth`` (a snapshot whose ``lastUpdateId`` is the
last diff sent), and the combined streams named in the URL: ``/public/stream`` carries
``btcusdt@depth@100ms`` diffs (``u`` counting up by one, ``pu`` and ``U`` the previous ``u``),
``/market/stream`` ``btcusdt@aggTrade``. No subscribe frame: the URL names the streams. The
market never ends; ``disconnect()`` / ``reconnect()`` make an outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import orjson
from aiohttp import web

from tests.support.shared import fixture_file
from tests.support.synthetic_bybit import LOT, SYMBOL, TICK, SyntheticBybit

PUBLIC_PATH = "/public/stream"
MARKET_PATH = "/market/stream"


def exchange_info() -> bytes:
    """The docs exchangeInfo example, re-pointed at the synthetic BTCUSDT grid."""
    info = json.loads(fixture_file("binance_usdm", "docs_exchangeInfo_response.json").read_text())
    symbol = info["symbols"][0]
    symbol.update(symbol="BTCUSDT", pair="BTCUSDT", baseAsset="BTC", pricePrecision=1,
                  quantityPrecision=3)  # fmt: skip
    for f in symbol["filters"]:
        if f["filterType"] == "PRICE_FILTER":
            f.update(tickSize=TICK.text, minPrice="0.1", maxPrice="1000000")
        elif f["filterType"] in ("LOT_SIZE", "MARKET_LOT_SIZE"):
            f.update(stepSize=LOT.text, minQty="0.001")
    info["symbols"] = [symbol]
    return json.dumps(info).encode()


class SyntheticBinance(SyntheticBybit):
    """The venue; ``ws_url`` (the stream host) and ``rest_url`` after ``start``."""

    def __init__(self, seed: int = 5, interval_s: float = 0.004) -> None:
        super().__init__(seed, interval_s)
        self.trade_subscribers: set[web.WebSocketResponse] = set()
        self.snapshots_served = 0
        self._trade_id = 0

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/fapi/v1/exchangeInfo", self._exchange_info)
        app.router.add_get("/fapi/v1/depth", self._depth)
        app.router.add_get(PUBLIC_PATH, self._ws)
        app.router.add_get(MARKET_PATH, self._ws)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = int(self._runner.addresses[0][1])
        self.ws_url = f"ws://127.0.0.1:{port}"
        self.rest_url = f"http://127.0.0.1:{port}"
        self._next_message()  # the generator's first message is the full book
        self._pump = asyncio.create_task(self._run())

    async def _drop(self) -> None:
        for ws in list(self.subscribers | self.trade_subscribers):
            await ws.close()
        self.subscribers.clear()
        self.trade_subscribers.clear()

    def _levels(self) -> tuple[list[list[str]], list[list[str]]]:
        bids = [[TICK.to_str(p), LOT.to_str(q)] for p, q in sorted(self.bids.items(), reverse=True)]
        asks = [[TICK.to_str(p), LOT.to_str(q)] for p, q in sorted(self.asks.items())]
        return bids, asks

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            bids, asks, trades = self._next_message()
            ts_ms = time.time_ns() // 1_000_000
            frames: list[tuple[set[web.WebSocketResponse], bytes]] = []
            if bids or asks:
                self.u += 1
                # U overlaps the previous diff by one id, so whichever diff a snapshot was taken
                # after, the next one satisfies U <= lastUpdateId <= u (levels are absolute)
                data = {"e": "depthUpdate", "E": ts_ms, "T": ts_ms, "s": SYMBOL,
                        "U": self.u - 1, "u": self.u, "pu": self.u - 1, "b": bids,
                        "a": asks}  # fmt: skip
                stream = f"{SYMBOL.lower()}@depth@100ms"
                frames.append((self.subscribers, orjson.dumps({"stream": stream, "data": data})))
            for t in trades:
                self._trade_id += 1
                data = {"e": "aggTrade", "E": ts_ms, "s": SYMBOL, "a": self._trade_id,
                        "p": t["p"], "q": t["v"], "f": self._trade_id, "l": self._trade_id,
                        "T": ts_ms, "m": t["S"] == "Sell"}  # fmt: skip
                stream = f"{SYMBOL.lower()}@aggTrade"
                frames.append(
                    (self.trade_subscribers, orjson.dumps({"stream": stream, "data": data}))
                )
            for subscribers, frame in frames:
                for ws in list(subscribers):
                    with contextlib.suppress(ConnectionResetError):
                        await ws.send_str(frame.decode())
            self.messages_sent += 1

    async def _exchange_info(self, request: web.Request) -> web.Response:
        return web.Response(body=exchange_info(), content_type="application/json")

    async def _depth(self, request: web.Request) -> web.Response:
        if not self.accepting:
            return web.Response(status=503, text="maintenance")
        if request.query.get("symbol") != SYMBOL:
            body = {"code": -1121, "msg": "Invalid symbol."}
            return web.Response(
                status=400, body=orjson.dumps(body), content_type="application/json"
            )
        bids, asks = self._levels()
        ts_ms = time.time_ns() // 1_000_000
        self.snapshots_served += 1
        body = {"lastUpdateId": self.u, "E": ts_ms, "T": ts_ms, "bids": bids, "asks": asks}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            return web.Response(status=503, text="maintenance")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections += 1
        streams = request.query.get("streams", "").split("/")
        group = self.subscribers if request.path == PUBLIC_PATH else self.trade_subscribers
        if any("@depth" in s or "@aggTrade" in s for s in streams):
            group.add(ws)
        try:
            async for _ in ws:  # Binance ignores what clients send on a combined stream
                pass
        finally:
            group.discard(ws)
        return ws
