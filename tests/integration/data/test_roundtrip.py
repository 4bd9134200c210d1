"""Generated market -> tardis CSV -> `convert` gives back the same book and trades."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.core.dtypes import EventKind
from bot.data.convert import convert
from bot.data.eventfile import read_event_file, write_event_file
from bot.data.export import write_tardis_csv
from bot.data.generate import GenerateParams, generate_events
from bot.data.inspect import book_at


def test_generated_market_survives_a_tardis_round_trip(tmp_path: Path):
    params = GenerateParams(events=20_000, duration_s=20.0, venue="binance-usdm")
    ev = generate_events(params, seed=21)
    spec = params.spec()
    book_csv, trades_csv = tmp_path / "book.csv", tmp_path / "trades.csv"
    n_book, n_trades = write_tardis_csv(ev, spec, book_csv, trades_csv, "binance-futures")
    out = tmp_path / "back.events"
    convert([book_csv, trades_csv], out, [spec], chunk_bytes=1 << 16)
    back = read_event_file(out)
    assert back.events.shape[0] == n_book + n_trades + 1  # plus the BOOK_CLEAR
    trades = np.isin(ev["kind"], [EventKind.TRADE_BUY, EventKind.TRADE_SELL])
    got = np.isin(back.events["kind"], [EventKind.TRADE_BUY, EventKind.TRADE_SELL])
    for field in ("kind", "price_tick", "qty_lot", "aux"):
        assert np.array_equal(back.events[got][field], ev[trades][field])
    original = read_event_file(write_event_file(tmp_path / "orig.events", ev, [spec], "gen"))
    times = ev["ts_local_ns"][[100, 5_000, 12_345, -1]] // 1000 * 1000 + 999
    for at in times.tolist():
        assert book_at(back, 0, at, 25) == book_at(original, 0, at, 25)
