"""Kernels of the live loop: market rows into books and signals, the simulated venue stepped in
real time, venue responses into the order view and risk.

They reuse the backtest loop's own kernels (``bot.backtest._loop``: ``_dispatch`` sends risk-
checked intents to the simulated venue, ``_on_response`` applies an answer), so a paper session
and its backtest replay make the same decisions from the same inputs. Each is called once per
frame or per timer, never per row from Python: no Python object is made per row.
"""

from __future__ import annotations

import numpy as np

from bot.backtest import _loop as lp
from bot.backtest import sim_types as st
from bot.backtest import sim_venue as sv
from bot.backtest.sim_types import fast, kernel
from bot.core import book, signal
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID

apply_level = fast(book.apply_level)
clear_book = fast(book.clear_book)
update_book_signals = fast(signal.update_book_signals)
update_trade_signals = fast(signal.update_trade_signals)
dispatch = lp._dispatch
on_response = lp._on_response

_BATCH_END = 2
_BOOK_INVALID = 11


@kernel
def ingest_rows(
    rows, n, apply_books, uses_signals, lqty, lstate, sig, ring, ring_idx, sparams
) -> int:  # fmt: skip
    """Apply ``rows[:n]`` (one frame) locally; return the instrument of the last message end.

    ``apply_books``: apply book rows here (sim mode); live feeds have applied them already.
    A frame's end is a message end; so is every ``BATCH_END`` row inside it. Return -1 if the
    frame held nothing that ends a message.
    """
    last = -1
    for i in range(n):
        e = rows[i]
        kind = e["kind"]
        inst = e["instrument"]
        now = e["ts_local_ns"]
        if apply_books:
            if kind == 1 or kind == 2:
                apply_level(lqty, lstate, inst, kind - 1, e["price_tick"], e["qty_lot"])
            elif kind == 3:
                clear_book(lqty, lstate, inst)
            elif kind == _BOOK_INVALID:
                lstate[inst, ST_VALID] = 0
        if kind >= 4 and kind <= 6 and uses_signals:
            side = 1 if kind == 4 else (-1 if kind == 5 else 0)
            update_trade_signals(
                sig, ring, ring_idx, inst, now, side, e["price_tick"], e["qty_lot"], sparams
            )
        if (e["flags"] & _BATCH_END) != 0 or i == n - 1:
            if apply_books and kind <= 2 and lstate[inst, ST_BEST_BID] >= lstate[inst, ST_BEST_ASK]:
                lstate[inst, ST_VALID] = 0
            if uses_signals and kind <= 3:
                update_book_signals(lqty, lstate, sig, inst, now, sparams)
            last = inst
    return last


@kernel
def venue_rows(
    rows, n, local_clock, vs, req, vorders, active, xqty, xstate, resp, lat_out, vp, vinst,
    acct, iacct, fills,
) -> int:  # fmt: skip
    """Apply ``rows[:n]`` at the simulated venue in time order with the requests in flight.

    Return the time the next request reaches the venue or answer reaches us (``next_due_ns``).

    ``local_clock``: time the rows by their receive time (paper mode: the venue's book is the
    live book as we see it), else by their exchange time (the synthetic market's own clock).
    """
    for i in range(n):
        e = rows[i]
        ts = e["ts_local_ns"] if local_clock else e["ts_exch_ns"]
        while sv.next_request_ns(vs, req) < ts:
            sv.process_request(
                vs, req, vorders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
            )
        sv.on_event(
            vs, e["kind"], e["instrument"], ts, e["price_tick"], e["qty_lot"], e["aux"],
            vorders, active, xqty, xstate, resp, lat_out, vp, vinst, acct, iacct, fills,
        )  # fmt: skip
    return min(sv.next_request_ns(vs, req), sv.next_response_ns(vs, resp))


@kernel
def venue_until(
    now, vs, req, vorders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
) -> int:  # fmt: skip
    """Handle every request that reaches the venue by ``now``; return how many."""
    k = 0
    while sv.next_request_ns(vs, req) <= now:
        sv.process_request(
            vs, req, vorders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
        )
        k += 1
    return k


@kernel
def take_responses(now, vs, resp, es, view, rstate, pos_local, touched) -> int:
    """Apply every response that has reached us by ``now``; return how many.

    ``touched[inst]`` is set to 1 for each instrument that had one (the order wake).
    """
    mask = resp.shape[0] - 1
    k = 0
    while sv.next_response_ns(vs, resp) <= now:
        r = resp[vs[st.VS_RESP_HEAD] & mask]
        vs[st.VS_RESP_HEAD] += 1
        on_response(r, es, view, rstate, pos_local)
        touched[r["instrument"]] = 1
        k += 1
    return k


@kernel
def next_due_ns(vs, req, resp) -> int:
    """Return the earliest time a request reaches the venue or a response reaches us."""
    return min(sv.next_request_ns(vs, req), sv.next_response_ns(vs, resp))


@kernel
def cancel_everything(now, es, view, vs, req, lat_in) -> int:
    """Send CANCEL for every order of the view not already being cancelled; return how many."""
    k = 0
    for s in range(view.shape[0]):
        v = view[s]
        if v["status"] != 0 and v["status"] != 5:
            v["status"] = 5
            sv.submit(
                vs, req, lat_in, now, 2, v["side"], 0, v["instrument"], v["client_order_id"], 0, 0
            )
            es[lp.ES_CANCELS] += 1
            k += 1
    return k


def live_orders(view: np.ndarray) -> int:
    """Return how many orders of the view are live (any status but free)."""
    return int(np.count_nonzero(view["status"]))
