"""Bitget v2 order entry against the real samples: every real error body, the docs' order and
fill pushes and REST replies, and the pre-hash rule (no published vector exists)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from bot.adapters.bitget.errors import order_error
from bot.adapters.bitget.orders import order_body, parse_fill, parse_order
from bot.adapters.bitget.signing import BitgetSigner
from bot.adapters.bitget.user_stream import parse_user_message
from bot.adapters.trading import (
    Credentials,
    FillReport,
    OrderRejectedError,
    OrderRequest,
    RejectReason,
)
from bot.core.dtypes import Liquidity, OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample_bytes, sample_json, sample_ndjson

VENUE = "bitget_v2"


def test_prehash_is_timestamp_method_path_query_body() -> None:
    signer = BitgetSigner(Credentials("k", "s3cr3t", "pp"), demo=True)
    path = "/api/v2/mix/order/detail?symbol=BTCUSDT&productType=USDT-FUTURES"
    headers = signer.headers(1695806875837, "GET", path)
    prehash = b"1695806875837GET" + path.encode()
    assert (
        headers["ACCESS-SIGN"]
        == base64.b64encode(hmac.new(b"s3cr3t", prehash, hashlib.sha256).digest()).decode()
    )
    assert headers["ACCESS-TIMESTAMP"] == "1695806875837"
    assert headers["paptrading"] == "1"
    assert "s3cr3t" not in repr(signer)


def test_every_real_error_body_is_typed() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    got = {}
    for row in rows:
        body = orjson.loads(row["body_raw"])
        err = order_error(body["code"], body["msg"])
        assert isinstance(err, OrderRejectedError)
        got[body["code"]] = err.reason
    assert got == {"40017": RejectReason.OTHER, "40009": RejectReason.AUTH}


def test_docs_order_push_yields_fill_then_order() -> None:
    fill, order = parse_user_message(sample_bytes(VENUE, "docs_ws_Order_push.json"))
    assert isinstance(fill, FillReport)
    assert (fill.trade_id, fill.qty, fill.price, fill.fee, fill.liquidity) == (
        "1111111111",
        "0.01",
        "27000.5",
        "0.162003",
        Liquidity.TAKER,
    )
    assert (order.status, order.filled_qty, order.avg_price, order.price) == (
        OrderStatus.FILLED,
        "0.01",
        "27000.5",
        None,
    )
    assert parse_user_message(sample_bytes(VENUE, "docs_ws_UserTrade_push.json")) == []


def test_docs_rest_replies() -> None:
    report = parse_order(sample_json(VENUE, "docs_rest_GetOrder_response.json")["data"])
    assert (report.symbol, report.status, report.filled_qty, report.side) == (
        "ETHUSDT",
        OrderStatus.FILLED,
        "2",
        Side.BUY,
    )
    row = sample_json(VENUE, "docs_ws_UserTrade_push.json")["data"][0]
    fill = parse_fill(row)
    assert (fill.fee, fill.fee_asset, fill.liquidity) == ("0.183717", "USDT", Liquidity.TAKER)


def test_order_body_is_exact_compact_json() -> None:
    req = OrderRequest(
        "abc1",
        "BTCUSDT",
        Side.SELL,
        "0.010",
        "65000.1",
        OrderFlag.POST_ONLY | OrderFlag.REDUCE_ONLY,
    )
    assert order_body(req, "USDT-FUTURES", "USDT") == (
        b'{"symbol":"BTCUSDT","productType":"USDT-FUTURES","marginMode":"crossed","marginCoin":"USDT",'
        b'"size":"0.010","side":"sell","clientOid":"abc1","orderType":"limit","price":"65000.1",'
        b'"force":"post_only","reduceOnly":"YES"}'
    )
