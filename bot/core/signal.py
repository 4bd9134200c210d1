"""Order-book and trade signals as numba kernels over one float64 row per instrument.

Signals are derived numbers (floats are fine here: nothing is priced or sized from them without
going back through ticks). ``sig[inst, SIG_*]`` holds the outputs and the running state:

* ``SIG_MID_TICK``: (best bid + best ask) / 2, in ticks.
* ``SIG_MICRO_TICK``: microprice, the touch prices weighted by the opposite side's size,
  ``(bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)`` (Stoikov 2018's first-order form).
* ``SIG_SPREAD_TICK``: best ask - best bid, in ticks.
* ``SIG_IMBALANCE``: ``(B - A) / (B + A)`` over the sizes of the best ``levels`` levels, in [-1, 1].
* ``SIG_VOL``: EWMA volatility of mid log-returns per sqrt(second). Each mid change adds ``r**2``
  and its elapsed time ``dt`` to two EWMAs with the same time decay ``exp(-dt / tau_vol)``;
  their ratio is a variance *rate*, so the figure does not depend on how often the book ticks.
* ``SIG_FLOW``: trade-flow imbalance, ``EWMA(signed volume) / EWMA(volume)`` with time decay
  ``exp(-dt / tau_flow)``, in [-1, 1] (+1: only aggressive buying lately).
* ``SIG_VWAP_TICK``: VWAP of the trades of the last ``vwap_window`` seconds (bounded by the ring
  capacity: the oldest trades leave first when the ring is full).
* ``SIG_VALID``: 1.0 when the book is two-sided, not crossed and in sync, else 0.0.
* ``SIG_LAST_TRADE_TICK`` / ``SIG_LAST_TRADE_LOT`` / ``SIG_LAST_TRADE_SIDE``: the last public
  trade (price, size, aggressor side +1/-1/0); ``SIG_TRADE_COUNT``: trades seen so far;
  ``SIG_TRADE_VOLUME_LOT``: their total size. A strategy compares the count with the one it
  saw last to know a trade arrived (bars, trade-driven logic; see ``bot.core.strategy_api``).

The book kernels give the inputs; ``update_book_signals`` runs after a message (BATCH_END) and
``update_trade_signals`` per trade. Nothing allocates.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from bot.core.book import (
    ASK,
    BID,
    NO_ASK,
    NO_BID,
    ST_BEST_ASK,
    ST_BEST_BID,
    ST_VALID,
    depth_sum,
    level_qty,
)

SIG_MID_TICK = 0
SIG_MICRO_TICK = 1
SIG_SPREAD_TICK = 2
SIG_IMBALANCE = 3
SIG_VOL = 4
SIG_FLOW = 5
SIG_VWAP_TICK = 6
SIG_VALID = 7
# running state
_S_LAST_MID = 8
_S_LAST_MID_NS = 9
_S_EW_R2 = 10
_S_EW_DT = 11
_S_FLOW_SIGNED = 12
_S_FLOW_TOTAL = 13
_S_FLOW_NS = 14
_S_VWAP_PQ = 15
_S_VWAP_Q = 16
# appended after the running state (columns are never reordered)
SIG_LAST_TRADE_TICK = 17
SIG_LAST_TRADE_LOT = 18
SIG_LAST_TRADE_SIDE = 19
SIG_TRADE_COUNT = 20
SIG_TRADE_VOLUME_LOT = 21
N_SIG = 22

SIGNAL_NAMES = (
    "mid_tick",
    "micro_tick",
    "spread_tick",
    "imbalance",
    "vol",
    "flow",
    "vwap_tick",
    "valid",
)

# parameter slots
P_LEVELS = 0
P_TAU_VOL_S = 1
P_TAU_FLOW_S = 2
P_VWAP_WINDOW_S = 3
N_PARAMS = 4

# ring columns
_R_TS = 0
_R_PQ = 1
_R_Q = 2


def signal_params(
    levels: int = 5, tau_vol_s: float = 60.0, tau_flow_s: float = 10.0, vwap_window_s: float = 60.0
) -> np.ndarray:
    """Return the parameter array the signal kernels take (validated here, not in the kernel)."""
    if levels < 1:
        raise ValueError(f"levels must be >= 1, got {levels}")
    for name, value in (
        ("tau_vol_s", tau_vol_s),
        ("tau_flow_s", tau_flow_s),
        ("vwap_window_s", vwap_window_s),
    ):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    return np.array([levels, tau_vol_s, tau_flow_s, vwap_window_s], dtype=np.float64)


def new_signals(
    n_instruments: int, vwap_capacity: int = 1024
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Allocate signal state: ``(sig[n, N_SIG], ring[n, capacity, 3], ring_idx[n, 2])``."""
    if vwap_capacity < 1:
        raise ValueError("vwap_capacity must be >= 1")
    sig = np.zeros((n_instruments, N_SIG), dtype=np.float64)
    sig[:, SIG_MID_TICK] = np.nan
    sig[:, SIG_MICRO_TICK] = np.nan
    sig[:, SIG_SPREAD_TICK] = np.nan
    sig[:, SIG_VWAP_TICK] = np.nan
    sig[:, _S_LAST_MID] = np.nan
    sig[:, SIG_LAST_TRADE_TICK] = np.nan
    ring = np.zeros((n_instruments, vwap_capacity, 3), dtype=np.float64)
    ring_idx = np.zeros((n_instruments, 2), dtype=np.int64)  # head (next write), count
    return sig, ring, ring_idx


@njit(cache=True, nogil=True, inline="always")
def update_book_signals(
    qty: np.ndarray,
    book_state: np.ndarray,
    sig: np.ndarray,
    inst: int,
    ts_ns: int,
    params: np.ndarray,
) -> None:
    """Recompute the book signals of ``inst`` at time ``ts_ns`` (after a whole message)."""
    bid = book_state[inst, ST_BEST_BID]
    ask = book_state[inst, ST_BEST_ASK]
    if bid == NO_BID or ask == NO_ASK or bid >= ask or book_state[inst, ST_VALID] == 0:
        sig[inst, SIG_VALID] = 0.0
        return
    bid_qty = level_qty(qty, book_state, inst, BID, bid)
    ask_qty = level_qty(qty, book_state, inst, ASK, ask)
    mid = 0.5 * (bid + ask)
    sig[inst, SIG_VALID] = 1.0
    sig[inst, SIG_MID_TICK] = mid
    sig[inst, SIG_SPREAD_TICK] = ask - bid
    sig[inst, SIG_MICRO_TICK] = (bid * ask_qty + ask * bid_qty) / (bid_qty + ask_qty)

    # top-N imbalance: the best N levels of each side, window and overflow alike
    levels = int(params[P_LEVELS])
    total_bid = depth_sum(qty, book_state, inst, BID, levels)
    total_ask = depth_sum(qty, book_state, inst, ASK, levels)
    sig[inst, SIG_IMBALANCE] = (total_bid - total_ask) / (total_bid + total_ask)

    # EWMA volatility of mid log-returns, as a variance rate
    last_mid = sig[inst, _S_LAST_MID]
    if math.isnan(last_mid):
        sig[inst, _S_LAST_MID] = mid
        sig[inst, _S_LAST_MID_NS] = ts_ns
    elif mid != last_mid:
        dt_s = (ts_ns - sig[inst, _S_LAST_MID_NS]) * 1e-9
        if dt_s > 0.0:
            r = math.log(mid / last_mid)
            decay = math.exp(-dt_s / params[P_TAU_VOL_S])
            ew_r2 = decay * sig[inst, _S_EW_R2] + (1.0 - decay) * r * r
            ew_dt = decay * sig[inst, _S_EW_DT] + (1.0 - decay) * dt_s
            sig[inst, _S_EW_R2] = ew_r2
            sig[inst, _S_EW_DT] = ew_dt
            sig[inst, SIG_VOL] = math.sqrt(ew_r2 / ew_dt)
            sig[inst, _S_LAST_MID] = mid
            sig[inst, _S_LAST_MID_NS] = ts_ns


@njit(cache=True, nogil=True, inline="always")
def update_trade_signals(
    sig: np.ndarray,
    ring: np.ndarray,
    ring_idx: np.ndarray,
    inst: int,
    ts_ns: int,
    side: int,
    price_tick: int,
    qty_lot: int,
    params: np.ndarray,
) -> None:
    """Fold one trade (``side`` +1 aggressive buy, -1 sell, 0 unknown) into flow and VWAP."""
    if qty_lot <= 0:
        return
    sig[inst, SIG_LAST_TRADE_TICK] = price_tick
    sig[inst, SIG_LAST_TRADE_LOT] = qty_lot
    sig[inst, SIG_LAST_TRADE_SIDE] = side
    sig[inst, SIG_TRADE_COUNT] += 1.0
    sig[inst, SIG_TRADE_VOLUME_LOT] += qty_lot
    # trade-flow imbalance with time decay
    last_ns = sig[inst, _S_FLOW_NS]
    decay = 1.0
    if sig[inst, _S_FLOW_TOTAL] > 0.0 and ts_ns > last_ns:
        decay = math.exp(-(ts_ns - last_ns) * 1e-9 / params[P_TAU_FLOW_S])
    signed = decay * sig[inst, _S_FLOW_SIGNED] + side * qty_lot
    total = decay * sig[inst, _S_FLOW_TOTAL] + qty_lot
    sig[inst, _S_FLOW_SIGNED] = signed
    sig[inst, _S_FLOW_TOTAL] = total
    sig[inst, _S_FLOW_NS] = max(ts_ns, last_ns)
    sig[inst, SIG_FLOW] = signed / total

    # rolling VWAP over a time window, ring buffer of (ts, price*qty, qty)
    capacity = ring.shape[1]
    head = ring_idx[inst, 0]
    count = ring_idx[inst, 1]
    pq = float(price_tick) * float(qty_lot)
    if count == capacity:  # full: the oldest trade leaves
        oldest = (head - count) % capacity
        sig[inst, _S_VWAP_PQ] -= ring[inst, oldest, _R_PQ]
        sig[inst, _S_VWAP_Q] -= ring[inst, oldest, _R_Q]
        count -= 1
    ring[inst, head, _R_TS] = ts_ns
    ring[inst, head, _R_PQ] = pq
    ring[inst, head, _R_Q] = qty_lot
    head = (head + 1) % capacity
    count += 1
    sig[inst, _S_VWAP_PQ] += pq
    sig[inst, _S_VWAP_Q] += qty_lot
    horizon = ts_ns - params[P_VWAP_WINDOW_S] * 1e9
    while count > 1:
        oldest = (head - count) % capacity
        if ring[inst, oldest, _R_TS] >= horizon:
            break
        sig[inst, _S_VWAP_PQ] -= ring[inst, oldest, _R_PQ]
        sig[inst, _S_VWAP_Q] -= ring[inst, oldest, _R_Q]
        count -= 1
    if count == 1:  # re-anchor the running sums so float error cannot accumulate
        last = (head - 1) % capacity
        sig[inst, _S_VWAP_PQ] = ring[inst, last, _R_PQ]
        sig[inst, _S_VWAP_Q] = ring[inst, last, _R_Q]
    ring_idx[inst, 0] = head
    ring_idx[inst, 1] = count
    sig[inst, SIG_VWAP_TICK] = sig[inst, _S_VWAP_PQ] / sig[inst, _S_VWAP_Q]


def snapshot(sig: np.ndarray, inst: int = 0) -> dict[str, float]:
    """Return the public signals of ``inst`` as a dict (for tools and the demo)."""
    return {name: float(sig[inst, k]) for k, name in enumerate(SIGNAL_NAMES)}
