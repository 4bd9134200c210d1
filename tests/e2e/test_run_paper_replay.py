"""A recorded paper session replays through ``tickbot backtest`` to the same orders, in order.

``tickbot run`` in paper mode trades a loopback Bybit (real sockets, Bybit's v5 public protocol)
with the capture recorder on (``capture.path``) and the paper journal (``journal.path``). After
SIGTERM, ``tickbot convert`` turns the capture into an event file and ``tickbot backtest`` runs
the same config file over it (``backtest.venue_clock: local``: the paper venue's clock). Every
request the strategy sent before the shutdown (the journal's ``paper_request`` records before
``paper_stop``) and by the last captured frame is the backtest's request at the same position in
``orders.csv``: action, side, client order id, price, size, flags and the nanosecond it reached
the simulated venue.
"""

from __future__ import annotations

import csv
from pathlib import Path

from bot.data.eventfile import read_event_file
from bot.execution.journal import iter_records
from tests.support.botproc import BotProcess
from tests.support.synthetic_bybit import SyntheticBybit

ENTRY_MS = 1
COMPILE_BUDGET_S = 1200.0
"""A backtest's first run after an edit compiles its loop: minutes on a loaded machine."""
CONFIG = """
strategy:
  name: fixed_spread
  params: {{offset_ticks: 1, qty_lot: 1, interval_ms: 25}}
instruments: [{{venue: bybit, symbol: BTCUSDT}}]
risk: {{max_position_lot: 20, max_order_lot: 5, max_notional_quote: 100000, price_band_bps: 100,
       max_open_orders: 10, orders_per_s: 400, burst: 800}}
backtest: {{latency: {{entry_ms: {entry}, response_ms: 1}}, venue_clock: local}}
mode: paper
venues: [{{name: bybit, ws_url: '{ws}', rest_url: '{rest}'}}]
metrics: {{host: 127.0.0.1, port: 0}}
logging: {{format: json}}
journal: {{path: '{journal}'}}
capture: {{path: '{capture}'}}
"""
FIELDS = ("op", "side", "cid", "px_tick", "qty_lot", "flags", "ts_venue_ns")


def _journaled(directory: Path) -> tuple[list[tuple], int]:
    """Return the strategy's requests (before the shutdown) and the shutdown's time."""
    requests: list[tuple] = []
    for rec in iter_records(directory):
        if rec["t"] == "paper_stop":
            return requests, int(rec["ts_stop_ns"])
        if rec["t"] == "paper_request":
            requests.append(tuple(rec[f] for f in FIELDS))
    raise AssertionError("no paper_stop record: the journal was not flushed at shutdown")


def _replayed(orders_csv: Path) -> list[tuple]:
    with orders_csv.open(newline="") as f:
        return [
            (r["op"], r["side"], int(r["client_order_id"]), int(r["price_tick"]),
             int(r["qty_lot"]), int(r["flags"]), int(r["ts_venue_ns"]))
            for r in csv.DictReader(f)
        ]  # fmt: skip


async def _cli(*args: str) -> BotProcess:
    """Run one tickbot command to its end (a cold numba cache compiles the backtest loop)."""
    proc = BotProcess(*args)
    try:
        await proc.start_process()
        code = await proc.wait_exit(timeout_s=COMPILE_BUDGET_S)
    finally:
        await proc.kill()
    assert code == 0, "\n".join(proc.raw[-20:])
    return proc


async def test_paper_session_replayed_by_backtest_sends_the_same_orders(tmp_path: Path) -> None:
    venue = SyntheticBybit()
    await venue.start()
    text = CONFIG.format(ws=venue.ws_url, rest=venue.rest_url, entry=ENTRY_MS,
                         journal=tmp_path / "journal", capture=tmp_path / "capture")  # fmt: skip
    config = tmp_path / "paper.yaml"
    config.write_text(text)
    proc = BotProcess("run", "--config", str(config), "--no-view")
    try:
        await proc.start()

        async def traded() -> bool:  # requotes and fills, exported once a second
            orders = await proc.value("tickbot_orders_total", action="new")
            return orders > 60 and await proc.value("tickbot_fills_total") > 2

        await proc.until(traded, timeout_s=120, what="quotes, requotes and fills")
        code = await proc.terminate()
        assert code == 0, "\n".join(proc.raw[-30:])
    finally:
        await proc.kill()
        await venue.stop()

    journaled, stop_ns = _journaled(tmp_path / "journal")
    assert len(journaled) > 60
    events = tmp_path / "session.events"
    await _cli("convert", str(tmp_path / "capture" / "bybit"), "-o", str(events))
    report = tmp_path / "report"
    await _cli("backtest", "--config", str(config), "--data", str(events), "--out", str(report),
               "--json")  # fmt: skip
    replayed = _replayed(report / "orders.csv")
    # Both sides decide on the same clock up to the earlier of the shutdown (after it the bot
    # sends nothing new, the backtest goes on with the frames received meanwhile) and the last
    # captured frame (the backtest ends there; the bot's timers ran on until the shutdown). A
    # request reached the venue ENTRY_MS (constant latency) after it was sent.
    cutoff = min(stop_ns, int(read_event_file(events).events["ts_local_ns"][-1]))

    def sent_by_cutoff(rows: list[tuple]) -> list[tuple]:
        return [r for r in rows if r[-1] - ENTRY_MS * 1_000_000 <= cutoff]

    assert sent_by_cutoff(replayed) == sent_by_cutoff(journaled)
    assert len(sent_by_cutoff(journaled)) > 60
    assert {r[0] for r in journaled} >= {"new", "cancel"}
