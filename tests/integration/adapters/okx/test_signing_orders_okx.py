"""OKX v5 order entry against the real samples: the real pre-hash, every real error body, the
docs' and a live ``orders`` push, the docs' order replies."""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import time

import orjson
import pytest

from bot.adapters.okx.errors import order_error
from bot.adapters.okx.orders import negate, order_body, parse_order
from bot.adapters.okx.signing import OkxSigner, iso_ms
from bot.adapters.okx.user_stream import parse_user_message
from bot.adapters.trading import (
    Credentials,
    FillReport,
    OrderRejectedError,
    OrderRequest,
    RejectReason,
)
from bot.core.dtypes import Liquidity, OrderFlag, OrderStatus, Side
from tests.support.order_samples import sample_bytes, sample_json, sample_ndjson

VENUE = "okx_v5"


def _ms(iso: str) -> int:
    base, ms = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) * 1000 + int(ms)


def test_signature_covers_the_real_prehash() -> None:
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    prehash = next(r["prehash_shown_in_source"] for r in rows if "prehash_shown_in_source" in r)
    ts = prehash[:24]
    path = prehash[len(ts) + 3 :]
    assert iso_ms(_ms(ts)) == ts
    signer = OkxSigner(Credentials("k", "s3cr3t", "pp"), demo=True)
    headers = signer.headers(_ms(ts), "GET", path)
    expected = base64.b64encode(
        hmac.new(b"s3cr3t", prehash.encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["OK-ACCESS-SIGN"] == expected
    assert headers["OK-ACCESS-TIMESTAMP"] == ts
    assert headers["x-simulated-trading"] == "1"
    assert "s3cr3t" not in repr(signer)
    assert "pp" not in repr(signer)


def test_passphrase_is_required() -> None:
    with pytest.raises(ValueError, match="passphrase"):
        OkxSigner(Credentials("k", "s"), demo=False)


def test_every_real_error_body_is_typed() -> None:
    expected = {"51008": RejectReason.INSUFFICIENT_MARGIN, "50102": RejectReason.TIMESTAMP}
    rows = sample_ndjson(VENUE, "errors/real_errors_from_issue_threads.ndjson")
    assert len(rows) == 3
    for row in rows:
        body = orjson.loads(row["body_raw"])
        failed = [d for d in body.get("data") or [] if d.get("sCode", "0") != "0"]
        code, msg = (
            (failed[0]["sCode"], failed[0]["sMsg"]) if failed else (body["code"], body["msg"])
        )
        err = order_error(code, msg)
        assert isinstance(err, OrderRejectedError)
        assert err.reason is expected[code]


def test_live_orders_push_yields_fill_then_order() -> None:
    fill, order = parse_user_message(
        sample_bytes(VENUE, "thirdparty/nautilus_ws_orders_market_filled.json")
    )
    assert isinstance(fill, FillReport)
    assert (fill.trade_id, fill.qty, fill.price, fill.client_order_id) == (
        "1518905529",
        "0.03",
        "103698.9",
        "001BTCUSDT20250106001",
    )
    assert fill.liquidity is Liquidity.MAKER  # the capture says execType "M"
    assert (fill.fee, fill.fee_asset) == ("0.021776769", "USDT")  # no fillFee: the only fill's
    assert (order.status, order.filled_qty, order.avg_price, order.price) == (
        OrderStatus.FILLED,
        "0.03",
        "103698.9",
        None,
    )


def test_docs_orders_push_fee_sign() -> None:
    fill, order = parse_user_message(sample_bytes(VENUE, "docs/ws_Order_push.json"))
    assert isinstance(fill, FillReport)
    assert (fill.fee, fill.fee_asset, fill.liquidity) == ("0.02522168", "USDT", Liquidity.MAKER)
    assert order.side is Side.SELL
    assert parse_user_message(sample_bytes(VENUE, "docs/ws_Position_push.json")) == []


def test_docs_order_details() -> None:
    report = parse_order(sample_json(VENUE, "docs/rest_GetOrderDetails_response.json")["data"][0])
    assert (report.status, report.filled_qty, report.avg_price) == (
        OrderStatus.FILLED,
        "0.00192834",
        "51858",
    )


def test_negate_is_exact() -> None:
    assert [negate(v) for v in ("-0.02522168", "0.1", "0", "-0")] == [
        "0.02522168",
        "-0.1",
        "0",
        "0",
    ]


def test_order_body_is_exact_compact_json() -> None:
    req = OrderRequest(
        "abc1",
        "BTC-USDT-SWAP",
        Side.BUY,
        "2",
        "65000.1",
        OrderFlag.POST_ONLY | OrderFlag.REDUCE_ONLY,
    )
    assert order_body(req) == (
        b'{"instId":"BTC-USDT-SWAP","tdMode":"cross","side":"buy","sz":"2","clOrdId":"abc1",'
        b'"ordType":"post_only","px":"65000.1","reduceOnly":true}'
    )
    with pytest.raises(ValueError, match="client order id"):
        order_body(OrderRequest("a-b", "X", Side.BUY, "1", "1"))  # OKX ids are alphanumeric
