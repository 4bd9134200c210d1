"""``tickbot orders`` and ``tickbot cancel-all`` as real processes against every venue's
loopback order venue (``tests/support/order_venue.py``, 127.0.0.1 only).

The CLI reads the config's venue sections (``order_url`` points at the loopback server) and the
credentials from the environment variables the config names; the server verifies every
signature with the same test key.
"""

from __future__ import annotations

import asyncio
import json
import os
import pty
import sys
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.adapters.trading import OrderRequest
from bot.core.dtypes import Side
from bot.execution.ids import client_id, new_run_id
from bot.execution.journal import Journal
from tests.support.order_venue import OrderVenueServer
from tests.support.order_venues.kits import KIT_FACTORIES, VenueKit

pytestmark = pytest.mark.asyncio
ROOT = Path(__file__).resolve().parents[2]
REST_KITS = ("binance-usdm", "bybit", "okx", "bitget", "bingx", "bitmex")
ENV_KEY, ENV_SECRET, ENV_PASS = "OPS_TEST_KEY", "OPS_TEST_SECRET", "OPS_TEST_PASSPHRASE"
CLI_TIMEOUT_S = 120.0


@pytest.fixture(params=REST_KITS)
def kit(request: pytest.FixtureRequest) -> VenueKit:
    return KIT_FACTORIES[request.param]()


@pytest.fixture
async def server(kit: VenueKit) -> AsyncIterator[OrderVenueServer]:
    async with OrderVenueServer(kit.plugin(), {kit.symbol: kit.filters}) as s:
        yield s


def write_config(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer, name: str = "tickbot.yaml",
    **extra: Any,
) -> Path:  # fmt: skip
    cfg: dict[str, Any] = {
        "strategy": {"name": "fixed_spread"},
        "instruments": [{"venue": _venue(kit), "symbol": kit.symbol}],
        "risk": {"max_position_lot": 10, "max_order_lot": 1, "max_notional_quote": 1e6,
                 "price_band_bps": 100, "max_open_orders": 5, "orders_per_s": 5, "burst": 5},
        "mode": "live",
        "venues": [{"name": _venue(kit), "environment": "testnet", "order_url": server.base_url,
                    "credentials": {"api_key_env": ENV_KEY, "api_secret_env": ENV_SECRET,
                                    "passphrase_env": ENV_PASS}}],
        "journal": {"path": str(tmp_path / "journal")},
    }  # fmt: skip
    cfg.update(extra)
    path = tmp_path / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def _venue(kit: VenueKit) -> str:
    return kit.name.removesuffix("-ws")


def env_for(server: OrderVenueServer) -> dict[str, str]:
    env = {**os.environ, ENV_KEY: server.plugin.api_key, ENV_SECRET: server.plugin.api_secret}
    if server.plugin.passphrase:
        env[ENV_PASS] = server.plugin.passphrase
    return env


async def cli(
    *args: str, env: dict[str, str], stdin: int | None = None, answer: bytes | None = None
) -> tuple[int, str, str]:
    """Run ``tickbot ARGS`` while this loop keeps serving the loopback venue."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", *args,
        stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env, cwd=ROOT,
    )  # fmt: skip
    async with asyncio.timeout(CLI_TIMEOUT_S):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def ours(counter: int) -> str:
    return client_id(new_run_id(), counter)


def order(kit: VenueKit, cid: str, price: str | None = None) -> OrderRequest:
    return OrderRequest(cid, kit.symbol, Side.BUY, kit.qty, price or kit.price)


def journal_with(tmp_path: Path, kit: VenueKit, live: list[str], position: str) -> None:
    """A journal as a bot leaves it: its live orders' ``new`` records and a position."""
    j = Journal(tmp_path / "journal", fsync_interval_s=0.005)
    j.open(lambda: {"run": "", "runs": [], "counter": 0, "orders": [], "recent_trades": []})
    for k, cid in enumerate(live, start=1):
        new = {
            "cid": cid, "coid": k, "venue": _venue(kit), "symbol": kit.symbol, "side": 1,
            "flags": 0, "px": kit.price, "qty": kit.qty, "status": "PENDING_NEW", "filled": "0",
            "voi": "", "trades": [],
        }  # fmt: skip
        j.append("new", new)
        report = {
            "cid": cid, "src": "reply", "status": "OPEN", "filled": "0", "qty": kit.qty,
            "px": kit.price, "voi": "",
        }  # fmt: skip
        j.append("report", report)
    j.append("position", {"venue": _venue(kit), "symbol": kit.symbol, "qty": position})
    assert j.close()


async def test_orders_shows_the_venue_next_to_the_journal(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    entry = kit.entry(server)
    known, gone = ours(1), ours(2)
    try:
        await entry.submit(order(kit, known))
        await entry.submit(order(kit, "manual7", price="100.4"))
    finally:
        await entry.close()
    server.set_position(kit.symbol, "0.02")
    journal_with(tmp_path, kit, [known, gone], position="0.02")
    before = dict(server.calls)
    code, out, err = await cli(
        "orders", "--config", str(write_config(tmp_path, kit, server)), "--json",
        env=env_for(server),
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    (v,) = doc["venues"]
    assert v["venue"] == _venue(kit)
    assert v["errors"] == []
    rows = {o["client_order_id"]: o for o in v["open_orders"]}
    assert set(rows) == {known, "manual7", gone}
    assert (rows[known]["venue_status"], rows[known]["journal_status"]) == ("OPEN", "OPEN")
    assert D(rows[known]["price"]) == D(kit.price)
    assert D(rows[known]["qty"]) == D(kit.qty)
    assert (rows["manual7"]["venue_status"], rows["manual7"]["journal_status"]) == ("OPEN", "-")
    assert (rows[gone]["venue_status"], rows[gone]["journal_status"]) == ("not listed", "OPEN")
    (pos,) = v["positions"]
    assert D(pos["venue"]) == D("0.02")
    assert D(pos["journal"]) == D("0.02")
    assert [(b["asset"], b["total"]) for b in v["balances"]] == [("USDT", "1000000")]
    assert doc["journal"]["records"] > 0
    # read-only: only queries went out
    for op in ("new", "cancel", "cancel_all", "amend"):
        assert server.calls[op] == before.get(op, 0)
    assert server.plugin.api_secret not in out + err
    code, text, err = await cli(
        "orders", "--config", str(tmp_path / "tickbot.yaml"), env=env_for(server)
    )
    assert code == 0, err
    assert known in text
    assert "not listed" in text


async def test_cancel_all_flatten_leaves_nothing(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    entry = kit.entry(server)
    cids = [ours(k) for k in range(1, 4)]
    try:
        for cid in cids:
            await entry.submit(order(kit, cid))
    finally:
        await entry.close()
    server.set_market(kit.symbol, bid="100", ask="101")
    server.set_position(kit.symbol, "0.03")
    code, out, err = await cli(
        "cancel-all", "--config", str(write_config(tmp_path, kit, server)), "--flatten", "--yes",
        env=env_for(server),
    )  # fmt: skip
    assert code == 0, out + err
    assert all(server.orders[c].status == "CANCELED" for c in cids)
    assert server.positions[kit.symbol] == 0
    (flat,) = [o for o in server.orders.values() if o.client_order_id not in cids]
    assert (flat.reduce_only, flat.market, flat.side, flat.qty) == (True, True, -1, D("0.03"))
    assert f"{_venue(kit)}: {kit.symbol}: no open order left" in out
    assert server.plugin.api_secret not in out + err


@pytest.mark.parametrize("kit", ["binance-usdm"], indirect=True)
async def test_cancel_all_off_a_terminal_needs_yes(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    code, _out, err = await cli(
        "cancel-all", "--config", str(write_config(tmp_path, kit, server)), env=env_for(server)
    )
    assert code == 2
    assert (
        err.strip()
        == "tickbot cancel-all: error: not a terminal: pass --yes to cancel without asking"
    )
    assert server.calls["cancel_all"] == 0
    assert server.calls["cancel"] == 0


@pytest.mark.parametrize("kit", ["bybit"], indirect=True)
@pytest.mark.parametrize(("answer", "cancelled"), [(b"n\n", False), (b"y\n", True)])
async def test_cancel_all_asks_on_a_terminal(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer, answer: bytes, cancelled: bool
) -> None:
    entry = kit.entry(server)
    cid = ours(1)
    try:
        await entry.submit(order(kit, cid))
    finally:
        await entry.close()
    leader, follower = pty.openpty()
    try:
        os.write(leader, answer)
        code, out, err = await cli(
            "cancel-all", "--config", str(write_config(tmp_path, kit, server)),
            env=env_for(server), stdin=follower,
        )  # fmt: skip
    finally:
        os.close(follower)
        os.close(leader)
    assert "Continue? [y/N]" in out
    assert f"bybit (testnet): {kit.symbol}" in out
    if cancelled:
        assert code == 0, err
        assert server.orders[cid].status == "CANCELED"
    else:
        assert code == 1
        assert "aborted: nothing sent" in out
        assert server.orders[cid].status == "NEW"
        assert server.calls["cancel_all"] == 0


@pytest.mark.parametrize("kit", ["okx"], indirect=True)
async def test_user_errors_are_one_line_exit_2(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    path = write_config(tmp_path, kit, server)
    no_creds = {k: v for k, v in env_for(server).items() if k not in (ENV_KEY, ENV_SECRET)}
    cases = [
        (("orders", "--config", str(tmp_path / "missing.yaml")), env_for(server),
         f"tickbot orders: error: {tmp_path / 'missing.yaml'}: no such file"),
        (("orders", "--config", str(path)), no_creds,
         f"tickbot orders: error: okx: mode live needs credentials (environment variables "
         f"{ENV_KEY} and {ENV_SECRET} are not set)"),
        (("cancel-all", "--config", str(path), "--yes", "--timeout", "0"), env_for(server),
         "tickbot cancel-all: error: --timeout must be in (0, 300] seconds"),
    ]  # fmt: skip
    sim_only = write_config(
        tmp_path,
        kit,
        server,
        "sim.yaml",
        instruments=[{"venue": "sim", "symbol": "BTCUSDT"}],
        mode="sim",
    )
    cases.append((
        ("cancel-all", "--config", str(sim_only), "--yes"), env_for(server),
        f"tickbot cancel-all: error: {sim_only}: no instrument on a real venue (sim orders "
        "live in the bot)",
    ))  # fmt: skip
    for args, env, line in cases:
        code, _out, err = await cli(*args, env=env)
        assert (code, err.strip()) == (2, line)
        assert "Traceback" not in err
    assert sum(server.calls.values()) == 0


@pytest.mark.parametrize("kit", ["bitmex"], indirect=True)
async def test_orders_reports_an_unreachable_venue_and_exits_1(
    tmp_path: Path, kit: VenueKit, server: OrderVenueServer
) -> None:
    path = write_config(tmp_path, kit, server)
    server.fault("open_orders", "http_500")
    code, out, err = await cli("orders", "--config", str(path), "--json", env=env_for(server))
    assert code == 1
    (v,) = json.loads(out)["venues"]
    assert v["open_orders"] is None
    assert v["balances"] is not None
    (line,) = err.strip().splitlines()
    assert line.startswith("tickbot orders: bitmex: open orders: ")
    assert server.plugin.api_secret not in out + err
