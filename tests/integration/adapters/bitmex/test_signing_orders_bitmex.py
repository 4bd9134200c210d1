"""BitMEX order entry against the real samples: documented signature vectors, every real error
body, the official connector's order-table frames and a real execution row."""

from __future__ import annotations

import orjson

from bot.adapters.bitmex.errors import order_error
from bot.adapters.bitmex.orders import decode_exact, order_body
from bot.adapters.bitmex.signing import BitmexSigner, sign_payload
from bot.adapters.bitmex.user_stream import BitmexStreamParser
from bot.adapters.rest.usage import bitmex_usage
from bot.adapters.trading import (
    Credentials,
    OrderRejectedError,
    OrderRequest,
    RateLimitedError,
    RateLimitUsage,
    RejectReason,
)
from bot.core.dtypes import OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample, sample_json, sample_ndjson

VENUE = "bitmex"


def test_documented_signature_vectors() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    for v in doc["vectors"]:
        got = sign_payload(doc["apiSecret"], v["verb"], v["path"], v["expires"], v["data"])
        assert got == v["expected_signature"], v
    assert len(doc["vectors"]) == 5


def test_signer_headers_match_the_post_vector() -> None:
    doc = sample_json(VENUE, "signature_vectors.json")
    v = doc["vectors"][2]
    signer = BitmexSigner(Credentials(doc["apiKey"], doc["apiSecret"]), expires_after_s=0)
    headers = signer.headers(v["expires"], "POST", v["path"], v["data"].encode())
    assert headers["api-signature"] == v["expected_signature"]
    assert headers["api-expires"] == str(v["expires"])
    assert doc["apiSecret"] not in repr(signer)


MARGIN = RejectReason.INSUFFICIENT_MARGIN
EXPECTED = {
    "Account has insufficient Available Balance, 21251123 XBt required": MARGIN,
    "Bulk orders: Account has insufficient Available Balance, 448345 XBt required": MARGIN,
    "Invalid API Key.": RejectReason.AUTH,
    "Signature not valid.": RejectReason.AUTH,
}


def test_every_real_error_body_is_typed() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    assert len(rows) == 6
    for row in rows:
        error = orjson.loads(row["body_raw"])["error"]
        err = order_error(error["name"], error["message"], 1.0)
        if error["name"] == "RateLimitError":
            assert isinstance(err, RateLimitedError)
            assert err.retry_after_s == 1.0
        elif error["message"].startswith("This request has expired"):
            assert isinstance(err, OrderRejectedError)
            assert err.reason is RejectReason.TIMESTAMP
        else:
            assert isinstance(err, OrderRejectedError)
            assert err.reason is EXPECTED[error["message"]], row


def test_official_order_frames_merge_into_reports() -> None:
    parser = BitmexStreamParser()
    reports = []
    for line in (
        sample(VENUE, "official_connector_fixtures/orderEmptyPartial.ndjson")
        .read_bytes()
        .splitlines()
    ):
        if line.strip():
            reports += parser.feed(line)
    assert reports
    first = reports[0]
    assert (first.symbol, first.side, first.status, first.qty, first.price) == (
        "XBTUSD",
        Side.BUY,
        OrderStatus.OPEN,
        "1",
        "11390.5",
    )
    row = {"orderID": "ccfb1a6b-28c5-4e50-a3ca-8667358056a2", "ordStatus": "Canceled"}
    update = orjson.dumps({"table": "order", "action": "update", "data": [row]})
    (cancelled,) = parser.feed(update)
    assert (cancelled.status, cancelled.side, cancelled.price) == (
        OrderStatus.CANCELLED,
        Side.BUY,
        "11390.5",
    )


def test_real_cancel_reject_execution_yields_no_fill() -> None:
    row = sample_json(VENUE, "thirdparty/nautilus_ws_execution_cancel_reject.json")
    frame = orjson.dumps({"table": "execution", "action": "insert", "data": [row]})
    assert BitmexStreamParser().feed(frame) == []


def test_numbers_stay_exact_both_ways() -> None:
    req = OrderRequest(
        "mm_bitmex_1a/oemUeQ4CAJZgP3fjHsA", "XBTM15", Side.BUY, "98", "219.0", OrderFlag.POST_ONLY
    )
    body = order_body(req)
    assert body == (
        b'{"symbol":"XBTM15","side":"Buy","orderQty":98,"price":219.0,"ordType":"Limit",'
        b'"timeInForce":"GoodTillCancel","execInst":"ParticipateDoNotInitiate",'
        b'"clOrdID":"mm_bitmex_1a/oemUeQ4CAJZgP3fjHsA"}'
    )
    assert decode_exact(body)["price"] == "219.0"


def test_usage_headers() -> None:
    usage = bitmex_usage(
        {
            "x-ratelimit-limit": "120",
            "x-ratelimit-remaining": "118",
            "x-ratelimit-reset": "1700000060",
            "x-ratelimit-remaining-1s": "9",
        }
    )
    assert usage == (
        RateLimitUsage("requests-1m", used=2, limit=120, remaining=118, reset_ms=1700000060000),
        RateLimitUsage("orders-1s", remaining=9),
    )
