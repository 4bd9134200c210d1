"""The backtest event loop: a template compiled once per strategy (see ``bot.backtest.loopgen``).

``run_loop`` merges five time-ordered streams: market events at the venue (exchange clock),
requests arriving at the venue, responses arriving back, market events at the local side (local
clock) and the strategy's timer. The oldest goes first; ties go in that order (a request that
reaches the venue at the same nanosecond as a market event is matched after it). The local side
keeps its own book (what the strategy may see), the venue its own (what orders match against),
so nothing the strategy does can use data it has not received yet.

The strategy's ``decide`` is a *global* here (numba compiles it in, and can cache the result; an
argument of function type would defeat the cache and recompile in every process). ``loopgen``
writes a copy of this file per strategy with the import line below pointing at it.

The loop stops at ``stop`` (local event index), when the fill buffer needs to grow, or on a venue
error; all state lives in the arrays passed in, so calling it again continues exactly where it
stopped (chunks for a progress bar, a params swap between two events).
"""

from __future__ import annotations

import numpy as np

from bot.backtest import sim_types as st
from bot.backtest import sim_venue as sv
from bot.backtest.sim_types import fast, inline_kernel, kernel
from bot.core import book, risk, signal
from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID
from strategies.fixed_spread import (  # loopgen: strategy import
    USES_SIGNALS,
    WAKE_ON_EVENT,
    WAKE_ON_ORDER,
    decide,
)

# Kernels from bot.core and the strategy, inlined without reference counting (see ``fast``).
apply_level = fast(book.apply_level)
check_book = fast(book.check_book)
clear_book = fast(book.clear_book)
# per intent or order update, not per event: plain calls (inlining them only slows compiling)
check_intent = risk.check_intent
on_amend = risk.on_amend
on_fill = risk.on_fill
on_order_closed = risk.on_order_closed
update_book_signals = fast(signal.update_book_signals)
update_trade_signals = fast(signal.update_trade_signals)
_decide = fast(decide) if WAKE_ON_EVENT else decide  # per event only if woken per event
_on_event = fast(sv.on_event)  # per venue event: inlined, not called

# engine state es[ES_*]
ES_X = 0
ES_L = 1
ES_NEXT_ID = 2
ES_ORDERS = 3
ES_CANCELS = 4
ES_AMENDS = 5
ES_RISK_REJECTS = 6
ES_DROPPED = 7
ES_DECIDES = 8
ES_N_SAMPLES = 9
ES_NEXT_SAMPLE_NS = 10
ES_STATUS = 11
ES_NOW_NS = 12
ES_BATCHED = 13
ES_CANCEL_REJECTS = 14
ES_SUBMITTED_LOT = 15
ES_VENUE_REJECTS = 16
N_ES = 17

# ES_STATUS values
STOP_DONE = 0
STOP_FILLS_FULL = 1
STOP_VENUE_ERROR = 2
STOP_BAD_INSTRUMENT = 3
STOP_UNSORTED = 4

_NO_TIME = 1 << 62
_SNAPSHOT = 1
_BATCH_END = 2
_PENDING_NEW, _OPEN, _PARTIAL, _FILLED, _PENDING_CANCEL = 1, 2, 3, 4, 5
_WAKE_EVENT, _WAKE_TIMER, _WAKE_ORDER = 0, 1, 2


@kernel
def _view_slot(view: np.ndarray, coid: int) -> int:
    for s in range(view.shape[0]):
        if view[s]["status"] != 0 and view[s]["client_order_id"] == coid:
            return s
    return -1


@kernel
def _local_mid(lstate: np.ndarray, inst: int) -> float:
    if check_book(lstate, inst) != 0:
        return np.nan
    return sv.mid_tick(lstate, inst)


@kernel
def _dispatch(
    n_int, intents, now, es, lstate, view, limits, rstate, rcounts, vs, req, lat_in, vinst
) -> None:  # fmt: skip
    """Pass each intent through risk and send what passes; count everything else."""
    n_inst = lstate.shape[0]
    for j in range(n_int):
        it = intents[j]
        action = it["action"]
        inst = it["instrument"]
        if inst >= n_inst or action < 1 or action > 4:
            es[ES_DROPPED] += 1
            continue
        slot = -1
        if action == 2 or action == 3:  # CANCEL / AMEND need an order we know
            slot = _view_slot(view, it["client_order_id"])
            if slot < 0 or view[slot]["status"] == _PENDING_CANCEL:
                es[ES_DROPPED] += 1
                continue
        mid = _local_mid(lstate, inst)
        reason = check_intent(
            limits, rstate, rcounts, intents, j, mid, vinst[inst, st.VI_QUOTE_PER_TICK_LOT], now
        )
        if reason != 0:
            es[ES_RISK_REJECTS] += 1
            continue
        coid = it["client_order_id"]
        if action == 1:
            slot = -1
            for s in range(view.shape[0]):
                if view[s]["status"] == 0:
                    slot = s
                    break
            if slot < 0:  # no room to track it: undo the reservation, count, skip
                on_order_closed(rstate, inst, it["side"], it["qty_lot"])
                es[ES_DROPPED] += 1
                continue
            coid = es[ES_NEXT_ID]
            es[ES_NEXT_ID] = coid + 1
            v = view[slot]
            v["status"] = _PENDING_NEW
            v["side"] = it["side"]
            v["flags"] = it["flags"]
            v["instrument"] = inst
            v["client_order_id"] = coid
            v["price_tick"] = it["price_tick"]
            v["qty_lot"] = it["qty_lot"]
            v["filled_lot"] = 0
            v["ts_sent_ns"] = now
            es[ES_ORDERS] += 1
            es[ES_SUBMITTED_LOT] += it["qty_lot"]
        elif action == 2:
            view[slot]["status"] = _PENDING_CANCEL
            es[ES_CANCELS] += 1
        elif action == 3:
            es[ES_AMENDS] += 1
        else:
            for s in range(view.shape[0]):
                if view[s]["status"] != 0 and view[s]["instrument"] == inst:
                    view[s]["status"] = _PENDING_CANCEL
            es[ES_CANCELS] += 1
        status = sv.submit(
            vs, req, lat_in, now, action, it["side"], it["flags"], inst, coid,
            it["price_tick"], it["qty_lot"],
        )  # fmt: skip
        if status != 0:
            es[ES_STATUS] = STOP_VENUE_ERROR


@kernel
def _on_response(r, es, view, rstate, pos_local) -> None:
    """Apply one venue response to the local order view, position and risk reservations."""
    kind = r["kind"]
    inst = r["instrument"]
    side = r["side"]
    slot = _view_slot(view, r["client_order_id"])
    status = r["status"]
    if kind == 2:  # FILL
        q = r["qty_lot"]
        pos_local[inst] += side * q
        closed = r["leaves_lot"] == 0
        on_fill(rstate, inst, side, q, closed)
        if slot >= 0:
            view[slot]["filled_lot"] = r["filled_lot"]
            if closed:
                view[slot]["status"] = 0
            elif view[slot]["status"] != _PENDING_CANCEL:
                view[slot]["status"] = _PARTIAL
    elif kind == 1:  # ORDER
        if status in (_OPEN, _PARTIAL):
            if slot >= 0:
                v = view[slot]
                old_leaves = v["qty_lot"] - v["filled_lot"]
                new_leaves = r["leaves_lot"]
                if v["price_tick"] != r["price_tick"] or old_leaves != new_leaves:
                    if v["status"] != _PENDING_NEW:  # an accepted amend
                        on_amend(rstate, inst, side, old_leaves, new_leaves)
                    v["price_tick"] = r["price_tick"]
                    v["qty_lot"] = r["qty_lot"]
                if v["status"] != _PENDING_CANCEL:
                    v["status"] = status
        else:  # CANCELLED, EXPIRED, REJECTED: release what is left
            if status == 7:
                es[ES_VENUE_REJECTS] += 1
            leaves = r["leaves_lot"] if status != 7 else r["qty_lot"]
            if slot >= 0:
                on_order_closed(rstate, inst, side, leaves)
                view[slot]["status"] = 0
    else:  # CANCEL_REJECT: the order filled (or changed) first
        es[ES_CANCEL_REJECTS] += 1
        if slot >= 0 and view[slot]["status"] == _PENDING_CANCEL:
            view[slot]["status"] = _PARTIAL if view[slot]["filled_lot"] > 0 else _OPEN


@kernel
def _sample(es, now, xstate, acct, iacct, vinst, mark, s_ts, s_equity, s_pos, s_mid, s_spread):
    """Record equity, positions, mids and spreads at ``now`` (exchange-side truth)."""
    k = es[ES_N_SAMPLES]
    if k >= s_ts.shape[0]:
        return
    equity = 0.0
    for inst in range(xstate.shape[0]):
        mid = sv.mid_tick(xstate, inst)
        if mid == mid:
            mark[inst] = mid
        pos = iacct[inst, st.I_POSITION]
        value = pos * mark[inst] * vinst[inst, st.VI_QUOTE_PER_TICK_LOT] if pos != 0 else 0.0
        equity += acct[inst, st.A_CASH] + value
        s_pos[k, inst] = pos
        s_mid[k, inst] = mid
        s_spread[k, inst] = xstate[inst, 2] - xstate[inst, 1] if mid == mid else np.nan
    s_ts[k] = now
    s_equity[k] = equity
    es[ES_N_SAMPLES] = k + 1


@inline_kernel
def _local_event(ev, li, lqty, lstate, sig, ring, ring_idx, sparams, batched) -> bool:
    """Apply event ``li`` to the local side; return whether the strategy should be woken."""
    e = ev[li]
    kind = e["kind"]
    inst = e["instrument"]
    flags = e["flags"]
    now = e["ts_local_ns"]
    boundary = (flags & _BATCH_END) != 0 or not batched
    if kind == 1 or kind == 2:
        apply_level(lqty, lstate, inst, kind - 1, e["price_tick"], e["qty_lot"])
    elif kind == 3:
        clear_book(lqty, lstate, inst)
    elif kind >= 4 and kind <= 6:
        if USES_SIGNALS:
            side = 1 if kind == 4 else (-1 if kind == 5 else 0)
            update_trade_signals(
                sig, ring, ring_idx, inst, now, side, e["price_tick"], e["qty_lot"], sparams
            )
    elif kind == 11:
        lstate[inst, ST_VALID] = 0
    # a crossed or locked book at a message end is out of sync until the next snapshot (the
    # sentinels NO_BID < every ask and NO_ASK > every bid make one comparison enough)
    if (
        boundary
        and kind <= 2
        and batched
        and lstate[inst, ST_BEST_BID] >= lstate[inst, ST_BEST_ASK]
    ):
        lstate[inst, ST_VALID] = 0
    if USES_SIGNALS and boundary and kind <= 3:
        update_book_signals(lqty, lstate, sig, inst, now, sparams)
    return boundary  # only a whole message is a consistent book (the contract: message ends)


@kernel
def _venue_run(
    ev, x, limit, next_sample, sample_ns, es, vs, vorders, active, xqty, xstate, resp,
    lat_out, vp, vinst, acct, iacct, fills, mark, s_ts, s_equity, s_pos, s_mid, s_spread,
    li, t_local, lqty, lstate, sig, ring, ring_idx, sparams, batched,
):  # fmt: skip
    """Apply venue events from ``x`` while their time is <= ``limit`` and no response appears.

    Samples are taken here, on the venue's clock (the state at each sample time). Timer-driven
    strategies (not ``WAKE_ON_EVENT``) also get each event applied to the local book in the same
    pass when the local side has caught up to it (``li == x``) and it is received by
    ``t_local``, the next time the strategy can wake: it would be applied before that wake
    anyway, and one pass over both books is cheaper than two. Return
    ``(x, li, next_sample, status)``.
    """
    n = ev.shape[0]
    n_inst = xstate.shape[0]
    tail = vs[st.VS_RESP_TAIL]
    status = STOP_DONE
    tx = ev[x]["ts_exch_ns"]
    prev_tl = ev[li - 1]["ts_local_ns"] if li > 0 else -_NO_TIME
    while True:
        e = ev[x]
        if e["instrument"] >= n_inst:  # checked here: kernels index without bounds
            status = STOP_BAD_INSTRUMENT
            break
        while next_sample <= tx and es[ES_N_SAMPLES] < s_ts.shape[0]:
            _sample(
                es, next_sample, xstate, acct, iacct, vinst, mark,
                s_ts, s_equity, s_pos, s_mid, s_spread,
            )  # fmt: skip
            next_sample += sample_ns
        _on_event(
            vs, e["kind"], e["instrument"], tx, e["price_tick"], e["qty_lot"], e["aux"],
            vorders, active, xqty, xstate, resp, lat_out, vp, vinst, acct, iacct, fills,
        )  # fmt: skip
        if not WAKE_ON_EVENT and li == x:
            tl = e["ts_local_ns"]
            if tl <= t_local:
                if tl < prev_tl:
                    status = STOP_UNSORTED
                    break
                _local_event(ev, li, lqty, lstate, sig, ring, ring_idx, sparams, batched)
                prev_tl = tl
                li += 1
        x += 1
        if x >= n or vs[st.VS_RESP_TAIL] != tail:
            break
        tx = ev[x]["ts_exch_ns"]
        if tx > limit:
            break
    return x, li, next_sample, status


@inline_kernel
def _catch_up(
    ev, li, i_end, t_limit, inclusive, lqty, lstate, sig, ring, ring_idx, sparams, batched
):  # fmt: skip
    """Apply local events from ``li`` (before index ``i_end``) up to local time ``t_limit``.

    Return ``(li, status)``.
    """
    prev = ev[li - 1]["ts_local_ns"] if li > 0 else -_NO_TIME
    while li < i_end:
        tl = ev[li]["ts_local_ns"]
        if tl > t_limit or (tl == t_limit and not inclusive):
            break
        if tl < prev:
            return li, STOP_UNSORTED
        prev = tl
        _local_event(ev, li, lqty, lstate, sig, ring, ring_idx, sparams, batched)
        li += 1
    return li, STOP_DONE


@kernel
def run_loop(
    ev, stop, es, xqty, xstate, lqty, lstate, sig, ring, ring_idx, sparams,
    vs, vorders, active, req, resp, lat_in, lat_out, vp, vinst, acct, iacct, fills,
    limits, rstate, rcounts, view, pos_local, params, istate, fstate, intents,
    mark, s_ts, s_equity, s_pos, s_mid, s_spread, sample_ns, fill_headroom,
) -> int:  # fmt: skip
    """Run until every event before local index ``stop`` is seen; return an ES_STATUS value.

    With ``WAKE_ON_EVENT`` the local events are scheduling points (the strategy may act on
    each). Without it nothing happens on the local side between the strategy's wakes, so local
    events are applied in a tight run just before each wake (the book it sees is exactly the
    same: every event received by then) and the venue runs uninterrupted in between.
    """
    n = ev.shape[0]
    batched = es[ES_BATCHED] != 0
    x = es[ES_X]
    li = es[ES_L]
    next_sample = es[ES_NEXT_SAMPLE_NS]
    status = STOP_DONE
    es[ES_STATUS] = STOP_DONE
    t_end = ev[stop - 1]["ts_local_ns"] if stop > 0 else -_NO_TIME
    while li < stop:
        if vs[st.VS_ERROR] != 0 or es[ES_STATUS] != STOP_DONE:
            status = STOP_VENUE_ERROR
            break
        if fills.shape[0] - vs[st.VS_N_FILLS] < fill_headroom:
            status = STOP_FILLS_FULL
            break
        tl = ev[li]["ts_local_ns"] if WAKE_ON_EVENT else t_end
        tx = ev[x]["ts_exch_ns"] if x < n else _NO_TIME
        tr = sv.next_request_ns(vs, req)
        tp = sv.next_response_ns(vs, resp)
        tw = istate[0] if istate[0] > 0 else _NO_TIME
        if not WAKE_ON_EVENT and min(min(tx, tr), min(tp, tw)) > t_end:
            li, status = _catch_up(
                ev, li, n, t_end, True, lqty, lstate, sig, ring, ring_idx, sparams, batched
            )
            if status != STOP_DONE:
                break
            continue
        if WAKE_ON_EVENT and (
            (x < n and tx <= tr and tx <= tp and tx <= tl and tx <= tw)
            or (tl < tr and tl < tp and tl <= tw)
        ):
            # market events on both sides, interleaved, until a request or response is due
            t_other = min(tr, tp)
            tail = vs[st.VS_RESP_TAIL]
            prev = ev[li - 1]["ts_local_ns"] if li > 0 else -_NO_TIME
            while True:
                if x < n and tx <= t_other and tx <= tl and tx <= tw:
                    e = ev[x]
                    if e["instrument"] >= xstate.shape[0]:
                        status = STOP_BAD_INSTRUMENT
                        break
                    while next_sample <= tx and es[ES_N_SAMPLES] < s_ts.shape[0]:
                        _sample(
                            es, next_sample, xstate, acct, iacct, vinst, mark,
                            s_ts, s_equity, s_pos, s_mid, s_spread,
                        )  # fmt: skip
                        next_sample += sample_ns
                    _on_event(
                        vs, e["kind"], e["instrument"], tx, e["price_tick"], e["qty_lot"],
                        e["aux"], vorders, active, xqty, xstate, resp, lat_out, vp, vinst, acct,
                        iacct, fills,
                    )  # fmt: skip
                    x += 1
                    tx = ev[x]["ts_exch_ns"] if x < n else _NO_TIME
                    if vs[st.VS_RESP_TAIL] != tail:
                        break  # a response is on its way: it may be due before the next event
                    continue
                if not (tl < t_other and tl <= tw):
                    break
                if tl < prev:
                    status = STOP_UNSORTED
                    break
                prev = tl
                wake = _local_event(ev, li, lqty, lstate, sig, ring, ring_idx, sparams, batched)
                li += 1
                if wake:
                    es[ES_NOW_NS] = tl
                    es[ES_DECIDES] += 1
                    n_int = _decide(
                        tl, _WAKE_EVENT, ev[li - 1]["instrument"], lqty, lstate, sig, view,
                        pos_local, params, istate, fstate, intents,
                    )  # fmt: skip
                    if 0 < istate[0] <= tl:  # a timer in the past would spin
                        istate[0] = tl + 1
                    tw = istate[0] if istate[0] > 0 else _NO_TIME
                    if n_int > 0:
                        _dispatch(
                            n_int, intents, tl, es, lstate, view, limits, rstate, rcounts, vs,
                            req, lat_in, vinst,
                        )  # fmt: skip
                        break  # requests were sent: they may be due before the next event
                if li >= stop:
                    break
                tl = ev[li]["ts_local_ns"]
            if status != STOP_DONE:
                break
            continue
        if tx <= tr and tx <= tp and tx <= tl and tx <= tw and x < n:
            t_local = -_NO_TIME
            if not WAKE_ON_EVENT:  # the next time the strategy can wake (see _venue_run)
                t_local = min(tw, tp - 1) if WAKE_ON_ORDER else tw
                li, status = _catch_up(
                    ev, li, x, t_local, True, lqty, lstate, sig, ring, ring_idx, sparams, batched
                )
                if status != STOP_DONE:
                    break
            x, li, next_sample, status = _venue_run(
                ev, x, min(min(tr, tp), min(tl, tw)), next_sample, sample_ns, es, vs, vorders,
                active, xqty, xstate, resp, lat_out, vp, vinst, acct, iacct, fills, mark,
                s_ts, s_equity, s_pos, s_mid, s_spread,
                li, t_local, lqty, lstate, sig, ring, ring_idx, sparams, batched,
            )  # fmt: skip
            if status != STOP_DONE:
                break
            continue
        if tr <= tp and tr <= tl and tr <= tw:
            sv.process_request(
                vs, req, vorders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
            )
            continue
        if tp <= tl and tp <= tw:
            r = resp[vs[st.VS_RESP_HEAD] & (resp.shape[0] - 1)]
            vs[st.VS_RESP_HEAD] += 1
            _on_response(r, es, view, rstate, pos_local)
            if not WAKE_ON_ORDER:
                continue
            if not WAKE_ON_EVENT:  # the strategy sees every event received before tp
                li, status = _catch_up(
                    ev, li, n, tp, False, lqty, lstate, sig, ring, ring_idx, sparams, batched
                )
            now = tp
            reason = _WAKE_ORDER
            inst = r["instrument"]
        else:
            if not WAKE_ON_EVENT:  # the strategy sees every event received up to tw
                li, status = _catch_up(
                    ev, li, n, tw, True, lqty, lstate, sig, ring, ring_idx, sparams, batched
                )
            istate[0] = 0
            now = tw
            reason = _WAKE_TIMER
            inst = -1
        if status != STOP_DONE:
            break
        es[ES_NOW_NS] = now
        es[ES_DECIDES] += 1
        n_int = _decide(
            now, reason, inst, lqty, lstate, sig, view, pos_local, params, istate, fstate, intents
        )
        if 0 < istate[0] <= now:  # a timer in the past would spin: move it forward
            istate[0] = now + 1
        if n_int > 0:
            _dispatch(
                n_int, intents, now, es, lstate, view, limits, rstate, rcounts, vs, req,
                lat_in, vinst,
            )  # fmt: skip
    es[ES_X] = x
    es[ES_L] = li
    es[ES_NEXT_SAMPLE_NS] = next_sample
    if status != STOP_DONE:
        es[ES_STATUS] = status
    return es[ES_STATUS]
