"""Bybit v5 order entry against the real samples: the documented string-to-sign, every real
error body, the docs' order/execution pushes and acks."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from bot.adapters.bybit.errors import order_error
from bot.adapters.bybit.orders import order_body, parse_order
from bot.adapters.bybit.signing import BybitSigner, string_to_sign
from bot.adapters.bybit.user_stream import parse_user_message
from bot.adapters.rest.usage import bybit_usage
from bot.adapters.trading import (
    Credentials,
    FillReport,
    OrderRejectedError,
    OrderRequest,
    RateLimitedError,
    RateLimitUsage,
    RejectReason,
)
from bot.core.dtypes import Liquidity, OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample_bytes, sample_json, sample_ndjson

VENUE = "bybit_v5"
DOC_STRING = "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"


def test_documented_string_to_sign() -> None:
    # PROTOCOLS.md 2.6: Bybit publishes the string to sign but not the secret behind its hex.
    assert (
        string_to_sign(
            1658384314791, "XXXXXXXXXX", 5000, "category=option&symbol=BTC-29JUL22-25000-C"
        )
        == DOC_STRING
    )


def test_signer_signs_timestamp_key_window_and_exact_body() -> None:
    signer = BybitSigner(Credentials("XXXXXXXXXX", "s3cr3t"), 5000)
    body = b'{"category":"linear","symbol":"BTCUSDT"}'
    headers = signer.headers(1658384314791, body)
    expected = hmac.new(
        b"s3cr3t", b"1658384314791XXXXXXXXXX5000" + body, hashlib.sha256
    ).hexdigest()
    assert headers["X-BAPI-SIGN"] == expected
    assert headers["X-BAPI-TIMESTAMP"] == "1658384314791"
    assert headers["X-BAPI-RECV-WINDOW"] == "5000"
    assert "s3cr3t" not in repr(signer)


def test_ws_auth_frame_matches_the_docs_shape() -> None:
    doc = sample_json(VENUE, "docs/ws_trade__Request_Example_1.json")
    frame = BybitSigner(Credentials("XXXXXX", "k")).ws_auth(doc["args"][1])
    assert frame["op"] == doc["op"]
    assert frame["args"][:2] == doc["args"][:2]
    assert (
        frame["args"][2]
        == hmac.new(b"k", f"GET/realtime{doc['args'][1]}".encode(), hashlib.sha256).hexdigest()
    )


def test_every_real_error_body_is_typed() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    seen = set()
    for row in rows:
        body = orjson.loads(row["body_raw"]) if row.get("body_raw") else row
        err = order_error(body["retCode"], body["retMsg"])
        seen.add(body["retCode"])
        if body["retCode"] == 10006:
            assert isinstance(err, RateLimitedError)
        else:
            assert isinstance(err, OrderRejectedError)
            assert (
                err.reason
                is {10002: RejectReason.TIMESTAMP, 10004: RejectReason.AUTH}[body["retCode"]]
            )
    assert seen == {10002, 10006, 10004}


def test_message_typed_codes() -> None:
    reduce_only = order_error(110017, "Reduce-only rule not satisfied")
    assert isinstance(reduce_only, OrderRejectedError)
    assert reduce_only.reason is RejectReason.REDUCE_ONLY_REJECTED
    qty = order_error(10001, "Qty invalid")
    assert isinstance(qty, OrderRejectedError)
    assert qty.reason is RejectReason.LOT_FILTER


def test_docs_pushes() -> None:
    (order,) = parse_user_message(
        sample_bytes(VENUE, "docs/ws_private_order__Stream_Example_2.json")
    )
    assert (order.status, order.side, order.qty, order.filled_qty, order.avg_price) == (
        OrderStatus.FILLED,
        Side.SELL,
        "1",
        "1",
        "75",
    )
    for name in (
        "docs/ws_private_execution__Stream_Example_2.json",
        "thirdparty/nautilus_ws_account_execution.json",
    ):
        (fill,) = parse_user_message(sample_bytes(VENUE, name))
        assert isinstance(fill, FillReport)
        assert (fill.trade_id, fill.qty, fill.price, fill.fee) == (
            "0ab1bdf7-4219-438b-b30a-32ec863018f7",
            "0.5",
            "95900.1",
            "26.3725275",
        )
        assert fill.liquidity is Liquidity.TAKER
    for other in (
        "docs/ws_connect__Authentication_2.json",
        "docs/ws_trade__Response_Example_8.json",
    ):
        assert parse_user_message(sample_bytes(VENUE, other)) == []


def test_realtime_row_from_docs_order_push_shape() -> None:
    row = sample_json(VENUE, "docs/ws_private_order__Stream_Example_2.json")["data"][0]
    assert parse_order(row).venue_order_id == "5cf98598-39a7-459e-97bf-76ca765ee020"


def test_order_body_is_exact_compact_json() -> None:
    req = OrderRequest(
        "abc1",
        "BTCUSDT",
        Side.SELL,
        "0.010",
        "65000.10",
        OrderFlag.POST_ONLY | OrderFlag.REDUCE_ONLY,
    )
    assert order_body(req) == (
        b'{"category":"linear","symbol":"BTCUSDT","side":"Sell","qty":"0.010","orderLinkId":"abc1",'
        b'"positionIdx":0,"orderType":"Limit","price":"65000.10","timeInForce":"PostOnly","reduceOnly":true}'
    )


def test_usage_headers_from_ws_trade_sample() -> None:
    header = sample_json(VENUE, "docs/ws_trade__Response_Example_4.json")["header"]
    assert bybit_usage(header) == (
        RateLimitUsage("endpoint", used=1, limit=10, remaining=9, reset_ms=1711001595208),
    )
    assert bybit_usage({}) == ()
