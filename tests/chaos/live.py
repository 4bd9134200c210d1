"""One seeded chaos run of a real ``tickbot run`` process (live mode, Bybit) on loopback.

The process trades BTCUSDT with the fixed-spread strategy: market data from a protocol-true
synthetic Bybit venue (``ChaosBybit``: the loopback market of ``tests/support/synthetic_bybit.py``
that can also stall, skip a sequence number or send a broken frame), signed orders and the
private stream to the loopback Bybit order venue (whose matcher records the worst exposure),
and, for some seeds, the emulated Kubernetes Lease API (``tests/support/kube_api.py``).

From the seed: market-data faults (WebSocket disconnect, a stall, a sequence gap, a malformed
frame), order-entry faults (timeout, 5xx, 429, dropped ack), user-stream loss, duplicate
fills, clock skew and maker fills from the venue; usually a ``kill -9`` mid-order, fills while
the process is down and a restart on the same journal; for lease seeds the Lease taken by
another holder; always SIGTERM at the end.

Checks against the venue: after every restart's reconciliation no open order is unknown to
the bot (every open order's id is in the bot's journal); after a stall, once the bot has
caught up, the spread the strategy sees equals the venue's; the bot's position equals the
venue's; the journal holds each venue trade exactly once (none missed, none twice); the
venue-side exposure never exceeded the risk limit; after a lost Lease and after SIGTERM no
order is left open, and SIGTERM exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import orjson

from bot.execution.journal import journal_files
from tests.chaos.session import ExposureMatcher, Outcome
from tests.support.botproc import BotProcess
from tests.support.kube_api import EmulatedLeaseApi
from tests.support.order_venue import Filters, OrderVenueServer
from tests.support.order_venues.bybit import BybitPlugin
from tests.support.synthetic_bybit import LOT, SYMBOL, SyntheticBybit

MAX_POSITION_LOT = 20
CRC_PREFIX = 9
"""A journal line is ``<8 hex digits of CRC32> <JSON>``."""
START_S = 300.0
"""A cold numba cache compiles for minutes on a loaded machine; a warm one loads in seconds."""
WAIT_S = 60.0
SIGTERM_S = 40.0
KNOWN_S = 5.0
CONFIG = """
strategy:
  name: fixed_spread
  params: {{offset_ticks: 3, qty_lot: 1, interval_ms: 100}}
instruments: [{{venue: bybit, symbol: BTCUSDT}}]
risk: {{max_position_lot: {max_pos}, max_order_lot: 5, max_notional_quote: 10000000,
       price_band_bps: 100, max_open_orders: 10, orders_per_s: 50, burst: 100}}
mode: live
venues:
  - {{name: bybit, ws_url: '{md_ws}', rest_url: '{md_rest}', order_url: '{order_url}',
      order_ws_url: '{order_ws}', user_ws_url: '{user_ws}'}}
journal: {{path: '{journal}'}}
execution: {{dead_man_timeout_s: 60, shutdown_deadline_s: 15, request_timeout_s: 2,
            not_found_after_s: 1}}
metrics: {{host: 127.0.0.1, port: 0}}
logging: {{format: json}}
"""
LEASE = """lease: {enabled: true, name: tickbot, namespace: trading, identity: pod-a, duration_s: 3,
        renew_every_s: 0.2, api_timeout_s: 1}
"""
MD_FAULTS = ("md_disconnect", "md_stall", "md_gap", "md_malformed")
ORDER_FAULTS = {"rest_timeout": "timeout", "http_5xx": "http_500", "http_429": "http_429",
                "dropped_ack": "drop_ack"}  # fmt: skip
OTHER = ("user_stream_loss", "duplicate_fills", "clock_skew")


class ChaosBybit(SyntheticBybit):
    """The synthetic Bybit venue, with a pause (stall), a skipped ``u`` and a broken frame."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed=seed)
        self.paused = False
        self.skip_next = False
        self.malformed_next = False

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self.paused:
                continue
            bids, asks, trades = self._next_message()
            ts_ms = time.time_ns() // 1_000_000
            frames = []
            if self.malformed_next:
                frames.append('{"topic":"orderbook.50.BTCUSDT","type":"delta","data":{"b":[["1"')
                self.malformed_next = False
            if bids or asks:  # u counts book updates; a skipped u is a gap the feed must resync
                self.u += 2 if self.skip_next else 1
                self.skip_next = False
                frames.append(self._book_frame("delta", bids, asks, ts_ms))
            if trades:
                for t in trades:
                    t["T"] = ts_ms
                frames.append(orjson.dumps({"topic": f"publicTrade.{SYMBOL}", "type": "snapshot",
                                            "ts": ts_ms, "data": trades}).decode())  # fmt: skip
            for ws in list(self.subscribers):
                for frame in frames:
                    with contextlib.suppress(ConnectionResetError):
                        await ws.send_str(frame)
            self.messages_sent += 1

    def spread_ticks(self) -> int:
        return min(self.asks) - max(self.bids)


class LiveSession:
    """The seeded run of ``tickbot run`` (``run`` drives it; see the module docstring)."""

    def __init__(self, seed: int, workdir: Path) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.workdir = workdir
        self.lease = self.rng.random() < 0.4
        self.out = Outcome(seed, "live", "bybit")
        self.trace: list[str] = []
        self.market = ChaosBybit(seed=1 + seed % 7)
        self.venue = OrderVenueServer(BybitPlugin(), {SYMBOL: Filters("0.1", "0.001", "0.001")})
        self.api: EmulatedLeaseApi | None = None
        self.proc: BotProcess | None = None
        self.env: dict[str, str] = {}
        self.config = workdir / "tickbot.yaml"
        self.journal = workdir / "journal"

    def _log(self, what: str) -> None:
        self.trace.append(f"{time.monotonic() - self._began:6.1f} s {what}")

    async def run(self) -> Outcome:
        self._began = time.monotonic()
        await self.market.start()
        try:
            async with self.venue:
                self.venue.matcher = ExposureMatcher(self.venue.matcher)
                await self._prepare()
                try:
                    await self._session()
                except (AssertionError, TimeoutError) as e:
                    self.out.violations.append(f"stuck: {e}")
                    if self.proc is not None:
                        self.trace.extend(f"bot: {line}" for line in self.proc.raw[-20:])
                except Exception as e:  # a crash of the run is a finding
                    self.out.violations.append(f"error: {type(e).__name__}: {e}")
                finally:
                    if self.proc is not None:
                        await self.proc.kill()
        finally:
            await self.market.stop()
            if self.api is not None:
                await self.api.stop()
        self.out.seconds = time.monotonic() - self._began
        return self.out

    async def _prepare(self) -> None:
        creds = self.venue.credentials
        self.env = {"BYBIT_API_KEY": creds.api_key, "BYBIT_API_SECRET": creds.api_secret}
        text = CONFIG.format(
            max_pos=MAX_POSITION_LOT, md_ws=self.market.ws_url, md_rest=self.market.rest_url,
            order_url=self.venue.base_url, order_ws=self.venue.ws_url + "/v5/trade",
            user_ws=self.venue.ws_url + "/v5/private",
            journal=self.journal,
        )  # fmt: skip
        if self.lease:
            self.api = EmulatedLeaseApi()
            await self.api.start()
            kubeconfig = self.api.kubeconfig(self.workdir / "kubeconfig")
            self.env.update(KUBECONFIG=str(kubeconfig), KUBERNETES_SERVICE_HOST="")
            text += LEASE
        self.config.write_text(text)

    # -- the process --------------------------------------------------------------------------
    async def _start(self) -> BotProcess:
        proc = BotProcess("run", "--config", str(self.config), "--no-view", env=self.env)
        self.proc = proc
        await proc.start(START_S)
        await proc.until(self._ready, START_S, "ready")
        self._log("ready")
        return proc

    async def _ready(self) -> bool:
        assert self.proc is not None
        status, _ = await self.proc.get("/readyz")
        return status == 200

    async def _until(
        self, cond: Callable[[], Awaitable[bool]], what: str, timeout_s: float = WAIT_S
    ) -> None:
        assert self.proc is not None
        await self.proc.until(cond, timeout_s, what)

    async def _resting(self) -> bool:
        return any(o.is_open for o in self.venue.orders.values())

    async def _session(self) -> None:
        await self._start()
        await self._until(self._resting, "a quote resting on the venue")
        events = [self.rng.choice((*MD_FAULTS, *ORDER_FAULTS, *OTHER, "fill", "fill"))
                  for _ in range(self.rng.randint(3, 6))]  # fmt: skip
        if self.rng.random() < 0.7:
            events.insert(self.rng.randrange(len(events) + 1), "kill9_restart")
        for kind in events:
            await self._event(kind)
        await self._check_known("at the end")
        await self._check_position()
        if self.lease:
            await self._lose_lease()
        await self._sigterm()
        self._check_journal()
        worst = self.venue.matcher.max_exposure.get(SYMBOL, Decimal(0))  # type: ignore[attr-defined]
        if LOT.to_units(str(worst)) > MAX_POSITION_LOT:
            self.out.violations.append(f"venue exposure reached {worst}")

    async def _event(self, kind: str) -> None:
        self._log(kind)
        venue, market = self.venue, self.market
        if kind != "fill":
            self.out.faults[kind] += 1
        if kind == "fill":
            self._fill()
        elif kind in ORDER_FAULTS:
            venue.fault(self.rng.choice(("new", "cancel")), ORDER_FAULTS[kind])
        elif kind == "user_stream_loss":
            connections = venue.stream_connections
            venue.drop_streams()
            self._fill()  # pushed to nobody
            await self._until(self._async(lambda: venue.stream_connections > connections),
                              "user stream back")  # fmt: skip
        elif kind == "duplicate_fills":
            venue.duplicate_fills = True
            self._fill()
        elif kind == "clock_skew":
            venue.clock_skew_ms = self.rng.choice((-1, 1)) * self.rng.randint(300, 3000)
        elif kind == "md_disconnect":
            await market.disconnect()

            async def noticed() -> bool:
                return not await self._ready()

            await self._until(noticed, "not ready while the market is down")
            market.reconnect()
        elif kind == "md_gap":
            market.skip_next = True
        elif kind == "md_malformed":
            market.malformed_next = True
        elif kind == "md_stall":
            await self._stall()
        elif kind == "kill9_restart":
            await self._kill9_restart()
        await self._until(self._ready, f"ready after {kind}")
        venue.duplicate_fills = False
        venue.clock_skew_ms = 0

    @staticmethod
    def _async(cond: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return cond()

        return check

    def _fill(self) -> None:
        open_ = [o for o in self.venue.orders.values() if o.is_open]
        if open_:
            o = self.rng.choice(open_)
            self.venue.fill(o.client_order_id, str(o.qty - o.filled))
            self.out.fills += 1
            self._log(f"venue fills {o.client_order_id}")

    async def _stall(self) -> None:
        """Pause the market; once the bot caught up, its spread must equal the venue's."""
        assert self.proc is not None
        proc, market = self.proc, self.market
        market.paused = True
        want = market.spread_ticks()

        async def same() -> bool:
            return await proc.value("tickbot_spread_ticks", symbol=SYMBOL) == want

        try:
            await proc.until(same, 10.0, "spread")
        except AssertionError:
            got = await proc.value("tickbot_spread_ticks", symbol=SYMBOL)
            self.out.violations.append(f"stall: bot spread {got} ticks, venue {want}")
        finally:
            market.paused = False

    async def _kill9_restart(self) -> None:
        assert self.proc is not None
        await self.proc.kill()  # SIGKILL: no cancel, no flush
        self.out.restarts += 1
        self._fill()  # while the bot is down
        await self._start()
        await self._check_known("after restart")

    # -- checks ------------------------------------------------------------------------------
    def _journaled(self) -> tuple[set[str], list[str]]:
        """Every order id and trade id in every journal file (replay reads from the newest
        snapshot on; the checks need what each incarnation wrote)."""
        records = []
        for path in journal_files(self.journal):
            for line in path.read_bytes().splitlines():
                with contextlib.suppress(orjson.JSONDecodeError):
                    records.append(orjson.loads(line[CRC_PREFIX:]))
        cids = {str(r.get("cid")) for r in records if r.get("t") in ("new", "adopt")}
        trades = [str(r["trade_id"]) for r in records if r.get("t") == "fill"]
        return cids, trades

    def _unknown(self) -> list[str]:
        cids, _ = self._journaled()
        return [o.client_order_id for o in self.venue.orders.values()
                if o.is_open and o.client_order_id not in cids]  # fmt: skip

    async def _check_known(self, when: str) -> None:
        """Every open order on the venue is in the journal (an orphan the reconciliation found
        is journaled as adopted within the writer's interval, then cancelled)."""

        async def known() -> bool:
            return not self._unknown()

        try:
            await self._until(known, "every open order known", KNOWN_S)
        except AssertionError:
            self.out.violations.append(f"{when}: open orders unknown to the bot {self._unknown()}")

    async def _check_position(self) -> None:
        assert self.proc is not None
        proc = self.proc
        want = LOT.to_units(str(self.venue.positions.get(SYMBOL, Decimal(0))))

        async def same() -> bool:
            return await proc.value("tickbot_position_lots", symbol=SYMBOL) == want

        try:
            await proc.until(same, 10.0, "position")
        except AssertionError:
            got = await proc.value("tickbot_position_lots", symbol=SYMBOL)
            self.out.violations.append(f"position: bot {got} lots, venue {want}")

    async def _lose_lease(self) -> None:
        assert self.api is not None
        self.out.faults["lease_lost"] += 1
        self._log("lease_lost")
        self.api.take_over("trading", "tickbot", "pod-b", duration_s=600)

        async def nothing_open() -> bool:
            return not await self._resting()

        try:
            await self._until(nothing_open, "orders cancelled after the lease was lost")
        except AssertionError:
            left = [o.client_order_id for o in self.venue.orders.values() if o.is_open]
            self.out.violations.append(f"lease lost: still open {left}")

    async def _sigterm(self) -> None:
        assert self.proc is not None
        self.out.faults["sigterm"] += 1
        self._log("sigterm")
        code = await self.proc.terminate(SIGTERM_S)
        left = [o.client_order_id for o in self.venue.orders.values() if o.is_open]
        if code != 0 or left:
            self.out.violations.append(f"after SIGTERM: exit {code}, open on the venue {left}")

    def _check_journal(self) -> None:
        _, trades = self._journaled()
        counted = Counter(t.removeprefix("exec-") for t in trades)
        venue = Counter(f.trade_id for f in self.venue.fills)
        for trade, n in counted.items():
            if n > 1:
                self.out.violations.append(f"trade {trade} journaled {n} times")
        missed = set(venue) - set(counted)
        if missed:
            self.out.violations.append(f"trades never journaled: {sorted(missed)}")
        self.out.orders = len(self.venue.orders)
