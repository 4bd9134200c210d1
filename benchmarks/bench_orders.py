"""Intent → signed request, per venue, next to the HMAC floor measured in the same run.

Each row times ``entry.build_submit(order)`` — client-id and decimal checks, the venue's
parameter string or JSON body, timestamp from the clock estimate, HMAC, headers, URL: the
request ready to hand to the socket. The baseline is the floor: one ``hmac.new(secret, payload,
sha256).digest()`` over the exact bytes that venue signs for that order. Target: median
≤ 5 µs and ≤ 3× the floor. Run: ``python -m benchmarks orders``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

from benchmarks.common import result, time_blocks
from bot.adapters.binance_usdm.orders import BinanceOrderEntry
from bot.adapters.bingx.orders import BingxOrderEntry
from bot.adapters.bitget.orders import BitgetOrderEntry
from bot.adapters.bitmex.orders import BitmexOrderEntry
from bot.adapters.bybit.orders import BybitOrderEntry
from bot.adapters.okx.orders import OkxOrderEntry
from bot.adapters.trading import Credentials, OrderRequest, SignedRequest
from bot.core.dtypes import OrderFlag, Side

KEY = "benchkey0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ"
SECRET = "benchsecret0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
CREDS = Credentials(KEY, SECRET, "benchpassphrase")
N_BLOCKS = 200
PER_BLOCK = 200


def _binance_payload(s: SignedRequest) -> bytes:
    return s.url.split("?", 1)[1].rsplit("&signature=", 1)[0].encode()


def _bybit_payload(s: SignedRequest) -> bytes:
    h = s.headers
    return f"{h['X-BAPI-TIMESTAMP']}{KEY}{h['X-BAPI-RECV-WINDOW']}".encode() + s.body


def _okx_payload(s: SignedRequest) -> bytes:
    path = "/" + s.url.split("/", 3)[3]
    return f"{s.headers['OK-ACCESS-TIMESTAMP']}POST{path}".encode() + s.body


def _bitget_payload(s: SignedRequest) -> bytes:
    path = "/" + s.url.split("/", 3)[3]
    return f"{s.headers['ACCESS-TIMESTAMP']}POST{path}".encode() + s.body


def _bitmex_payload(s: SignedRequest) -> bytes:
    path = "/" + s.url.split("/", 3)[3]
    return f"POST{path}{s.headers['api-expires']}".encode() + s.body


VENUES: list[tuple[str, Callable[[], Any], str, Callable[[SignedRequest], bytes]]] = [
    (
        "binance-usdm",
        lambda: BinanceOrderEntry(CREDS, symbols=("BTCUSDT",)),
        "BTCUSDT",
        _binance_payload,
    ),
    ("bybit", lambda: BybitOrderEntry(CREDS), "BTCUSDT", _bybit_payload),
    ("okx", lambda: OkxOrderEntry(CREDS), "BTC-USDT-SWAP", _okx_payload),
    ("bitget", lambda: BitgetOrderEntry(CREDS), "BTCUSDT", _bitget_payload),
    ("bingx", lambda: BingxOrderEntry(CREDS), "BTC-USDT", _binance_payload),
    ("bitmex", lambda: BitmexOrderEntry(CREDS), "XBTUSDT", _bitmex_payload),
]


def _orders(symbol: str) -> list[OrderRequest]:
    return [
        OrderRequest(
            f"r1b{i:08d}",
            symbol,
            Side.BUY if i % 2 else Side.SELL,
            "0.013",
            f"65000.{i % 10}",
            OrderFlag.POST_ONLY,
        )
        for i in range(PER_BLOCK)
    ]


def _bench(
    name: str, make: Callable[[], Any], symbol: str, payload_of: Callable[[SignedRequest], bytes]
) -> dict[str, Any]:
    entry = make()
    orders = _orders(symbol)
    build = entry.build_submit
    for o in orders:  # warm-up
        build(o)

    def ours(_block: int) -> None:
        for o in orders:
            build(o)

    payloads = [payload_of(build(o)) for o in orders]
    key = SECRET.encode()
    new, sha = hmac.new, hashlib.sha256

    def floor(_block: int) -> None:
        for p in payloads:
            new(key, p, sha).digest()

    floor_ns = time_blocks(floor, N_BLOCKS, PER_BLOCK)
    ours_ns = time_blocks(ours, N_BLOCKS, PER_BLOCK)
    floor_us = float(sorted(floor_ns)[len(floor_ns) // 2]) / 1000
    row = result(
        f"orders: {name} intent -> signed request",
        ours_ns / 1000,
        "us/order",
        baseline_name="hmac floor",
        baseline_median=floor_us,
    )
    row["ratio_to_floor"] = row["median"] / floor_us
    row["note"] = (
        f"{row['median']:.2f} us vs floor {floor_us:.2f} us = {row['ratio_to_floor']:.2f}x"
    )
    return row


def _bench_ws(name: str, make: Callable[[], Any], symbol: str, rest_us: float) -> dict[str, Any]:
    """Intent -> WebSocket order frame. Binance signs each frame: its baseline is the HMAC
    floor over the sorted parameter string. Bybit's connection is authenticated once, the frame
    carries no signature: its baseline is the same venue's signed REST request."""
    entry = make()
    orders = _orders(symbol)
    build = entry.build_ws_submit
    for o in orders:
        build(o)

    def ours(_block: int) -> None:
        for o in orders:
            build(o)

    ours_ns = time_blocks(ours, N_BLOCKS, PER_BLOCK)
    if name != "binance-usdm":
        return result(
            f"orders: {name} intent -> WebSocket frame",
            ours_ns / 1000,
            "us/order",
            baseline_name="its REST request",
            baseline_median=rest_us,
        )
    key = SECRET.encode()
    payloads = []
    for o in orders:
        params = json.loads(build(o)[1])["params"]
        params.pop("signature")
        payloads.append("&".join(f"{k}={params[k]}" for k in sorted(params)).encode())

    def floor(_block: int) -> None:
        for p in payloads:
            hmac.new(key, p, hashlib.sha256).digest()

    floor_ns = time_blocks(floor, N_BLOCKS, PER_BLOCK)
    floor_us = float(sorted(floor_ns)[len(floor_ns) // 2]) / 1000
    row = result(
        f"orders: {name} intent -> signed WebSocket frame",
        ours_ns / 1000,
        "us/order",
        baseline_name="hmac floor",
        baseline_median=floor_us,
    )
    row["ratio_to_floor"] = row["median"] / floor_us
    return row


ROUND_TRIPS = 400
WARM_TRIPS = 50


async def _loopback(venue: str, transport: str) -> tuple[list[float], list[float]]:
    """Submit -> socket write and submit -> reply on a loopback venue (same process)."""
    from tests.support.order_venue import Filters, OrderVenueServer
    from tests.support.order_venues.binance import BinancePlugin
    from tests.support.order_venues.bybit import BybitPlugin

    plugin = BinancePlugin() if venue == "binance-usdm" else BybitPlugin()
    async with OrderVenueServer(plugin, {"BTCUSDT": Filters("0.1", "0.001")}) as server:
        if venue == "binance-usdm":
            entry: Any = BinanceOrderEntry(
                server.credentials,
                base_url=server.base_url,
                transport=transport,  # type: ignore[arg-type]
                ws_api_url=server.ws_url + "/ws-fapi/v1",
            )
        else:
            entry = BybitOrderEntry(
                server.credentials,
                base_url=server.base_url,
                transport=transport,  # type: ignore[arg-type]
                ws_trade_url=server.ws_url + "/v5/trade",
            )
        await entry.sync_clock()
        write_us: list[float] = []
        trip_us: list[float] = []
        try:
            for i in range(WARM_TRIPS + ROUND_TRIPS):
                order = OrderRequest(f"rt{transport}{i:07d}", "BTCUSDT", Side.BUY, "0.013", "100.1")
                written: list[int] = []
                t0 = time.monotonic_ns()
                await entry.submit(order, on_write=written.append)
                t1 = time.monotonic_ns()
                if i >= WARM_TRIPS:
                    write_us.append((written[0] - t0) / 1000)
                    trip_us.append((t1 - t0) / 1000)
        finally:
            await entry.close()
    return write_us, trip_us


def _transport_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for venue in ("binance-usdm", "bybit"):
        rest_write, rest_trip = asyncio.run(_loopback(venue, "rest"))
        ws_write, ws_trip = asyncio.run(_loopback(venue, "ws"))
        rest_write_med, rest_trip_med = statistics.median(rest_write), statistics.median(rest_trip)
        rows.append(
            result(
                f"orders: {venue} WS submit -> socket write",
                ws_write,
                "us/order",
                baseline_name="REST",
                baseline_median=rest_write_med,
            )
        )
        rows.append(
            result(
                f"orders: {venue} WS loopback round trip",
                ws_trip,
                "us/order",
                baseline_name="REST",
                baseline_median=rest_trip_med,
            )
        )
    return rows


def run() -> list[dict[str, Any]]:
    """Per venue: µs per signed order next to the HMAC floor; the WebSocket frames; and, for
    the venues with WebSocket order entry, REST against WebSocket on a loopback venue."""
    rows = [_bench(*v) for v in VENUES]
    rest = {v[0]: r["median"] for v, r in zip(VENUES, rows, strict=True)}
    rows += [_bench_ws(*v[:3], rest[v[0]]) for v in VENUES if v[0] in ("binance-usdm", "bybit")]
    return rows + _transport_rows()


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
