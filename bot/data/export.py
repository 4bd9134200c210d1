"""Write event rows back out as tardis.dev CSV (round-trip tests, converter benchmarks).

Book rows go to an ``incremental_book_L2`` file and trades to a ``trades`` file, in the exact
column layouts the converter reads; rows after a ``BOOK_CLEAR`` up to the end of that message are
written as snapshot rows. Times are written in µs (ns truncated), as tardis does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bot.core.dtypes import EventFlag, EventKind
from bot.core.instruments import InstrumentSpec
from bot.data.tardis import BOOK_COLUMNS, TRADE_COLUMNS

_TRADE_SIDES = {
    int(EventKind.TRADE_BUY): "buy",
    int(EventKind.TRADE_SELL): "sell",
    int(EventKind.TRADE_UNKNOWN): "unknown",
}
_ROWS_PER_WRITE = 1 << 16


def _decimal(units: int, mantissa: int, decimals: int) -> str:
    scaled = units * mantissa
    if decimals == 0:
        return str(scaled)
    return f"{scaled // 10**decimals}.{scaled % 10**decimals:0{decimals}d}"


def write_tardis_csv(
    events: np.ndarray, spec: InstrumentSpec, book_path: Path, trades_path: Path, exchange: str
) -> tuple[int, int]:
    """Write one instrument's rows as tardis CSV files; return (book rows, trade rows)."""
    tick, lot = spec.tick, spec.lot
    t_dec, l_dec = max(0, -tick.exponent), max(0, -lot.exponent)
    t_mul = tick.mantissa * 10 ** max(0, tick.exponent)
    l_mul = lot.mantissa * 10 ** max(0, lot.exponent)
    prefix = f"{exchange},{spec.symbol},"
    n_book = n_trades = 0
    in_snapshot = False
    with open(book_path, "w") as book, open(trades_path, "w") as trades:
        book.write(",".join(BOOK_COLUMNS) + "\n")
        trades.write(",".join(TRADE_COLUMNS) + "\n")
        for start in range(0, events.shape[0], _ROWS_PER_WRITE):
            part = events[start : start + _ROWS_PER_WRITE]
            book_lines: list[str] = []
            trade_lines: list[str] = []
            for kind, flags, ts, local, price, qty, aux in zip(
                part["kind"].tolist(),
                part["flags"].tolist(),
                (part["ts_exch_ns"] // 1000).tolist(),
                (part["ts_local_ns"] // 1000).tolist(),
                part["price_tick"].tolist(),
                part["qty_lot"].tolist(),
                part["aux"].tolist(),
                strict=True,
            ):
                if kind == EventKind.BOOK_CLEAR:
                    in_snapshot = True
                    continue
                p, q = _decimal(price, t_mul, t_dec), _decimal(qty, l_mul, l_dec)
                if kind in (EventKind.BOOK_BID, EventKind.BOOK_ASK):
                    side = "bid" if kind == EventKind.BOOK_BID else "ask"
                    snap = "true" if in_snapshot else "false"
                    book_lines.append(f"{prefix}{ts},{local},{snap},{side},{p},{q}\n")
                    if flags & EventFlag.BATCH_END:
                        in_snapshot = False
                elif kind in _TRADE_SIDES:
                    side = _TRADE_SIDES[kind]
                    trade_lines.append(f"{prefix}{ts},{local},{aux},{side},{p},{q}\n")
            book.writelines(book_lines)
            trades.writelines(trade_lines)
            n_book += len(book_lines)
            n_trades += len(trade_lines)
    return n_book, n_trades
