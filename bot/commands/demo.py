"""``tickbot demo``: the core end to end on a synthetic market, no keys and no network.

A seeded market from ``bot.data.generate`` streams through the numba core: every event updates
the L2 book, trades feed the flow and VWAP signals, each venue message end (BATCH_END) refreshes
the book signals and checks the book, and a two-sided quote around the microprice goes through
pre-trade risk. The screen shows the book and signals as they evolve and a summary at the end.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
from numba import njit
from rich.console import Console
from rich.table import Table

from bot.cli import UserError
from bot.core.book import (
    ST_ASK_LEVELS,
    ST_BID_LEVELS,
    ST_DROPPED,
    Book,
    apply_event,
    check_book,
)
from bot.core.dtypes import EventFlag, EventKind, RiskReason, empty_intents
from bot.core.instruments import InstrumentTable
from bot.core.nrt import borrow
from bot.core.risk import check_intent, make_limits, new_risk, on_order_closed
from bot.core.signal import (
    SIG_MICRO_TICK,
    SIG_MID_TICK,
    SIG_VALID,
    new_signals,
    signal_params,
    snapshot,
    update_book_signals,
    update_trade_signals,
)
from bot.data.generate import GenerateParams, generate_events

_BATCH_END = int(EventFlag.BATCH_END)
_TRADE_BUY = int(EventKind.TRADE_BUY)
_TRADE_SELL = int(EventKind.TRADE_SELL)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    p = subparsers.add_parser(
        "demo",
        help="run the core end to end on a synthetic market (no keys, no network)",
        description=__doc__,
    )
    p.add_argument("--events", type=int, default=500_000, help="events to stream")
    p.add_argument("--seed", type=int, default=7, help="market seed")
    p.add_argument("--frames", type=int, default=4, help="book snapshots to show")
    p.set_defaults(handler=run)


@njit(cache=True, nogil=True)
def _run_core(
    events, qty, state, sig, ring, ring_idx, params, limits, rstate, counts, intents, qptl, stop
):  # type: ignore[no-untyped-def]
    """Process ``events[:stop]``; return the number of crossed books seen at message ends."""
    events, qty, state, sig = borrow(events), borrow(qty), borrow(state), borrow(sig)
    ring, ring_idx, intents = borrow(ring), borrow(ring_idx), borrow(intents)
    limits, rstate, counts = borrow(limits), borrow(rstate), borrow(counts)
    crossed = 0
    last_quote_ns = 0
    for i in range(stop):
        kind = events[i]["kind"]
        inst = events[i]["instrument"]
        ts = events[i]["ts_local_ns"]
        if kind in (_TRADE_BUY, _TRADE_SELL):
            side = 1 if kind == _TRADE_BUY else -1
            update_trade_signals(
                sig, ring, ring_idx, inst, ts, side,
                events[i]["price_tick"], events[i]["qty_lot"], params,
            )  # fmt: skip
        else:
            apply_event(qty, state, events, i)
        if events[i]["flags"] & _BATCH_END:
            check = check_book(state, inst)
            if check == 1 or check == 2:
                crossed += 1
            update_book_signals(qty, state, sig, inst, ts, params)
            if sig[inst, SIG_VALID] == 1.0 and ts - last_quote_ns >= 100_000_000:
                # every 100 ms: quote one lot around the microprice, then cancel at once
                last_quote_ns = ts
                micro = sig[inst, SIG_MICRO_TICK]
                for k in range(2):
                    intents[k]["instrument"] = inst
                    intents[k]["action"] = 1
                    intents[k]["side"] = 1 - 2 * k
                    intents[k]["qty_lot"] = 1
                    intents[k]["price_tick"] = int(micro) - 2 if k == 0 else int(micro) + 3
                    reason = check_intent(
                        limits, rstate, counts, intents, k, sig[inst, SIG_MID_TICK], qptl, ts
                    )
                    if reason == 0:
                        on_order_closed(rstate, inst, intents[k]["side"], 1)
    return crossed


def run(args: argparse.Namespace) -> int:
    """Stream a synthetic market through the core and show what it sees."""
    if args.events < 1_000:
        raise UserError("--events must be at least 1000")
    if args.frames < 1:
        raise UserError("--frames must be at least 1")
    console = Console(soft_wrap=True)
    params = GenerateParams(events=args.events)
    console.print(
        f"[bold]tickbot demo[/bold]: {args.events:,} synthetic events of "
        f"{params.venue}:{params.symbol} (seed {args.seed}) through book, signals and risk"
    )
    events = generate_events(params, args.seed)
    spec = params.spec()
    table = InstrumentTable.of([spec])
    book = Book(1)
    sig, ring, ring_idx = new_signals(1)
    sparams = signal_params(levels=5)
    limits, rstate, counts = new_risk(1)
    limits[0] = make_limits(
        max_position_lot=10,
        max_order_lot=5,
        max_notional_quote=1_000.0,
        price_band_bps=5.0,
        max_open_orders=4,
        orders_per_s=20.0,
        burst=10.0,
    )
    intents = empty_intents(2)
    qptl = float(table.quote_per_tick_lot()[0])
    tick, lot = spec.tick, spec.lot

    compile_t0 = time.perf_counter()
    _run_core(events[:0], book.qty, book.state, sig, ring, ring_idx, sparams, limits, rstate,
              counts, intents, qptl, 0)  # fmt: skip
    compile_s = time.perf_counter() - compile_t0

    crossed = 0
    elapsed = 0.0
    bounds = np.linspace(0, len(events), args.frames + 1).astype(np.int64)[1:]
    done = 0
    for stop in bounds:
        chunk = events[done:stop]
        t0 = time.perf_counter()
        crossed += _run_core(chunk, book.qty, book.state, sig, ring, ring_idx, sparams, limits,
                             rstate, counts, intents, qptl, len(chunk))  # fmt: skip
        elapsed += time.perf_counter() - t0
        done = int(stop)
        ts = int(events[done - 1]["ts_exch_ns"])
        _show_frame(console, book, sig, tick, lot, done, ts)

    risk_table = Table(title="pre-trade risk outcomes (a bid and an ask every 100 ms)")
    risk_table.add_column("reason")
    risk_table.add_column("count", justify="right")
    for reason in RiskReason:
        if counts[0, reason]:
            risk_table.add_row(reason.name.lower(), f"{int(counts[0, reason]):,}")
    console.print(risk_table)
    console.print(
        f"{len(events):,} events in {elapsed * 1e3:.1f} ms = "
        f"[bold]{len(events) / elapsed / 1e6:.1f} M events/s[/bold] "
        f"(book + signals + risk; first call incl. numba cache load {compile_s:.2f} s); "
        f"book levels {int(book.state[0, ST_BID_LEVELS])}/{int(book.state[0, ST_ASK_LEVELS])}, "
        f"levels refused (overflow full) {int(book.state[0, ST_DROPPED])}, crossed books {crossed}"
    )
    return 0


def _show_frame(
    console: Console, book: Book, sig: np.ndarray, tick: object, lot: object, n: int, ts: int
) -> None:
    when = datetime.fromtimestamp(ts / 1e9, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    view = Table(title=f"after {n:,} events, exchange time {when} UTC")
    view.add_column("bid qty", justify="right")
    view.add_column("bid", justify="right", style="green")
    view.add_column("ask", justify="right", style="red")
    view.add_column("ask qty", justify="right")
    bids = book.levels(0, 5)
    asks = book.levels(1, 5)
    for k in range(max(len(bids), len(asks))):
        b = bids[k] if k < len(bids) else None
        a = asks[k] if k < len(asks) else None
        view.add_row(
            lot.to_str(b[1]) if b else "",  # type: ignore[attr-defined]
            tick.to_str(b[0]) if b else "",  # type: ignore[attr-defined]
            tick.to_str(a[0]) if a else "",  # type: ignore[attr-defined]
            lot.to_str(a[1]) if a else "",  # type: ignore[attr-defined]
        )
    console.print(view)
    v = snapshot(sig)
    step = float(tick.to_decimal(1))  # type: ignore[attr-defined]
    console.print(
        f"mid {v['mid_tick'] * step:,.2f}  microprice {v['micro_tick'] * step:,.3f}  "
        f"spread {v['spread_tick']:.0f} ticks  imbalance(5) {v['imbalance']:+.3f}  "
        f"vol {v['vol'] * 1e4:.2f} bp/sqrt(s)  trade flow {v['flow']:+.3f}  "
        f"vwap(60 s) {v['vwap_tick'] * step:,.2f}  in sync {bool(v['valid'])}"
    )
