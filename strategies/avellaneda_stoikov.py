"""Avellaneda-Stoikov market maker, with the Gueant-Lehalle-Fernandez-Tapia infinite horizon.

The maker quotes a bid and an ask around a *reservation price* rather than the mid: holding
inventory ``q`` (in quote sizes, ``position_lot / qty_lot``) exposes it to price moves, so it
shades both quotes against its inventory (long: lower quotes, to sell more and buy less). The
quotes are as wide as the balance between the fill rate (wider quotes fill less) and inventory
risk dictates. Prices are in ticks throughout:

* ``s`` the mid, ``sigma`` the volatility in ticks per sqrt(second): the EWMA signal
  ``SIG_VOL`` is a *relative* figure (log-return per sqrt(second)), so ``sigma = SIG_VOL * s``
  (floored by ``vol_floor_bps_per_sqrt_s`` until the signal has warmed up);
* ``gamma`` risk aversion per tick, ``kappa`` the decay of the fill intensity with distance from
  the mid, ``lambda(delta) = A * exp(-kappa * delta)`` fills per second at ``delta`` ticks.

``model: finite`` (Avellaneda & Stoikov 2008, "High-frequency trading in a limit order book",
Quantitative Finance 8(3)), over a trading session of ``horizon_s`` seconds that restarts when it
ends (``tau = T - t`` counts down to 0 in each session)::

    r     = s - q * gamma * sigma**2 * tau
    delta = gamma * sigma**2 * tau + (2 / gamma) * ln(1 + gamma / kappa)   (bid-ask spread)

``model: infinite`` (Gueant, Lehalle & Fernandez-Tapia 2013, "Dealing with the inventory risk: a
solution to the market making problem", Math. Financ. Econ. 7; their closed-form
approximation), with no horizon::

    c1 = ln(1 + gamma / kappa) / gamma
    c2 = sqrt(sigma**2 * gamma / (2 * A * kappa) * (1 + gamma / kappa) ** (1 + kappa / gamma))
    bid = s - c1 - (2q + 1) / 2 * c2        ask = s + c1 - (2q - 1) / 2 * c2
    (so r = s - q * c2 and the spread is 2 * c1 + c2)

The spread is clamped to [``min_spread_ticks``, ``max_spread_ticks``]; the bid is rounded down
and the ask up to whole ticks and never placed through the opposite touch. A resting quote within
``requote_ticks`` of its new target is kept (no cancel/replace churn on sub-tick moves, and the
queue position survives). Once a bid fill would take it beyond ``max_inventory_lot`` long it
stops bidding (short: stops offering), and it sends a new quote only while its position plus
every open order of that side (cancels on their way included, as pre-trade risk counts them)
stays within that bound. It quotes nothing, pulling what rests, while the book is invalid or
trading is halted.

**kappa from fills** (``estimate_kappa: true``): the quoted distance of each side, rounded to a
whole tick, falls in a bin; every timer call adds the elapsed time to the exposure of the two
bins quoted, every fill (a change of ``position_lot``) adds one to the bin its side was quoted
in, and both decay with a half-life of ``estimator_half_life_s``. A log-linear fit of the fill
rate ``fills_b / exposure_b`` against the distance ``b``, weighted by ``fills_b`` (about the
inverse variance of a log Poisson rate), gives ``-kappa`` as its slope and ``ln A`` as its
intercept. Bins without fills are left out; until ``estimator_min_fills`` fills have been seen in
at least two bins, the configured ``kappa_per_tick`` and ``arrival_rate_per_s`` are used, and the
estimate is clamped to [``kappa_min_per_tick``, ``kappa_max_per_tick``].

It trades one instrument and wakes on its timer (every ``interval_ms``) and on fills.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID
from bot.core.signal import SIG_MID_TICK, SIG_VOL
from bot.core.strategy_api import ISTATE_WAKE_NS
from strategies._kernels import (
    BUY,
    POST_ONLY,
    SELL,
    WAKE_EVENT,
    WAKE_TIMER,
    can_trade,
    cancel_all,
    keep_quote,
    room_lot,
)

NAME = "avellaneda_stoikov"
USES_SIGNALS = True
"""Needs the EWMA volatility and the mid."""
WAKE_ON_EVENT = False
"""Requotes on its timer: a market event alone does not call it."""
WAKE_ON_ORDER = True
"""Fills feed the kappa estimator as they arrive."""

N_BINS = 32
"""Distance bins of the kappa estimator (0 .. N_BINS - 1 ticks; farther quotes share the last)."""


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Avellaneda-Stoikov quoting parameters (``RELOADABLE`` lists what a hot reload may change)."""

    RELOADABLE: ClassVar[frozenset[str]] = frozenset(
        {
            "gamma_per_tick", "kappa_per_tick", "arrival_rate_per_s", "estimate_kappa",
            "kappa_min_per_tick", "kappa_max_per_tick", "estimator_min_fills", "horizon_s",
            "vol_floor_bps_per_sqrt_s", "qty_lot", "max_inventory_lot", "min_spread_ticks",
            "max_spread_ticks", "requote_ticks", "interval_ms", "post_only",
        }
    )  # fmt: skip
    """Everything but ``model`` and the estimator's half-life (they change what state means)."""

    model: Literal["finite", "infinite"] = "finite"
    """``finite``: Avellaneda-Stoikov over ``horizon_s`` sessions; ``infinite``: GLFT."""
    gamma_per_tick: Annotated[float, msgspec.Meta(gt=0, le=100)] = 0.05
    """Risk aversion, per tick of P&L per quote size of inventory."""
    kappa_per_tick: Annotated[float, msgspec.Meta(gt=0, le=100)] = 0.5
    """Decay of the fill intensity with distance from the mid (configured or starting value)."""
    arrival_rate_per_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """``A``: fill intensity at the mid, fills per second (the infinite-horizon form uses it)."""
    estimate_kappa: bool = False
    """Estimate kappa and A online from our fills (see the module doc)."""
    kappa_min_per_tick: Annotated[float, msgspec.Meta(gt=0)] = 0.01
    kappa_max_per_tick: Annotated[float, msgspec.Meta(gt=0)] = 10.0
    estimator_min_fills: Annotated[int, msgspec.Meta(ge=2)] = 20
    estimator_half_life_s: Annotated[float, msgspec.Meta(gt=0)] = 600.0
    horizon_s: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    """Length of one finite-horizon session, seconds (``T``; the clock restarts each session)."""
    vol_floor_bps_per_sqrt_s: Annotated[float, msgspec.Meta(ge=0)] = 0.1
    """Lower bound of sigma (basis points per sqrt(second)) while the EWMA warms up."""
    qty_lot: Annotated[int, msgspec.Meta(gt=0)] = 1
    """Size of each quote, in lots (also the inventory unit ``q``)."""
    max_inventory_lot: Annotated[int, msgspec.Meta(gt=0)] = 10
    """At this position (long or short) only the side that reduces it is quoted."""
    min_spread_ticks: Annotated[int, msgspec.Meta(ge=1)] = 1
    max_spread_ticks: Annotated[int, msgspec.Meta(ge=1)] = 1000
    requote_ticks: Annotated[int, msgspec.Meta(ge=0)] = 1
    """A resting quote within this many ticks of its new target is left alone."""
    interval_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] = 100.0
    """Time between two requotes, milliseconds of local time."""
    post_only: bool = True

    def __post_init__(self) -> None:
        if self.min_spread_ticks > self.max_spread_ticks:
            raise ValueError("min_spread_ticks must be <= max_spread_ticks")
        if self.kappa_min_per_tick > self.kappa_max_per_tick:
            raise ValueError("kappa_min_per_tick must be <= kappa_max_per_tick")


# params array layout
P_MODEL = 0  # 0 finite, 1 infinite
P_GAMMA = 1
P_KAPPA = 2
P_A = 3
P_ESTIMATE = 4
P_KAPPA_MIN = 5
P_KAPPA_MAX = 6
P_MIN_FILLS = 7
P_HALF_LIFE_S = 8
P_HORIZON_S = 9
P_VOL_FLOOR = 10  # relative, per sqrt(second)
P_QTY_LOT = 11
P_MAX_INV_LOT = 12
P_MIN_SPREAD = 13
P_MAX_SPREAD = 14
P_REQUOTE = 15
P_INTERVAL_NS = 16
P_POST_ONLY = 17
P_INST = 18
N_PARAMS = 19

# istate slots (0 and 1 are the engine's)
I_T0_NS = 2
I_LAST_POS = 3
I_BID_BIN = 4
I_ASK_BIN = 5
I_LAST_NS = 6
ISTATE_SIZE = 7
# fstate slots
F_KAPPA = 0  # kappa and A in use (configured, or estimated)
F_A = 1
F_RESERVATION = 2  # last reservation price and spread, ticks (for tests and inspection)
F_SPREAD = 3
F_EXPOSURE = 4
F_FILLS = F_EXPOSURE + N_BINS
FSTATE_SIZE = F_FILLS + N_BINS


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return the params array for ``decide`` (one traded instrument)."""
    if len(instruments) != 1:
        raise ValueError(f"avellaneda_stoikov trades one instrument, got {len(instruments)}")
    p = params
    return np.array(
        [
            1.0 if p.model == "infinite" else 0.0, p.gamma_per_tick, p.kappa_per_tick,
            p.arrival_rate_per_s, 1.0 if p.estimate_kappa else 0.0, p.kappa_min_per_tick,
            p.kappa_max_per_tick, p.estimator_min_fills, p.estimator_half_life_s, p.horizon_s,
            p.vol_floor_bps_per_sqrt_s * 1e-4, p.qty_lot, p.max_inventory_lot,
            p.min_spread_ticks, p.max_spread_ticks, p.requote_ticks, p.interval_ms * 1e6,
            1.0 if p.post_only else 0.0, instruments[0],
        ],
        dtype=np.float64,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def quotes(mid, sigma, q, tau_s, gamma, kappa, a, infinite):
    """Return ``(reservation, spread)`` in ticks (sigma in ticks per sqrt(second))."""
    base = math.log(1.0 + gamma / kappa) / gamma
    if infinite:
        c2 = math.sqrt(
            sigma
            * sigma
            * gamma
            / (2.0 * a * kappa)
            * (1.0 + gamma / kappa) ** (1.0 + kappa / gamma)
        )
        return mid - q * c2, 2.0 * base + c2
    risk = gamma * sigma * sigma * tau_s
    return mid - q * risk, risk + 2.0 * base


@njit(cache=True, nogil=True)
def _estimate(params, fstate) -> None:
    """Refit kappa and A from the binned fills (weighted log-linear least squares)."""
    kappa = params[P_KAPPA]
    a = params[P_A]
    if params[P_ESTIMATE] != 0.0:
        sw = swx = swy = swxx = swxy = 0.0
        bins = 0
        for b in range(N_BINS):
            fills = fstate[F_FILLS + b]
            expo = fstate[F_EXPOSURE + b]
            if fills > 0.0 and expo > 0.0:
                y = math.log(fills / expo)
                sw += fills
                swx += fills * b
                swy += fills * y
                swxx += fills * b * b
                swxy += fills * b * y
                bins += 1
        den = sw * swxx - swx * swx
        if bins >= 2 and sw >= params[P_MIN_FILLS] and den > 0.0:
            slope = (sw * swxy - swx * swy) / den
            intercept = (swy - slope * swx) / sw
            kappa = min(max(-slope, params[P_KAPPA_MIN]), params[P_KAPPA_MAX])
            a = math.exp(intercept)
    fstate[F_KAPPA] = kappa
    fstate[F_A] = a


@njit(cache=True, nogil=True)
def _on_fills(now_ns, inst, position_lot, params, istate, fstate) -> None:
    """Fold the time since the last call and any new fills into the estimator's bins."""
    decay = 1.0
    if istate[I_LAST_NS] > 0 and now_ns > istate[I_LAST_NS]:
        dt = (now_ns - istate[I_LAST_NS]) * 1e-9
        decay = math.exp(-dt * math.log(2.0) / params[P_HALF_LIFE_S])
        for b in range(N_BINS):
            fstate[F_EXPOSURE + b] *= decay
            fstate[F_FILLS + b] *= decay
        if istate[I_BID_BIN] >= 0:
            fstate[F_EXPOSURE + istate[I_BID_BIN]] += dt
        if istate[I_ASK_BIN] >= 0:
            fstate[F_EXPOSURE + istate[I_ASK_BIN]] += dt
    istate[I_LAST_NS] = max(istate[I_LAST_NS], now_ns)
    change = position_lot[inst] - istate[I_LAST_POS]
    istate[I_LAST_POS] = position_lot[inst]
    fills = abs(change) / params[P_QTY_LOT]
    side_bin = istate[I_BID_BIN] if change > 0 else istate[I_ASK_BIN]
    if change != 0 and side_bin >= 0:
        fstate[F_FILLS + side_bin] += fills


@njit(cache=True, nogil=True)
def _requote(now_ns, inst, book_state, sig, orders, position_lot, params, istate, fstate,
             intents) -> int:  # fmt: skip
    bid_tick = book_state[inst, ST_BEST_BID]
    ask_tick = book_state[inst, ST_BEST_ASK]
    mid = sig[inst, SIG_MID_TICK]
    if not mid > 0.0:
        mid = 0.5 * (bid_tick + ask_tick)
    sigma = max(sig[inst, SIG_VOL], params[P_VOL_FLOOR]) * mid
    qty = int(params[P_QTY_LOT])
    q = position_lot[inst] / qty
    horizon_ns = int(params[P_HORIZON_S] * 1e9)
    tau_s = (horizon_ns - (now_ns - istate[I_T0_NS]) % horizon_ns) * 1e-9
    res, spread = quotes(mid, sigma, q, tau_s, params[P_GAMMA], fstate[F_KAPPA], fstate[F_A],
                         params[P_MODEL] != 0.0)  # fmt: skip
    spread = min(max(spread, params[P_MIN_SPREAD]), params[P_MAX_SPREAD])
    fstate[F_RESERVATION] = res
    fstate[F_SPREAD] = spread
    bid = min(math.floor(res - 0.5 * spread), ask_tick - 1)
    ask = max(math.ceil(res + 0.5 * spread), bid_tick + 1)
    if ask - bid > params[P_MAX_SPREAD]:  # rounding or the touch clamp widened it
        if bid == ask_tick - 1:
            ask = bid + int(params[P_MAX_SPREAD])
        else:
            bid = ask - int(params[P_MAX_SPREAD])
    max_inv = params[P_MAX_INV_LOT]
    if position_lot[inst] + qty > max_inv:
        bid = 0  # a bid fill would breach the bound: only the ask, which reduces the long
    if position_lot[inst] - qty < -max_inv:
        ask = 0
    istate[I_BID_BIN] = min(max(round(mid - bid), 0), N_BINS - 1) if bid > 0 else -1
    istate[I_ASK_BIN] = min(max(round(ask - mid), 0), N_BINS - 1) if ask > 0 else -1
    flags = POST_ONLY if params[P_POST_ONLY] != 0.0 else 0
    tol = int(params[P_REQUOTE])
    inv = int(max_inv)
    pos = position_lot[inst]
    n = keep_quote(now_ns, inst, BUY, bid, qty, flags, tol, orders, intents, 0,
                   room_lot(orders, pos, inst, BUY, inv))  # fmt: skip
    return keep_quote(now_ns, inst, SELL, ask, qty, flags, tol, orders, intents, n,
                      room_lot(orders, pos, inst, SELL, inv))  # fmt: skip


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Track fills on every wake; requote on the timer (nothing while halted or book invalid)."""
    if reason == WAKE_EVENT:
        return 0
    me = int(params[P_INST])
    if istate[I_T0_NS] == 0:
        istate[I_T0_NS] = now_ns
        istate[I_BID_BIN] = -1
        istate[I_ASK_BIN] = -1
        istate[I_LAST_POS] = position_lot[me]
    _on_fills(now_ns, me, position_lot, params, istate, fstate)
    _estimate(params, fstate)
    if reason != WAKE_TIMER:
        return 0
    istate[ISTATE_WAKE_NS] = now_ns + int(params[P_INTERVAL_NS])
    if not can_trade(book_state, istate, me):
        istate[I_BID_BIN] = -1
        istate[I_ASK_BIN] = -1
        return cancel_all(now_ns, me, orders, intents, 0)
    return _requote(now_ns, me, book_state, sig, orders, position_lot, params, istate, fstate,
                    intents)  # fmt: skip
