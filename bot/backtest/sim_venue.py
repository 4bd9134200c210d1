"""The simulated exchange: one matching model for backtests, paper trading and the demo.

It is a set of ``@njit`` kernels over preallocated arrays (``SimVenue`` allocates and holds
them), so the backtest loop calls them per event and the live ``sim`` venue can call them step by
step from asyncio. Nothing here knows about strategies or the local side: requests come in with
an arrival time, responses go out with a local arrival time.

Model
-----
* **Clocks and latency.** A request sent at local time ``t`` reaches the venue at
  ``t + lat_in[k]`` and its answers reach us at ``t_venue + lat_out[k]``; ``lat_*`` are constant
  (one value) or measured latencies used in turn (the start index comes from the seed). Each
  direction is one ordered connection (TCP): delivery times never decrease, so messages are never
  reordered. The venue's book (``xqty``/``xstate``) is its own copy, updated at exchange time.
* **Queue position.** A resting order joins behind the level's resting size. A trade at its level
  consumes the queue ahead first, then fills us. A size decrease at the level (a cancel) moves us
  up by a model: ``RISK_AVERSE`` (only trades advance us: ahead = min(ahead, level)) or
  ``PROBABILISTIC``, where the decrease comes from behind us with probability
  ``f(back) / (f(back) + f(front))``, ``f(x) = x ** power`` (power 1 = proportional), as in
  hftbacktest's ``ProbQueueModel``. Trades already counted are subtracted from the next decrease
  (the venue's book update after a trade reports the same size once more). Queue ahead is a
  float estimate (a model expectation, not a size we hold); fills are whole lots, rounded down.
  A cancel alone never fills us (hftbacktest lets the estimate go negative; we clamp at 0).
* **Trades of unknown side** (``TRADE_UNKNOWN``, e.g. a source without an aggressor flag)
  advance queues and fill like the others, with the side inferred from the price against the
  venue's book before the trade: at or above the best ask a buy, at or below the best bid a
  sell, inside the spread by the side of the mid; at the mid exactly (or with a side of the book
  empty) no side is inferred and the trade moves no queue (``sim_match.trade_side_kind``).
* **Fills.** A resting order fills when its queue ahead is exhausted by trades at its price, or
  completely when the price trades through it (a trade beyond its price, or the opposite best
  moving onto it). Maker fills are at the order's price.
* **Taking.** A marketable order walks the opposite side level by level up to its limit (MARKET:
  no limit) and fills at each level's price (slippage). The sizes taken are removed from the
  venue's book until the feed next sets that level (temporary impact): a second order cannot
  take the same size twice, and the feed's next update of the level restores what it reports.
  The rest of an IOC or MARKET order expires; the rest of a limit order rests. A post-only order
  that would cross is rejected (GTX).
* **Accounting** per instrument: position (lots), cash, fees, realised PnL by average cost, cost
  basis for unrealised PnL; optional funding on ``FUNDING_RATE`` events. Money is float64 in
  quote currency; prices and sizes stay int64.
* **Cancel races.** A cancel that arrives after the order filled is answered with a cancel-reject
  (``RESP_CANCEL_REJECT``); the fill was sent first, so the local side sees the fill, then the
  reject.
"""

from __future__ import annotations

import numpy as np

from bot.backtest.sim_match import (
    arrival_ns,
    level_at,
    mid_tick,
    next_ns,
    on_event,
    refresh_bounds,
    remove_active,
    respond,
    take,
)
from bot.backtest.sim_types import (
    _AMEND,
    _CANCEL,
    _CANCEL_ALL,
    _CANCELLED,
    _EXPIRED,
    _IOC,
    _MARKET,
    _NEW,
    _OPEN,
    _POST_ONLY,
    _REJECTED,
    N_ACCT,
    N_IACCT,
    N_VI,
    N_VS,
    NO_TIME,
    REQUEST_DTYPE,
    RESPONSE_DTYPE,
    SIM_FILL_DTYPE,
    VENUE_ORDER_DTYPE,
    VI_MAKER_FEE,
    VI_QUOTE_PER_TICK_LOT,
    VI_TAKER_FEE,
    VS_CANCEL_LOST,
    VS_ERROR,
    VS_LAST_REQ_TS,
    VS_LAT_IN_IDX,
    VS_LAT_OUT_IDX,
    VS_MAX_BUY,
    VS_MAX_SELL,
    VS_MIN_BUY,
    VS_MIN_SELL,
    VS_N_ACTIVE,
    VS_N_FILLS,
    VS_NOW_NS,
    VS_REJECTS,
    VS_REQ_HEAD,
    VS_REQ_TAIL,
    VS_RESP_HEAD,
    VS_RESP_TAIL,
    QueueModel,
    inline_kernel,
    kernel,
)
from bot.core.book import NO_ASK, NO_BID, ST_BEST_ASK, ST_BEST_BID, new_books

__all__ = [
    "SimVenue",
    "mid_tick",
    "next_request_ns",
    "next_response_ns",
    "on_event",
    "process_request",
    "submit",
]


@kernel
def submit(
    vs: np.ndarray,
    req: np.ndarray,
    lat_in: np.ndarray,
    now_ns: int,
    action: int,
    side: int,
    flags: int,
    inst: int,
    client_order_id: int,
    price_tick: int,
    qty_lot: int,
) -> int:
    """Send one request at local time ``now_ns``; return a VenueStatus."""
    cap = req.shape[0]
    tail = vs[VS_REQ_TAIL]
    if tail - vs[VS_REQ_HEAD] >= cap:
        return 1  # REQUEST_QUEUE_FULL
    ts = arrival_ns(vs, now_ns, VS_LAT_IN_IDX, VS_LAST_REQ_TS, lat_in)
    r = req[tail & (cap - 1)]
    r["ts_ns"] = ts
    r["action"] = action
    r["side"] = side
    r["flags"] = flags
    r["instrument"] = inst
    r["client_order_id"] = client_order_id
    r["price_tick"] = price_tick
    r["qty_lot"] = qty_lot
    vs[VS_REQ_TAIL] = tail + 1
    return 0


@inline_kernel
def next_request_ns(vs: np.ndarray, req: np.ndarray) -> int:
    """Return the venue arrival time of the oldest request in flight (``NO_TIME`` if none)."""
    return next_ns(vs, req, VS_REQ_HEAD, VS_REQ_TAIL)


@inline_kernel
def next_response_ns(vs: np.ndarray, resp: np.ndarray) -> int:
    """Return the local arrival time of the oldest response in flight (``NO_TIME`` if none)."""
    return next_ns(vs, resp, VS_RESP_HEAD, VS_RESP_TAIL)


@kernel
def _find_active(vs: np.ndarray, active: np.ndarray, orders: np.ndarray, coid: int) -> int:
    for k in range(vs[VS_N_ACTIVE]):
        if orders[active[k]]["client_order_id"] == coid:
            return k
    return -1


@kernel
def _free_slot(orders: np.ndarray) -> int:
    for s in range(orders.shape[0]):
        if orders[s]["status"] == 0:
            return s
    return -1


@kernel
def _crosses(xstate: np.ndarray, inst: int, side: int, px: int, market: bool) -> bool:
    if side == 1:
        ask = xstate[inst, ST_BEST_ASK]
        return ask != NO_ASK and (market or px >= ask)
    bid = xstate[inst, ST_BEST_BID]
    return bid != NO_BID and (market or px <= bid)


@kernel
def _rest(vs, active, orders, o, slot, xqty, xstate) -> None:
    """Put order ``o`` (in ``slot``) at the back of its level's queue."""
    side_idx = 0 if o["side"] == 1 else 1
    o["queue_ahead"] = float(level_at(xqty, xstate, o["instrument"], side_idx, o["price_tick"]))
    o["cum_trade_lot"] = 0
    o["ts_rest_ns"] = vs[VS_NOW_NS]
    if slot >= 0:
        active[vs[VS_N_ACTIVE]] = slot
        vs[VS_N_ACTIVE] += 1
    refresh_bounds(vs, active, orders)


@kernel
def process_request(
    vs, req, orders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
) -> int:
    """Handle the oldest request in flight at its arrival time; return a VenueStatus."""
    r = req[vs[VS_REQ_HEAD] & (req.shape[0] - 1)]
    vs[VS_REQ_HEAD] += 1
    vs[VS_NOW_NS] = max(vs[VS_NOW_NS], r["ts_ns"])
    action = r["action"]
    inst = r["instrument"]
    scratch = orders[orders.shape[0] - 1]  # never active: carries answers about unknown orders
    scratch["client_order_id"] = r["client_order_id"]
    scratch["instrument"] = inst
    scratch["side"] = r["side"]
    scratch["price_tick"] = r["price_tick"]
    scratch["qty_lot"] = r["qty_lot"]
    scratch["leaves_lot"] = 0
    scratch["filled_lot"] = 0
    if action == _NEW:
        _new_order(vs, r, orders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills)
    elif action == _CANCEL:
        k = _find_active(vs, active, orders, r["client_order_id"])
        if k < 0:
            vs[VS_CANCEL_LOST] += 1
            respond(vs, resp, lat_out, 3, scratch, 0, 65)  # CANCEL_REJECT, UNKNOWN_ORDER
        else:
            _cancel_at(vs, active, orders, k, resp, lat_out)
    elif action == _CANCEL_ALL:
        k = vs[VS_N_ACTIVE] - 1
        while k >= 0:
            if orders[active[k]]["instrument"] == inst:
                _cancel_at(vs, active, orders, k, resp, lat_out)
            k -= 1
    elif action == _AMEND:
        k = _find_active(vs, active, orders, r["client_order_id"])
        if k < 0:
            vs[VS_CANCEL_LOST] += 1
            respond(vs, resp, lat_out, 3, scratch, 0, 65)
        else:
            _amend_at(
                vs, r, active, orders, k, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills
            )
    return vs[VS_ERROR]


@kernel
def _cancel_at(vs, active, orders, k, resp, lat_out) -> None:
    o = orders[active[k]]
    respond(vs, resp, lat_out, 1, o, _CANCELLED, 0)
    o["status"] = 0
    remove_active(vs, active, orders, k)


@kernel
def _new_order(vs, r, orders, active, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills):
    slot = _free_slot(orders[: orders.shape[0] - 1])
    scratch = orders[orders.shape[0] - 1]
    if slot < 0:
        vs[VS_REJECTS] += 1
        respond(vs, resp, lat_out, 1, scratch, _REJECTED, 67)  # TOO_MANY_ORDERS
        return
    o = orders[slot]
    o["client_order_id"] = r["client_order_id"]
    o["instrument"] = r["instrument"]
    o["side"] = r["side"]
    o["flags"] = r["flags"]
    o["price_tick"] = r["price_tick"]
    o["qty_lot"] = r["qty_lot"]
    o["leaves_lot"] = r["qty_lot"]
    o["filled_lot"] = 0
    o["queue_ahead"] = 0.0
    o["cum_trade_lot"] = 0
    o["ts_rest_ns"] = vs[VS_NOW_NS]
    flags = r["flags"]
    market = (flags & _MARKET) != 0
    crosses = _crosses(xstate, r["instrument"], r["side"], r["price_tick"], market)
    if (flags & _POST_ONLY) != 0 and crosses:
        vs[VS_REJECTS] += 1
        respond(vs, resp, lat_out, 1, o, _REJECTED, 64)  # POST_ONLY
        return  # slot stays free (status 0)
    if market and not crosses:
        vs[VS_REJECTS] += 1
        respond(vs, resp, lat_out, 1, o, _REJECTED, 66)  # NO_LIQUIDITY
        return
    o["status"] = _OPEN
    respond(vs, resp, lat_out, 1, o, _OPEN, 0)
    if crosses:
        take(vs, o, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills)
    if o["leaves_lot"] == 0:
        o["status"] = 0
    elif market or (flags & _IOC) != 0:
        respond(vs, resp, lat_out, 1, o, _EXPIRED, 0)
        o["status"] = 0
    else:
        _rest(vs, active, orders, o, slot, xqty, xstate)


@kernel
def _amend_at(vs, r, active, orders, k, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills):
    """Amend: same price and a smaller size keeps priority; anything else re-queues."""
    o = orders[active[k]]
    new_leaves = r["qty_lot"]
    new_px = r["price_tick"]
    if new_leaves <= 0:
        _cancel_at(vs, active, orders, k, resp, lat_out)
        return
    if new_px == o["price_tick"] and new_leaves <= o["leaves_lot"]:
        o["leaves_lot"] = new_leaves
        o["qty_lot"] = o["filled_lot"] + new_leaves
        respond(vs, resp, lat_out, 1, o, o["status"], 0)
        return
    crosses = _crosses(xstate, o["instrument"], o["side"], new_px, False)
    if (o["flags"] & _POST_ONLY) != 0 and crosses:
        vs[VS_REJECTS] += 1
        respond(vs, resp, lat_out, 3, o, o["status"], 64)  # amend rejected, order unchanged
        return
    o["price_tick"] = new_px
    o["leaves_lot"] = new_leaves
    o["qty_lot"] = o["filled_lot"] + new_leaves
    respond(vs, resp, lat_out, 1, o, o["status"], 0)
    if crosses:
        take(vs, o, xqty, xstate, resp, lat_out, vinst, acct, iacct, fills)
    if o["leaves_lot"] == 0:
        o["status"] = 0
        remove_active(vs, active, orders, k)
    else:
        _rest(vs, active, orders, o, -1, xqty, xstate)


class SimVenue:
    """The venue's arrays, allocated once (backtest engine, ``sim`` venue, tests)."""

    def __init__(
        self,
        n_instruments: int,
        *,
        quote_per_tick_lot: np.ndarray,
        maker_fee: np.ndarray,
        taker_fee: np.ndarray,
        lat_in_ns: np.ndarray,
        lat_out_ns: np.ndarray,
        queue_model: QueueModel = QueueModel.PROBABILISTIC,
        power: float = 2.0,
        funding: bool = False,
        max_orders: int = 256,
        queue_capacity: int = 4096,
        fills_capacity: int = 65536,
        window: int = 1 << 16,
        latency_offset: int = 0,
    ) -> None:
        if queue_capacity < 2 or queue_capacity & (queue_capacity - 1):
            raise ValueError(f"queue capacity must be a power of two, got {queue_capacity}")
        if power <= 0:
            raise ValueError(f"queue power must be > 0, got {power}")
        for name, lat in (("lat_in_ns", lat_in_ns), ("lat_out_ns", lat_out_ns)):
            if lat.ndim != 1 or lat.size == 0 or (lat < 0).any():
                raise ValueError(f"{name}: need at least one latency, all >= 0")
        self.vs = np.zeros(N_VS, dtype=np.int64)
        self.vs[VS_LAT_IN_IDX] = latency_offset % lat_in_ns.size
        self.vs[VS_LAT_OUT_IDX] = latency_offset % lat_out_ns.size
        self.vs[VS_NOW_NS] = -NO_TIME
        self.vs[VS_MIN_BUY] = NO_ASK
        self.vs[VS_MAX_BUY] = NO_BID
        self.vs[VS_MIN_SELL] = NO_ASK
        self.vs[VS_MAX_SELL] = NO_BID
        self.orders = np.zeros(max_orders + 1, dtype=VENUE_ORDER_DTYPE)  # last row: scratch
        self.active = np.zeros(max_orders, dtype=np.int64)
        self.req = np.zeros(queue_capacity, dtype=REQUEST_DTYPE)
        self.resp = np.zeros(queue_capacity, dtype=RESPONSE_DTYPE)
        self.lat_in = np.ascontiguousarray(lat_in_ns, dtype=np.int64)
        self.lat_out = np.ascontiguousarray(lat_out_ns, dtype=np.int64)
        self.vp = np.array([int(queue_model), power, 1.0 if funding else 0.0])
        self.vinst = np.zeros((n_instruments, N_VI))
        self.vinst[:, VI_QUOTE_PER_TICK_LOT] = quote_per_tick_lot
        self.vinst[:, VI_MAKER_FEE] = maker_fee
        self.vinst[:, VI_TAKER_FEE] = taker_fee
        self.acct = np.zeros((n_instruments, N_ACCT))
        self.iacct = np.zeros((n_instruments, N_IACCT), dtype=np.int64)
        self.fills = np.zeros(fills_capacity, dtype=SIM_FILL_DTYPE)
        self.xqty, self.xstate = new_books(n_instruments, window)

    def send(
        self,
        now_ns: int,
        action: int,
        side: int,
        inst: int,
        client_order_id: int,
        price_tick: int = 0,
        qty_lot: int = 0,
        flags: int = 0,
    ) -> None:
        """Send one request at local time ``now_ns`` (step-by-step use, e.g. the live sim venue)."""
        status = submit(
            self.vs, self.req, self.lat_in, now_ns, action, side, flags, inst, client_order_id,
            price_tick, qty_lot,
        )  # fmt: skip
        if status != 0:
            raise RuntimeError("simulated venue: request queue full")

    def market_event(self, row: np.void) -> None:
        """Apply one market event row (EVENT_DTYPE) at the venue, at its exchange time."""
        self.process_until(int(row["ts_exch_ns"]) - 1)
        on_event(
            self.vs, row["kind"], row["instrument"], row["ts_exch_ns"], row["price_tick"],
            row["qty_lot"], row["aux"], self.orders, self.active, self.xqty, self.xstate,
            self.resp, self.lat_out, self.vp, self.vinst, self.acct, self.iacct, self.fills,
        )  # fmt: skip

    def process_until(self, ts_ns: int) -> None:
        """Handle every request that reaches the venue by exchange time ``ts_ns``."""
        while next_request_ns(self.vs, self.req) <= ts_ns:
            process_request(
                self.vs, self.req, self.orders, self.active, self.xqty, self.xstate, self.resp,
                self.lat_out, self.vinst, self.acct, self.iacct, self.fills,
            )  # fmt: skip

    def responses_until(self, ts_ns: int) -> np.ndarray:
        """Pop (a copy of) every response that reaches us by local time ``ts_ns``, oldest first."""
        out = []
        mask = self.resp.shape[0] - 1
        while next_response_ns(self.vs, self.resp) <= ts_ns:
            out.append(self.resp[self.vs[VS_RESP_HEAD] & mask].copy())
            self.vs[VS_RESP_HEAD] += 1
        return np.array(out, dtype=RESPONSE_DTYPE)

    def grow_fills(self) -> None:
        """Double the fill buffer (between loop chunks)."""
        bigger = np.zeros(self.fills.shape[0] * 2, dtype=SIM_FILL_DTYPE)
        bigger[: self.fills.shape[0]] = self.fills
        self.fills = bigger

    def fill_rows(self) -> np.ndarray:
        """Return the fills recorded so far."""
        return self.fills[: self.vs[VS_N_FILLS]]
