"""``tickbot sign``: print a request signed exactly as the order-entry adapters sign it.

For debugging rejected signatures: compare its output with what the venue echoes (Bybit's
``origin_string``) or with a request that works. The key, secret and passphrase come from
``TICKBOT_API_KEY``, ``TICKBOT_API_SECRET`` and ``TICKBOT_API_PASSPHRASE``; the output shows the
key and the signature, never the secret, and masks the passphrase header.

``--timestamp`` is the request time in ms: Binance and BingX carry it as the ``timestamp``
parameter (appended to the query unless the query already has one), Bybit, OKX and Bitget in
a header, BitMEX as ``api-expires`` (``timestamp // 1000`` seconds).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from bot.cli import UserError
from bot.core.dtypes import VENUE_NAMES, VenueId

ENV_KEY, ENV_SECRET, ENV_PASSPHRASE = (
    "TICKBOT_API_KEY",
    "TICKBOT_API_SECRET",
    "TICKBOT_API_PASSPHRASE",
)
VENUES = tuple(VENUE_NAMES[v] for v in VenueId if v is not VenueId.SIM)
MASKED = "***"
PASSPHRASE_HEADERS = ("OK-ACCESS-PASSPHRASE", "ACCESS-PASSPHRASE")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``sign`` subcommand."""
    p = subparsers.add_parser(
        "sign",
        help="print a signed request (URL, headers, body) to debug signatures",
        description="Sign a request as tickbot's order entry does and print it as JSON. "
        f"Reads {ENV_KEY}, {ENV_SECRET} (and {ENV_PASSPHRASE} for okx and bitget).",
    )
    p.add_argument("--venue", required=True, choices=VENUES)
    p.add_argument(
        "--method", required=True, type=str.upper, choices=("GET", "POST", "PUT", "DELETE")
    )
    p.add_argument("--path", required=True, help="request path, e.g. /fapi/v1/order")
    p.add_argument("--query", default="", help="query string as sent (no leading '?')")
    p.add_argument("--body", default="", help="request body exactly as sent")
    p.add_argument("--timestamp", required=True, type=int, help="request time, ms since the epoch")
    p.add_argument("--environment", default="testnet", choices=("testnet", "mainnet"))
    p.set_defaults(handler=run)


def _credentials(venue: str) -> Any:
    from bot.adapters.trading import Credentials

    missing = [n for n in (ENV_KEY, ENV_SECRET) if not os.environ.get(n)]
    if venue in ("okx", "bitget") and not os.environ.get(ENV_PASSPHRASE):
        missing.append(ENV_PASSPHRASE)
    if missing:
        raise UserError(f"set {', '.join(missing)} in the environment")
    return Credentials(os.environ[ENV_KEY], os.environ[ENV_SECRET], os.environ.get(ENV_PASSPHRASE))


def _with_timestamp(query: str, body: str, ts_ms: int) -> str:
    if "timestamp=" in query or "timestamp=" in body:
        return query
    return f"{query}&timestamp={ts_ms}" if query else f"timestamp={ts_ms}"


def sign(
    venue: str, method: str, path: str, query: str, body: str, ts_ms: int, environment: str
) -> dict[str, Any]:
    """Return the signed request as a JSON-ready dict (secret-free)."""
    creds = _credentials(venue)
    data = body.encode()
    full = f"{path}?{query}" if query else path
    headers: dict[str, str]
    if venue in ("binance-usdm", "bingx"):
        query = _with_timestamp(query, body, ts_ms)
        if venue == "binance-usdm":
            from bot.adapters.binance_usdm.orders import REST_URLS as BINANCE_URLS
            from bot.adapters.binance_usdm.signing import BinanceSigner

            binance = BinanceSigner(creds)
            signature, base, headers = (
                binance.signature(query + body),
                BINANCE_URLS,
                binance.headers,
            )
        else:
            from bot.adapters.bingx.orders import REST_URLS as BINGX_URLS
            from bot.adapters.bingx.signing import BingxSigner

            bingx = BingxSigner(creds)
            signature, base, headers = bingx.signature(query + body), BINGX_URLS, bingx.headers
        url = f"{base[environment]}{path}?{query}&signature={signature}"
        headers = dict(headers)
    elif venue == "bybit":
        from bot.adapters.bybit.orders import REST_URLS
        from bot.adapters.bybit.signing import BybitSigner

        headers = BybitSigner(creds).headers(ts_ms, data if method == "POST" else query.encode())
        signature, url = headers["X-BAPI-SIGN"], REST_URLS[environment] + full
    elif venue == "okx":
        from bot.adapters.okx.orders import REST_URL
        from bot.adapters.okx.signing import OkxSigner

        headers = OkxSigner(creds, demo=environment == "testnet").headers(ts_ms, method, full, data)
        signature, url = headers["OK-ACCESS-SIGN"], REST_URL + full
    elif venue == "bitget":
        from bot.adapters.bitget.orders import REST_URL as BITGET_URL
        from bot.adapters.bitget.signing import BitgetSigner

        headers = BitgetSigner(creds, demo=environment == "testnet").headers(
            ts_ms, method, full, data
        )
        signature, url = headers["ACCESS-SIGN"], BITGET_URL + full
    else:
        from bot.adapters.bitmex.orders import REST_URLS as BITMEX_URLS
        from bot.adapters.bitmex.signing import BitmexSigner

        headers = BitmexSigner(creds, expires_after_s=0).headers(ts_ms // 1000, method, full, data)
        signature, url = headers["api-signature"], BITMEX_URLS[environment] + full
    for name in PASSPHRASE_HEADERS:
        if name in headers:
            headers[name] = MASKED
    return {
        "venue": venue,
        "method": method,
        "url": url,
        "headers": headers,
        "body": body,
        "signature": signature,
    }


def run(args: argparse.Namespace) -> int:
    """Print the signed request as JSON on stdout."""
    if args.timestamp <= 0:
        raise UserError(f"--timestamp must be ms since the epoch, got {args.timestamp}")
    if not args.path.startswith("/"):
        raise UserError(f"--path must start with '/', got {args.path!r}")
    try:
        out = sign(
            args.venue,
            args.method,
            args.path,
            args.query.lstrip("?"),
            args.body,
            args.timestamp,
            args.environment,
        )
    except ValueError as e:
        raise UserError(str(e)) from None
    json.dump(out, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0
