"""Intent → signed request, per venue, next to the HMAC floor measured in the same run.

Each row times ``entry.build_submit(order)`` — client-id and decimal checks, the venue's
parameter string or JSON body, timestamp from the clock estimate, HMAC, headers, URL: the
request ready to hand to the socket. The baseline is the floor: one ``hmac.new(secret, payload,
sha256).digest()`` over the exact bytes that venue signs for that order. Target: median
≤ 5 µs and ≤ 3× the floor. Run: ``python -m benchmarks orders``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
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


def run() -> list[dict[str, Any]]:
    """One row per venue: median/p99 µs per order and the HMAC floor measured alongside."""
    return [_bench(*v) for v in VENUES]


if __name__ == "__main__":
    for r in run():
        print(json.dumps(r))
