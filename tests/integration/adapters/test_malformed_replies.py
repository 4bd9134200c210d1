"""Replies and pushes of an unexpected shape become typed adapter errors, never a crash.

Found by ``make fuzz``: a 200 reply without the venue's ``data`` field raised ``KeyError`` out
of every venue's order entry, and the router (which handles ``AdapterError``) lost its task.
The server here is a real HTTP server on 127.0.0.1 answering with such bodies.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator

import orjson
import pytest
from aiohttp import web

from bot.adapters.errors import RetryableError, UnknownOutcomeError
from bot.adapters.okx.orders import OkxOrderEntry
from bot.adapters.okx.user_stream import OkxUserStream
from bot.adapters.trading import Credentials, OrderRequest
from bot.core.dtypes import Side
from bot.ingest.capture import CaptureError, read_capture

CREDS = Credentials("test-key", "test-secret", "test-pass")
ORDER_ROW = {
    "ordId": "1",
    "clOrdId": "tb1x",
    "instId": "BTC-USDT-SWAP",
    "state": "live",
    "side": "buy",
    "sz": "1",
    "px": "100.5",
    "uTime": "1700000000000",
}


@pytest.fixture
async def replying() -> AsyncIterator[tuple[OkxOrderEntry, list[bytes]]]:
    """An OKX order entry against a loopback server that answers every request with the
    next body of the returned list (the test fills it)."""
    bodies: list[bytes] = []

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(body=bodies.pop(0), content_type="application/json")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    entry = OkxOrderEntry(CREDS, base_url=f"http://127.0.0.1:{port}")
    try:
        yield entry, bodies
    finally:
        await entry.close()
        await runner.cleanup()


async def test_order_reply_without_data_is_an_unknown_outcome(replying) -> None:
    entry, bodies = replying
    bodies.append(b'{"code": "0", "msg": ""}')
    req = OrderRequest("tb1x", "BTC-USDT-SWAP", Side.BUY, "1", "100.5")
    with pytest.raises(UnknownOutcomeError, match="submit: reply not understood"):
        await entry.submit(req)


async def test_query_reply_of_the_wrong_shape_is_retryable(replying) -> None:
    entry, bodies = replying
    bodies.append(b'{"code": "0", "data": "not a list of orders"}')
    with pytest.raises(RetryableError, match="open_orders: reply not understood"):
        await entry.open_orders("BTC-USDT-SWAP")


async def test_a_report_whose_size_is_not_a_decimal_is_refused(replying) -> None:
    entry, bodies = replying
    bodies.append(orjson.dumps({"code": "0", "data": [ORDER_ROW | {"sz": "1e999999"}]}))
    bodies.append(orjson.dumps({"code": "0", "data": [ORDER_ROW]}))
    with pytest.raises(RetryableError):
        await entry.open_orders("BTC-USDT-SWAP")
    (report,) = await entry.open_orders("BTC-USDT-SWAP")
    assert report.qty == "1"


async def test_a_bad_price_from_the_caller_is_still_the_callers_error(replying) -> None:
    entry, bodies = replying
    req = OrderRequest("tb1x", "BTC-USDT-SWAP", Side.BUY, "1", "1,5")
    with pytest.raises(ValueError, match="decimal string"):
        await entry.submit(req)
    assert bodies == []


def test_user_stream_frame_missing_a_field_is_counted_not_raised() -> None:
    stream = OkxUserStream(OkxOrderEntry(CREDS), ws_url="ws://127.0.0.1:9/")
    push = {"arg": {"channel": "orders"}, "data": [ORDER_ROW]}
    assert stream.parse_frame(orjson.dumps(push))[0].qty == "1"
    no_side = {k: v for k, v in ORDER_ROW.items() if k != "side"}
    broken = {"arg": {"channel": "orders"}, "data": [no_side]}
    assert stream.parse_frame(orjson.dumps(broken)) is None
    assert stream.parse_frame(orjson.dumps(push | {"data": [ORDER_ROW | {"sz": "NaN"}]})) is None
    assert stream.parse_frame(b"{not json") is None
    assert stream.malformed == 3


def test_corrupt_gzip_capture_is_a_capture_error(tmp_path) -> None:
    """Found by ``make fuzz``: a damaged deflate stream raised ``zlib.error``, which is not an
    ``OSError`` like a damaged gzip header."""
    data = bytearray(
        gzip.compress(b'{"format": "tickbot-capture"}\n' + b'{"ts": 1}\n' * 200, mtime=0)
    )
    data[10] ^= 1  # first byte of the deflate stream: "invalid code lengths set"
    path = tmp_path / "broken.ndjson.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(CaptureError, match="cannot read"):
        list(read_capture(path))


def test_capture_line_with_a_time_beyond_int64_is_a_bad_line(tmp_path) -> None:
    """Found by ``make fuzz``: ``ts`` of 2**64 raised OverflowError in the feed's rows."""
    from bot.ingest.capture import ReplayStats

    head = b'{"format": "tickbot-capture", "version": 1}\n'
    line = b'{"ts": 18446744073709551616, "ch": "ws", "src": "/x", "msg": "{}"}\n'
    ok = b'{"ts": 5, "ch": "ws", "src": "/x", "msg": "{}"}\n'
    path = tmp_path / "big.ndjson"
    path.write_bytes(head + line + ok)
    stats = ReplayStats()
    assert [x.ts for x in read_capture(path, stats)] == [5]
    assert stats.bad_lines == 1


def test_capture_header_symbol_too_long_for_the_feed_is_a_capture_error(tmp_path) -> None:
    """Found by ``make fuzz``: the feed's ValueError escaped ``feed_for_capture``."""
    from bot.ingest.capture import feed_for_capture, write_capture

    symbol = "AK" + "T" * 40 + "USDT"
    spec = {"venue": "binance-usdm", "symbol": symbol, "tick_size": "0.1", "lot_size": "1"}
    path = write_capture(tmp_path / "long.ndjson.gz", venue="binance-usdm", symbols=[symbol],
                         instruments=[spec], lines=[])  # fmt: skip
    with pytest.raises(CaptureError, match="longer than"):
        feed_for_capture(path)
