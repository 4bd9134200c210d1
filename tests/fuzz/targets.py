"""Fuzz targets: every parser that reads bytes from outside the process.

A target is a ``one_input(data: bytes)`` function and the real frames or files that seed its
corpus. It raises only when tickbot has a bug: an exception the parser's contract does not
allow, a book flagged valid that is crossed, bad input that was not counted. Bad input that is
counted and skipped, or refused with the documented error, is a pass. The same functions run
under atheris (``make fuzz``, millions of inputs) and as a short smoke in ``make test``.

Groups (the brief's "target groups"; ``make fuzz`` gives each group its input budget):

- ``market-data``: each venue feed's ``on_message`` (the supervisor's entry point);
- ``user-stream``: each venue's private-stream frame parser, through ``WsUserStream.parse``;
- ``order-responses``: each venue's REST order entry, every call, fed any reply body/status;
- ``journal``, ``capture``, ``event-file``, ``config``: the file readers.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import gzip
import importlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from bot.adapters.base import EventBuffer, InstrumentRef
from bot.adapters.errors import AdapterError
from bot.adapters.rest.session import RestReply
from bot.adapters.trading import AmendRequest, Credentials, OrderRequest
from bot.core.book import new_books
from bot.core.dtypes import EVENT_DTYPE, Side
from bot.core.instruments import InstrumentSpec
from tests.support.books import valid_books_uncrossed
from tests.support.shared import VENUE_DIRS, fixture_file, shared_root

PARSER_MODULES = (
    *(f"bot.adapters.{v}.{m}" for v in ("binance_usdm", "bingx", "bitget", "bitmex", "bybit",
                                         "okx") for m in ("feed", "orders", "user_stream")),
    "bot.config.reload",
    "bot.data.eventfile",
    "bot.execution.journal",
    "bot.ingest.capture",
)  # fmt: skip
"""Imported with this module, not lazily, so that atheris instruments them for coverage."""
for _name in PARSER_MODULES:
    importlib.import_module(_name)

MAX_SEED_LINES = 40
"""Lines taken from each ndjson sample (enough variety; the mutator does the rest)."""
FEED_REBUILD_EVERY = 64
"""Inputs one feed object takes before it is rebuilt from its warm-up frames (state drift)."""
MAX_SEED_BYTES = 64 * 1024


class FuzzBug(AssertionError):
    """The target broke its contract (the message says how)."""


@dataclass(frozen=True)
class Target:
    """One fuzz target: its name, group, a maker of its input function, and its seed corpus."""

    name: str
    group: str
    make: Callable[[], Callable[[bytes], None]]
    seeds: Callable[[], list[bytes]]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Bad input is logged by design; keep the fuzz output to its figures (level restored after)."""
    logger = logging.getLogger("bot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


# -- seeds ----------------------------------------------------------------------------------


def venue_samples(venue: str) -> list[bytes]:
    """Every JSON document and up to ``MAX_SEED_LINES`` lines of every ndjson sample of a venue."""
    root = shared_root() / "exchanges" / "samples" / VENUE_DIRS[venue]
    out: list[bytes] = []
    for path in sorted(root.rglob("*")):
        if path.suffix == ".json" and path.stat().st_size <= MAX_SEED_BYTES:
            out.append(path.read_bytes())
        elif path.suffix == ".ndjson":
            with open(path, "rb") as f:
                for k, line in enumerate(f):
                    if k >= MAX_SEED_LINES:
                        break
                    if len(line) <= MAX_SEED_BYTES:
                        out.append(line.rstrip(b"\n"))
    return out


def _lines(venue: str, name: str, limit: int | None = None) -> list[bytes]:
    data = fixture_file(venue, name).read_bytes().splitlines()
    return [x for x in data if x.strip()][:limit]


# -- market data ----------------------------------------------------------------------------


@dataclass
class FeedKit:
    """How to build one venue's feed in a trading state (books synced from real frames)."""

    venue: str
    make: Callable[[], tuple[Any, EventBuffer, np.ndarray]]
    gzip_wire: bool = False


def _binance_feed() -> tuple[Any, EventBuffer, np.ndarray]:
    from bot.adapters.binance_usdm import BinanceUsdmFeed

    spec = InstrumentSpec(
        venue="binance-usdm", symbol="AKROUSDT", tick_size="0.00001", lot_size="1"
    )
    qty, state = new_books(1, 1 << 12)
    feed = BinanceUsdmFeed([InstrumentRef.of(0, spec)], qty, state)
    out = EventBuffer()
    feed.on_connect(1, out, url=feed.ws_urls()[0])
    snap = fixture_file("binance_usdm", "rest_depth_snapshot_AKROUSDT.json").read_bytes()
    feed.on_snapshot(feed.pending_snapshots()[0], snap, 1, out)
    for frame in _lines("binance_usdm", "ws_depth_diff_AKROUSDT.ndjson", 5):
        feed.on_message(frame, 2, out)
    return feed, out, state


def _bybit_feed() -> tuple[Any, EventBuffer, np.ndarray]:
    from bot.adapters.bybit import BybitFeed

    spec = InstrumentSpec(venue="bybit", symbol="XRPUSDT", tick_size="0.0001", lot_size="1")
    qty, state = new_books(1, 1 << 13)
    feed = BybitFeed([InstrumentRef.of(0, spec)], qty, state, depth=500)  # the capture's topic
    out = EventBuffer()
    feed.on_connect(1, out)
    for frame in _lines("bybit", "ws_orderbook500_XRPUSDT_2024-12-01.ndjson", 5):
        feed.on_message(frame, 2, out)
    return feed, out, state


def _push_feed(
    cls_path: str, spec: InstrumentSpec, frames: list[bytes], gz: bool = False
) -> Callable[[], tuple[Any, EventBuffer, np.ndarray]]:
    def make() -> tuple[Any, EventBuffer, np.ndarray]:
        module, name = cls_path.rsplit(".", 1)
        cls = getattr(__import__(module, fromlist=[name]), name)
        qty, state = new_books(1, 4096)
        feed = cls([InstrumentRef.of(0, spec)], qty, state)
        out = EventBuffer()
        feed.on_connect(0, out)
        for frame in frames:
            feed.on_message(gzip.compress(frame) if gz else frame, 1, out)
        return feed, out, state

    return make


def _bitmex_partial() -> bytes:
    rows = [
        {"symbol": "XBTUSD", "id": 8796700000 + k, "side": "Sell" if k < 60 else "Buy",
         "size": 100 * (k + 1), "price": 32300 - k}
        for k in range(120)
    ]  # fmt: skip
    return orjson.dumps({"table": "orderBookL2", "action": "partial", "data": rows})


def _feed_kits() -> dict[str, FeedKit]:
    okx = InstrumentSpec(venue="okx", symbol="BTC-USDT", tick_size="0.1", lot_size="0.00000001")
    bitget = InstrumentSpec(venue="bitget", symbol="UNIUSDT", tick_size="0.001", lot_size="1")
    bitmex = InstrumentSpec(venue="bitmex", symbol="XBTUSD", tick_size="0.5", lot_size="100")
    bingx = InstrumentSpec(venue="bingx", symbol="ETH-USDT", tick_size="0.01", lot_size="0.01")
    bingx_frames = [
        orjson.dumps(json.loads(fixture_file("bingx", "ws_PartialBook_push.json").read_bytes()))
    ]
    return {
        "binance_usdm": FeedKit("binance_usdm", _binance_feed),
        "bybit": FeedKit("bybit", _bybit_feed),
        "okx": FeedKit(
            "okx",
            _push_feed(
                "bot.adapters.okx.OkxFeed", okx, _lines("okx", "ws_books_BTC-USDT.ndjson", 3)
            ),
        ),
        "bitget": FeedKit(
            "bitget",
            _push_feed(
                "bot.adapters.bitget.BitgetFeed",
                bitget,
                _lines("bitget", "legacy_v1mix_ws_books_UNIUSDT.ndjson", 3),
            ),
        ),
        "bitmex": FeedKit(
            "bitmex",
            _push_feed("bot.adapters.bitmex.BitmexFeed", bitmex, [_bitmex_partial()]),
        ),
        "bingx": FeedKit(
            "bingx",
            _push_feed("bot.adapters.bingx.BingxFeed", bingx, bingx_frames, gz=True),
            gzip_wire=True,
        ),
    }


def market_data_target(kit: FeedKit) -> Callable[[bytes], None]:
    """``on_message`` never raises, counts every frame and never leaves a valid book crossed.

    (A frame that is not JSON is not always counted as malformed: feeds scan for the fields they
    use, and damage in a part they skip costs nothing.)
    """
    current: list[Any] = [None, None, 0, None]

    def one_input(data: bytes) -> None:
        if current[0] is None or current[2] >= FEED_REBUILD_EVERY:
            current[0], current[1], current[3] = kit.make()
            current[2] = 0
        feed, out = current[0], current[1]
        current[2] += 1
        wire = data
        if kit.gzip_wire and data[:1] != b"!":
            wire = gzip.compress(data)
        seen, bad = feed.stats.messages, feed.stats.malformed
        try:
            feed.on_message(wire, 10, out)
        except Exception as e:
            current[0] = None
            raise FuzzBug(f"{kit.venue} feed raised {type(e).__name__}: {e}") from e
        out.clear()
        feed.take_outgoing()
        if feed.stats.messages != seen + 1:
            raise FuzzBug(f"{kit.venue}: frame not counted ({seen} -> {feed.stats.messages})")
        if feed.stats.malformed < bad:
            raise FuzzBug(f"{kit.venue}: the malformed count went down")
        if not valid_books_uncrossed(current[3], [0]):
            current[0] = None
            raise FuzzBug(f"{kit.venue}: a book flagged valid is crossed")

    return one_input


# -- user streams ---------------------------------------------------------------------------


def _user_stream(venue: str) -> Any:
    """A venue's real user-stream object (never connected: only its frame parser runs)."""
    entry = _entry(venue)
    module = {
        "binance_usdm": ("bot.adapters.binance_usdm.user_stream", "BinanceUserStream"),
        "bybit": ("bot.adapters.bybit.user_stream", "BybitUserStream"),
        "okx": ("bot.adapters.okx.user_stream", "OkxUserStream"),
        "bitget": ("bot.adapters.bitget.user_stream", "BitgetUserStream"),
        "bitmex": ("bot.adapters.bitmex.user_stream", "BitmexUserStream"),
        "bingx": ("bot.adapters.bingx.user_stream", "BingxUserStream"),
    }[venue]
    cls = getattr(__import__(module[0], fromlist=[module[1]]), module[1])
    return cls(entry, ws_url="ws://127.0.0.1:9/")


def user_stream_target(venue: str) -> Callable[[bytes], None]:
    """``parse_frame`` returns reports, None (counted as malformed) or raises the venue's own
    ``AdapterError`` (a listen key expired); nothing else."""
    holder: list[Any] = []

    def one_input(data: bytes) -> None:
        if not holder:
            holder.append(_user_stream(venue))
        stream = holder[0]
        bad = stream.malformed
        try:
            reports = stream.parse_frame(data)
        except AdapterError:
            return  # the venue's own signal (listen key expired): the stream reconnects
        except Exception as e:
            raise FuzzBug(f"{venue} user stream raised {type(e).__name__}: {e}") from e
        if reports is None and stream.malformed != bad + 1:
            raise FuzzBug(f"{venue}: a refused frame was not counted as malformed")

    return one_input


# -- order responses ------------------------------------------------------------------------

CREDS = Credentials("fuzz-key", "fuzz-secret", "fuzz-pass")
STATUSES = (200, 200, 200, 200, 400, 401, 403, 404)


def _entry(venue: str) -> Any:
    base = "http://127.0.0.1:9"
    if venue == "binance_usdm":
        from bot.adapters.binance_usdm.orders import BinanceOrderEntry

        return BinanceOrderEntry(CREDS, base_url=base, symbols=("BTCUSDT",), transport="rest")
    if venue == "bybit":
        from bot.adapters.bybit.orders import BybitOrderEntry

        return BybitOrderEntry(CREDS, base_url=base, symbols=("BTCUSDT",), transport="rest")
    if venue == "okx":
        from bot.adapters.okx.orders import OkxOrderEntry

        return OkxOrderEntry(CREDS, base_url=base, symbols=("BTC-USDT-SWAP",))
    if venue == "bitget":
        from bot.adapters.bitget.orders import BitgetOrderEntry

        return BitgetOrderEntry(CREDS, base_url=base, symbols=("BTCUSDT",))
    if venue == "bitmex":
        from bot.adapters.bitmex.orders import BitmexOrderEntry

        return BitmexOrderEntry(CREDS, base_url=base, symbols=("XBTUSD",))
    from bot.adapters.bingx.orders import BingxOrderEntry

    return BingxOrderEntry(CREDS, base_url=base, symbols=("BTC-USDT",))


def _symbol(venue: str) -> str:
    return {"okx": "BTC-USDT-SWAP", "bitmex": "XBTUSD", "bingx": "BTC-USDT"}.get(venue, "BTCUSDT")


def _calls(entry: Any, symbol: str) -> list[Callable[[], Coroutine[Any, Any, Any]]]:
    req = OrderRequest("tb1fuzz0001", symbol, Side.BUY, "0.01", "100.5")
    amend = AmendRequest("tb1fuzz0001", symbol, "0.02", "100.6")
    calls: list[Callable[[], Coroutine[Any, Any, Any]]] = [
        lambda: entry.submit(req),
        lambda: entry.cancel(symbol, "tb1fuzz0001"),
        lambda: entry.query_order(symbol, "tb1fuzz0001"),
        lambda: entry.open_orders(symbol),
        lambda: entry.recent_fills(symbol, 1_700_000_000_000_000_000),
        lambda: entry.position(symbol),
        lambda: entry.balances(),
        lambda: entry.cancel_all(symbol),
        lambda: entry.arm_dead_man_switch(60.0),
    ]
    if entry.capabilities.amend:
        calls.append(lambda: entry.amend(amend))
    return calls


def _run_now(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (every reply is already there) to its result."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise FuzzBug("an order-entry call waited on something other than its reply")


def order_response_target(venue: str) -> Callable[[bytes], None]:
    """Every order-entry call, given any reply (first byte: call and status), returns its result
    or raises a typed ``AdapterError`` (the router's contract): never anything else."""
    holder: list[Any] = []

    def one_input(data: bytes) -> None:
        if not holder:
            entry = _entry(venue)
            reply: list[RestReply] = []

            async def request(*_args: Any, **_kwargs: Any) -> RestReply:
                return reply[0]

            entry.http.request = request
            entry.clock.offset_ms = 0
            holder.extend([entry, reply, _calls(entry, _symbol(venue))])
        entry, reply, calls = holder
        if not data:
            return
        selector, body = data[0], data[1:]
        reply[:] = [RestReply(STATUSES[(selector >> 4) % len(STATUSES)], {}, body)]
        call = calls[selector % len(calls)]
        try:
            _run_now(call())
        except AdapterError:
            return
        except FuzzBug:
            raise
        except Exception as e:
            raise FuzzBug(
                f"{venue} order entry call {selector % len(calls)} raised {type(e).__name__}: {e}"
            ) from e

    return one_input


def order_response_seeds(venue: str) -> list[bytes]:
    """Real replies and pushes of the venue, each behind a selector for every call."""
    docs = [s for s in venue_samples(venue) if s.lstrip()[:1] in (b"{", b"[")]
    return [bytes([k % 256]) + doc for k, doc in enumerate(docs)]


# -- files ----------------------------------------------------------------------------------


def _scratch() -> Path:
    """A fresh folder on tmpfs where there is one (files are rewritten per input), removed at
    exit."""
    base = "/dev/shm" if os.path.isdir("/dev/shm") else None
    path = Path(tempfile.mkdtemp(prefix="tickbot-fuzz-", dir=base))
    atexit.register(shutil.rmtree, path, True)
    return path


def journal_target() -> Callable[[bytes], None]:
    """``replay`` of a journal file holding any bytes: torn lines counted, never a crash."""
    from bot.execution.journal import JournalError, replay

    root = _scratch()
    path = root / "journal-000001.jsonl"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        try:
            out = replay(root)
        except JournalError:
            return
        except Exception as e:
            raise FuzzBug(f"journal replay raised {type(e).__name__}: {e}") from e
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)
        if len(out.records) + out.torn != lines:
            raise FuzzBug(f"journal: {lines} lines, {len(out.records)} read + {out.torn} torn")

    return one_input


def journal_seeds() -> list[bytes]:
    from bot.execution.journal import encode_line

    recs = [
        {"t": "snapshot", "seq": 1, "orders": [], "positions": {"BTCUSDT": "0.01"}},
        {"t": "submit", "seq": 2, "cid": "tb1a", "symbol": "BTCUSDT", "qty": "0.01"},
        {"t": "fill", "seq": 3, "cid": "tb1a", "trade_id": "77", "qty": "0.01", "px": "100.5"},
    ]
    body = b"".join(encode_line(r) for r in recs)
    return [body, body[:-7], encode_line(recs[0])]


def capture_target() -> Callable[[bytes], None]:
    """``read_capture`` then a replay through the header's venue feed: bad lines counted,
    a bad header refused with ``CaptureError``, never a crash."""
    from bot.ingest.capture import CaptureError, ReplayStats, feed_for_capture, iter_replay

    root = _scratch()

    def one_input(data: bytes) -> None:
        gz = data[:1] == b"\x1f"
        path = root / ("c.ndjson.gz" if gz else "c.ndjson")
        other = root / ("c.ndjson" if gz else "c.ndjson.gz")
        with contextlib.suppress(FileNotFoundError):
            other.unlink()
        path.write_bytes(data)
        stats = ReplayStats()
        try:
            feed, _ = feed_for_capture(path)
            for _chunk in iter_replay(path, feed, stats=stats):
                pass
        except CaptureError:
            return
        except Exception as e:
            raise FuzzBug(f"capture replay raised {type(e).__name__}: {e}") from e

    return one_input


def capture_seeds() -> list[bytes]:
    from bot.ingest.capture import write_capture

    root = _scratch()
    spec = {"venue": "binance-usdm", "symbol": "AKROUSDT", "tick_size": "0.00001", "lot_size": "1"}
    snap = fixture_file("binance_usdm", "rest_depth_snapshot_AKROUSDT.json").read_text()
    lines = [("rest", "/fapi/v1/depth?symbol=AKROUSDT&limit=1000", snap)] + [
        ("ws", "/public/stream", x.decode())
        for x in _lines("binance_usdm", "ws_depth_diff_AKROUSDT.ndjson", 6)
    ]
    path = write_capture(
        root / "seed.ndjson.gz",
        venue="binance-usdm",
        symbols=["AKROUSDT"],
        instruments=[spec],
        lines=lines,
    )
    plain = gzip.decompress(path.read_bytes())
    return [plain, plain[: len(plain) // 2], path.read_bytes()]


def event_file_target() -> Callable[[bytes], None]:
    """``read_event_file(verify=True)`` and a full chunked read: ``EventFileError`` or rows."""
    from bot.data.eventfile import EventFileError, read_event_file

    root = _scratch()
    path = root / "e.events"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        try:
            f = read_event_file(path, verify=True)
            for _chunk in f.iter_chunks():
                pass
        except EventFileError:
            return
        except Exception as e:
            raise FuzzBug(f"event file reader raised {type(e).__name__}: {e}") from e

    return one_input


def event_file_seeds() -> list[bytes]:
    from bot.data.eventfile import write_event_file

    root = _scratch()
    spec = InstrumentSpec(venue="binance-usdm", symbol="BTCUSDT", tick_size="0.1", lot_size="0.001")
    rows = np.zeros(4, dtype=EVENT_DTYPE)
    rows["ts_local_ns"] = np.arange(4) + 1_700_000_000_000_000_000
    rows["ts_exch_ns"] = rows["ts_local_ns"]
    path = write_event_file(root / "seed.events", rows, [spec], "fuzz seed")
    return [path.read_bytes()]


def config_target() -> Callable[[bytes], None]:
    """``parse_snapshot`` of any bytes: a ``ConfigError`` naming the problem, or a config."""
    from bot.config.reload import parse_snapshot
    from bot.config.schema import ConfigError

    def one_input(data: bytes) -> None:
        try:
            parse_snapshot(data, "fuzz.yaml")
        except ConfigError:
            return
        except Exception as e:
            raise FuzzBug(f"config loader raised {type(e).__name__}: {e}") from e

    return one_input


def config_seeds() -> list[bytes]:
    root = Path(__file__).resolve().parents[2] / "strategies" / "examples"
    return [p.read_bytes() for p in sorted(root.glob("*.yaml"))]


# -- registry -------------------------------------------------------------------------------

VENUES = ("binance_usdm", "bybit", "okx", "bitget", "bitmex", "bingx")


def targets() -> dict[str, Target]:
    """Every fuzz target by name (nothing is built until a target's ``make`` is called)."""
    out: dict[str, Target] = {}
    for v in VENUES:
        seeds = functools.partial(venue_samples, v)
        out[f"md-{v}"] = Target(
            f"md-{v}",
            "market-data",
            functools.partial(lambda v: market_data_target(_feed_kits()[v]), v),
            seeds,
        )
        out[f"us-{v}"] = Target(
            f"us-{v}", "user-stream", functools.partial(user_stream_target, v), seeds
        )
        out[f"or-{v}"] = Target(
            f"or-{v}",
            "order-responses",
            functools.partial(order_response_target, v),
            functools.partial(order_response_seeds, v),
        )
    out["journal"] = Target("journal", "journal", journal_target, journal_seeds)
    out["capture"] = Target("capture", "capture", capture_target, capture_seeds)
    out["event-file"] = Target("event-file", "event-file", event_file_target, event_file_seeds)
    out["config"] = Target("config", "config", config_target, config_seeds)
    return out
