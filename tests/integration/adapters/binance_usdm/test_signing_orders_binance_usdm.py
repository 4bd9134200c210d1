"""Binance USD-M order entry against the real samples: documented signature vectors, every real
error body, the real order reply and user-stream pushes."""

from __future__ import annotations

import orjson
import pytest

from bot.adapters.binance_usdm.errors import order_error
from bot.adapters.binance_usdm.orders import (
    BinanceOrderEntry,
    order_params,
    order_ws_params,
    parse_order,
)
from bot.adapters.binance_usdm.signing import BinanceSigner, sign_payload
from bot.adapters.binance_usdm.user_stream import parse_user_message
from bot.adapters.errors import UnknownOutcomeError
from bot.adapters.rest.usage import binance_usage
from bot.adapters.trading import (
    Credentials,
    FillReport,
    OrderRejectedError,
    OrderRequest,
    RateLimitedError,
    RateLimitUsage,
    RejectReason,
)
from bot.core.dtypes import OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample_bytes, sample_json, sample_ndjson

VENUE = "binance_usdm"


def test_documented_signature_vectors() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    checked = 0
    for v in doc["vectors"]:
        payload = v["queryString"] + v["requestBody"]
        assert sign_payload(doc["secretKey"], payload) == v["expected_signature"], v["name"]
        checked += 1
    spot = doc["also_spot_docs_vector"]
    assert sign_payload(spot["secretKey"], spot["totalParams"]) == spot["expected_signature"]
    assert checked == 3


def test_signer_appends_signature_over_exact_query() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    signer = BinanceSigner(Credentials(doc["apiKey"], doc["secretKey"]))
    query = signer.sign_query(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC", 1591702613943
    )
    assert query.endswith("&signature=" + doc["vectors"][0]["expected_signature"])
    assert signer.headers == {"X-MBX-APIKEY": doc["apiKey"]}
    assert doc["secretKey"] not in repr(signer)


def test_ws_api_params_sorted_and_signed() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    signer = BinanceSigner(Credentials("key1", doc["secretKey"]))
    params = signer.sign_ws_params({"symbol": "BTCUSDT", "side": "BUY", "quantity": "1"}, 17)
    payload = "apiKey=key1&quantity=1&side=BUY&symbol=BTCUSDT&timestamp=17"
    assert params["signature"] == sign_payload(doc["secretKey"], payload)


EXPECTED = {
    "-1021": RejectReason.TIMESTAMP,
    "-2019": RejectReason.INSUFFICIENT_MARGIN,
    "-1111": RejectReason.PRICE_FILTER,
    "-4014": RejectReason.PRICE_FILTER,
}


def test_every_real_error_body_is_typed() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    assert rows
    import orjson

    for row in rows:
        body = orjson.loads(row["body_raw"])
        err = order_error(body["code"], body["msg"], 2.0)
        code = str(body["code"])
        if code == "-1003":  # 429 / 418: rate limited, outcome unknown, Retry-After kept
            assert isinstance(err, RateLimitedError)
            assert err.retry_after_s == 2.0
        else:
            assert isinstance(err, OrderRejectedError), row
            assert err.reason is EXPECTED[code], row
            assert err.code == code


def test_backend_timeouts_are_unknown_outcomes() -> None:
    err = order_error(-1007, "Timeout waiting for response from backend server.")
    assert isinstance(err, UnknownOutcomeError)
    assert not isinstance(err, OrderRejectedError)


def test_real_order_reply_parses_exactly() -> None:
    report = parse_order(
        sample_json(VENUE, "order_entry/real_order_response_FILLED_MATICUSDT.json")
    )
    assert report.status is OrderStatus.FILLED
    assert (report.qty, report.filled_qty, report.avg_price) == ("811", "811", "1.49490")
    assert report.price is None  # "0" on a market order
    assert report.client_order_id == "x-xcKtGhcu506ba24b0bc2b85dd987a1"
    assert report.venue_order_id == "13970573661"


def test_real_user_stream_push() -> None:
    frame = sample_bytes(
        VENUE, "order_entry/real_user_stream_ORDER_TRADE_UPDATE_NEW_combined_stream.json"
    )
    (report,) = parse_user_message(frame)
    assert report.status is OrderStatus.OPEN
    assert (report.symbol, report.side, report.qty, report.price) == (
        "BTCUSDT",
        Side.SELL,
        "0.046",
        "119394.4",
    )
    assert report.client_order_id == "O-20250728-032001-LIVE-000-7"
    assert report.ts_exch_ns == 1753672801773 * 1_000_000
    docs = sample_bytes(VENUE, "docs/user_stream_ORDER_TRADE_UPDATE_docs_example.json")
    assert [r.status for r in parse_user_message(docs)] == [OrderStatus.OPEN]
    for other in (
        "docs/nautilus_docs_derived_account_update.json",
        "docs/nautilus_docs_derived_trade_lite.json",
    ):
        assert parse_user_message(sample_bytes(VENUE, other)) == []


def test_trade_push_yields_fill_then_order() -> None:
    import orjson

    frame = orjson.loads(
        sample_bytes(
            VENUE, "order_entry/real_user_stream_ORDER_TRADE_UPDATE_NEW_combined_stream.json"
        )
    )
    o = frame["data"]["o"]
    o.update(
        {
            "x": "TRADE",
            "X": "PARTIALLY_FILLED",
            "l": "0.010",
            "L": "119394.4",
            "z": "0.010",
            "t": 77,
            "n": "0.01",
            "m": True,
        }
    )
    fill, order = parse_user_message(orjson.dumps(frame))
    assert isinstance(fill, FillReport)
    assert (fill.trade_id, fill.qty, fill.price, fill.fee) == ("77", "0.010", "119394.4", "0.01")
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_order_params_are_exact_strings() -> None:
    req = OrderRequest(
        "abc1",
        "BTCUSDT",
        Side.BUY,
        "0.001",
        "65000.10",
        OrderFlag.POST_ONLY | OrderFlag.REDUCE_ONLY,
    )
    assert order_params(req) == (
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTX&quantity=0.001&price=65000.10"
        "&reduceOnly=true&newClientOrderId=abc1&newOrderRespType=RESULT"
    )
    with pytest.raises(ValueError, match="decimal string"):
        order_params(OrderRequest("abc1", "BTCUSDT", Side.BUY, 0.001, "1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="client order id"):
        order_params(OrderRequest("a&b", "BTCUSDT", Side.BUY, "1", "1"))


def test_usage_headers() -> None:
    usage = binance_usage({"X-MBX-USED-WEIGHT-1M": "37", "X-MBX-ORDER-COUNT-10S": "3", "Date": "x"})
    assert usage == (RateLimitUsage("weight-1m", used=37), RateLimitUsage("orders-10s", used=3))


@pytest.mark.parametrize(
    "flags",
    [OrderFlag.NONE, OrderFlag.POST_ONLY, OrderFlag.IOC | OrderFlag.REDUCE_ONLY, OrderFlag.MARKET],
)
def test_fast_ws_order_frame_equals_the_generic_signed_params(flags: OrderFlag) -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    entry = BinanceOrderEntry(Credentials(doc["apiKey"], doc["secretKey"]), transport="ws")
    price = None if flags & OrderFlag.MARKET else "9000.5"
    req = OrderRequest("abc1", "BTCUSDT", Side.BUY, "1.25", price, flags)
    _rid, fast = entry.build_ws_submit(req)
    params = orjson.loads(fast)["params"]
    generic = entry.signer.sign_ws_params(
        {**order_ws_params(req), "recvWindow": entry.recv_window_ms}, params["timestamp"]
    )
    assert params == generic
    payload = "&".join(f"{k}={generic[k]}" for k in sorted(generic) if k != "signature")
    assert params["signature"] == sign_payload(doc["secretKey"], payload)
