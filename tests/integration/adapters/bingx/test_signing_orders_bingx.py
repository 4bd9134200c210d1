"""BingX swap order entry against the real samples: documented signature vectors, every real
error body (including the 80012 wrapper), the docs' order replies and user-stream push."""

from __future__ import annotations

import gzip

import orjson
import pytest

from bot.adapters.bingx.errors import order_error, unwrap
from bot.adapters.bingx.orders import order_params, parse_order
from bot.adapters.bingx.signing import BingxSigner, sign_payload
from bot.adapters.bingx.user_stream import ListenKeyExpiredError, parse_user_message
from bot.adapters.rest.stream import gunzip
from bot.adapters.trading import Credentials, OrderRejectedError, OrderRequest, RejectReason
from bot.core.dtypes import OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample_bytes, sample_json, sample_ndjson

VENUE = "bingx_swap"


def test_documented_signature_vectors() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    for v in doc["vectors"]:
        assert sign_payload(doc["secretKey"], v["signed_string"]) == v["expected_signature"], v[
            "name"
        ]
        if "queryString" in v:
            assert v["queryString"] + v["requestBody"] == v["signed_string"]
    signer = BingxSigner(Credentials(doc["apiKey"], doc["secretKey"]))
    assert (
        signer.signature(doc["vectors"][0]["signed_string"])
        == doc["vectors"][0]["expected_signature"]
    )
    assert doc["secretKey"] not in repr(signer)


EXPECTED = {
    "100421": RejectReason.TIMESTAMP,
    "101204": RejectReason.INSUFFICIENT_MARGIN,
    "104411": RejectReason.OTHER,
    "101400": RejectReason.OTHER,
}


def test_every_real_error_body_is_typed() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    checked = 0
    for row in rows:
        if row["body_raw"] is None:  # the 80012 wrapper is quoted only as a prefix
            prefix = row["note"].split("prefix is quoted in the source: ", 1)[1].split(" -> ")[0]
            # the outer body is truncated: take its msg as the decoder would (unescaped)
            inner = prefix.split('"msg":"', 1)[1].replace('\\"', '"')
            assert unwrap("80012", inner) == ("101253", "margin is not enough")
            err = order_error(80012, inner)
            assert isinstance(err, OrderRejectedError)
            assert err.reason is RejectReason.INSUFFICIENT_MARGIN
        else:
            body = orjson.loads(row["body_raw"])
            err = order_error(body["code"], body["msg"])
            assert isinstance(err, OrderRejectedError), row
            assert err.reason is EXPECTED[str(body["code"])], row
        checked += 1
    assert checked == len(rows) == 5


def test_docs_order_replies() -> None:
    order = parse_order(sample_json(VENUE, "docs_rest_GetOrder_response.json")["data"]["order"])
    assert (order.status, order.qty, order.price, order.side) == (
        OrderStatus.OPEN,
        "1.0",
        "2.1710",
        Side.SELL,
    )
    assert order.venue_order_id == "1736012449498123500"  # an exact int above 2**53
    listed = sample_json(VENUE, "docs_rest_GetOpenOrders_response.json")["data"]["orders"]
    assert [parse_order(o).status for o in listed] == [OrderStatus.OPEN] * len(listed)
    cancelled = sample_json(VENUE, "docs_rest_CancelAllOrder_response.json")["data"]["success"]
    assert {parse_order(o).status for o in cancelled} == {OrderStatus.CANCELLED}


def test_docs_user_stream_push() -> None:
    frame = sample_bytes(VENUE, "docs2023/ws__3_Order_update_push_ORDER_TRADE_UPDATE.fixed.json")
    (order,) = parse_user_message(gunzip(gzip.compress(frame)))
    assert (order.status, order.filled_qty, order.avg_price, order.side) == (
        OrderStatus.FILLED,
        "5.00000000",
        "7.82690000",
        Side.SELL,
    )
    with pytest.raises(ListenKeyExpiredError):
        parse_user_message(sample_bytes(VENUE, "docs2023/ws__1_listenKey_expired_push_2.json"))
    assert (
        parse_user_message(
            sample_bytes(VENUE, "docs2023/ws__2_Account_balance_and_position_update_push_3.json")
        )
        == []
    )


def test_order_params_are_exact_strings() -> None:
    req = OrderRequest(
        "abc1",
        "BTC-USDT",
        Side.BUY,
        "0.001",
        "65000.10",
        OrderFlag.POST_ONLY | OrderFlag.REDUCE_ONLY,
    )
    assert order_params(req) == (
        "symbol=BTC-USDT&side=BUY&positionSide=BOTH&type=LIMIT&quantity=0.001&price=65000.10"
        "&timeInForce=PostOnly&reduceOnly=true&clientOrderID=abc1"
    )
    with pytest.raises(ValueError, match="client order id"):
        order_params(OrderRequest("ABC", "BTC-USDT", Side.BUY, "1", "1"))  # BingX lower-cases ids
