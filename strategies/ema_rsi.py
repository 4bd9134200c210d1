"""EMA crossover with an RSI filter, on bars built from trades inside the strategy.

It shows how bar-based indicator logic sits on the tick engine: the engine wakes ``decide`` on
every market event and keeps the last public trade in the signals (``SIG_LAST_TRADE_TICK``,
``SIG_TRADE_COUNT``, ``SIG_TRADE_VOLUME_LOT``); the strategy turns trades into bars in its own
state and runs the indicators once per closed bar, never per tick.

Bars (``bar: time | volume``):

* time bars of ``bar_interval_ms`` of local time, aligned to the first wake: a bar closes at its
  end time (a timer wakes the strategy there even if no trade comes) with the last trade price
  as its close; an interval without trades makes no bar;
* volume bars close on the trade that brings their volume to ``bar_volume_lot``; that trade's
  price is the close and any excess volume is not carried into the next bar.

Indicators on bar closes ``c``: exponential moving averages with ``alpha = 2 / (n + 1)``, seeded
with the first close (``fast_period`` < ``slow_period``); RSI after Wilder (1978, "New Concepts
in Technical Trading Systems"): the first average gain and loss are the plain means of the first
``rsi_period`` close-to-close changes, then ``avg = (avg * (n - 1) + x) / n``; ``RSI = 100 -
100 / (1 + avg_gain / avg_loss)`` (100 when nothing was lost, 50 when nothing moved). Signals wait
until ``slow_period`` bars and the RSI exist. The EMA crossover (Appel's MACD idea, at its
simplest): when the fast EMA crosses above the slow one and the RSI is below ``rsi_overbought``
the target position is ``+qty_lot``; when it crosses below and the RSI is above
``rsi_oversold``, ``-qty_lot`` (0 with ``long_only``). It moves to its target with IOC limit
orders at the touch plus ``slippage_ticks``, retried on later wakes until the position matches,
and sends nothing while the book is invalid or trading is halted. An order that pre-trade risk
refused is not resent on the next market event: it waits ``retry_ms`` (doubling while refusals
repeat; ``strategies._kernels.retry_gate``, which is why it wakes on order updates).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, ClassVar, Literal

import msgspec
import numpy as np
from numba import njit

from bot.core.book import ST_BEST_ASK, ST_BEST_BID
from bot.core.signal import SIG_LAST_TRADE_TICK, SIG_TRADE_COUNT, SIG_TRADE_VOLUME_LOT
from bot.core.strategy_api import ISTATE_WAKE_NS, emit_new
from strategies._kernels import (
    BUY,
    IOC,
    RETRY_SLOTS,
    SELL,
    WAKE_TIMER,
    can_trade,
    live_orders,
    note_sent,
    retry_gate,
)

NAME = "ema_rsi"
USES_SIGNALS = True
"""It needs the trade columns of the signals."""
WAKE_ON_EVENT = True
WAKE_ON_ORDER = True
"""An answer from the venue tells ``retry_gate`` the order got past pre-trade risk."""


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """EMA/RSI parameters; the bar definition and periods define the state (not reloadable)."""

    RELOADABLE: ClassVar[frozenset[str]] = frozenset(
        {"rsi_overbought", "rsi_oversold", "qty_lot", "slippage_ticks", "long_only", "retry_ms"}
    )

    bar: Literal["time", "volume"] = "time"
    bar_interval_ms: Annotated[float, msgspec.Meta(gt=0)] = 1_000.0
    """Length of a time bar, milliseconds of local time."""
    bar_volume_lot: Annotated[int, msgspec.Meta(gt=0)] = 1_000
    """Volume of a volume bar, lots."""
    fast_period: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 12
    slow_period: Annotated[int, msgspec.Meta(ge=2, le=10_000)] = 26
    rsi_period: Annotated[int, msgspec.Meta(ge=2, le=10_000)] = 14
    rsi_overbought: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 70.0
    rsi_oversold: Annotated[float, msgspec.Meta(gt=0, lt=100)] = 30.0
    qty_lot: Annotated[int, msgspec.Meta(gt=0)] = 1
    slippage_ticks: Annotated[int, msgspec.Meta(ge=0)] = 1
    long_only: bool = False
    retry_ms: Annotated[float, msgspec.Meta(gt=0, le=3_600_000)] = 500.0
    """After pre-trade risk refuses an order, wait this long before sending again (doubled
    for each refusal in a row, up to 64 times)."""

    def __post_init__(self) -> None:
        if self.fast_period >= self.slow_period:
            raise ValueError("fast_period must be < slow_period")
        if self.rsi_oversold >= self.rsi_overbought:
            raise ValueError("rsi_oversold must be < rsi_overbought")


P_VOLUME_BARS = 0
P_INTERVAL_NS = 1
P_BAR_VOLUME = 2
P_FAST = 3
P_SLOW = 4
P_RSI = 5
P_OVERBOUGHT = 6
P_OVERSOLD = 7
P_QTY = 8
P_SLIP = 9
P_LONG_ONLY = 10
P_INST = 11
P_RETRY_NS = 12

I_BAR_END_NS = 2
I_TRADES_SEEN = 3
I_BARS = 4  # bars closed so far
I_TARGET_LOT = 5
I_IN_BAR = 6  # trades in the open bar
I_RETRY = 7  # retry_gate's slots
ISTATE_SIZE = I_RETRY + RETRY_SLOTS
F_LAST_PX = 0
F_BAR_VOLUME = 1
F_VOLUME_SEEN = 2
F_EMA_FAST = 3
F_EMA_SLOW = 4
F_PREV_DIFF = 5
F_PREV_CLOSE = 6
F_AVG_GAIN = 7
F_AVG_LOSS = 8
F_RSI = 9  # NaN until defined
FSTATE_SIZE = 10


def pack(params: Params, instruments: Sequence[int]) -> np.ndarray:
    """Return the params array for ``decide`` (one traded instrument)."""
    if len(instruments) != 1:
        raise ValueError(f"ema_rsi trades one instrument, got {len(instruments)}")
    p = params
    return np.array(
        [
            1.0 if p.bar == "volume" else 0.0, p.bar_interval_ms * 1e6, p.bar_volume_lot,
            p.fast_period, p.slow_period, p.rsi_period, p.rsi_overbought, p.rsi_oversold,
            p.qty_lot, p.slippage_ticks, 1.0 if p.long_only else 0.0, instruments[0],
            p.retry_ms * 1e6,
        ],
        dtype=np.float64,
    )  # fmt: skip


@njit(cache=True, nogil=True)
def on_bar(close, params, istate, fstate) -> None:
    """Fold one bar close into the EMAs and the RSI, and set the target on a filtered cross."""
    k = istate[I_BARS]  # bars before this one
    istate[I_BARS] = k + 1
    if k == 0:
        fstate[F_EMA_FAST] = close
        fstate[F_EMA_SLOW] = close
        fstate[F_PREV_CLOSE] = close
        fstate[F_RSI] = np.nan
        fstate[F_PREV_DIFF] = 0.0
        return
    fstate[F_EMA_FAST] += 2.0 / (params[P_FAST] + 1.0) * (close - fstate[F_EMA_FAST])
    fstate[F_EMA_SLOW] += 2.0 / (params[P_SLOW] + 1.0) * (close - fstate[F_EMA_SLOW])
    change = close - fstate[F_PREV_CLOSE]
    fstate[F_PREV_CLOSE] = close
    gain = max(change, 0.0)
    loss = max(-change, 0.0)
    n = params[P_RSI]
    if k <= n:  # the first n changes: plain sums, then their means
        fstate[F_AVG_GAIN] += gain
        fstate[F_AVG_LOSS] += loss
        if k == n:
            fstate[F_AVG_GAIN] /= n
            fstate[F_AVG_LOSS] /= n
    else:
        fstate[F_AVG_GAIN] = (fstate[F_AVG_GAIN] * (n - 1.0) + gain) / n
        fstate[F_AVG_LOSS] = (fstate[F_AVG_LOSS] * (n - 1.0) + loss) / n
    if k >= n:
        g = fstate[F_AVG_GAIN]
        lo = fstate[F_AVG_LOSS]
        if lo > 0.0:
            fstate[F_RSI] = 100.0 - 100.0 / (1.0 + g / lo)
        else:
            fstate[F_RSI] = 100.0 if g > 0.0 else 50.0
    diff = fstate[F_EMA_FAST] - fstate[F_EMA_SLOW]
    prev = fstate[F_PREV_DIFF]
    fstate[F_PREV_DIFF] = diff
    rsi = fstate[F_RSI]
    if k + 1 < params[P_SLOW] or rsi != rsi:
        return
    qty = int(params[P_QTY])
    if prev <= 0.0 < diff and rsi < params[P_OVERBOUGHT]:
        istate[I_TARGET_LOT] = qty
    elif prev >= 0.0 > diff and rsi > params[P_OVERSOLD]:
        istate[I_TARGET_LOT] = 0 if params[P_LONG_ONLY] != 0.0 else -qty


@njit(cache=True, nogil=True)
def _bars(now_ns, me, sig, params, istate, fstate) -> None:
    """Close due time bars, then fold the trades seen since the last wake into the open bar."""
    volume_bars = params[P_VOLUME_BARS] != 0.0
    if not volume_bars:
        if istate[I_BAR_END_NS] == 0:
            istate[I_BAR_END_NS] = now_ns + int(params[P_INTERVAL_NS])
        if now_ns >= istate[I_BAR_END_NS]:
            if istate[I_IN_BAR] > 0:
                on_bar(fstate[F_LAST_PX], params, istate, fstate)
            istate[I_IN_BAR] = 0
            step = int(params[P_INTERVAL_NS])
            late = (now_ns - istate[I_BAR_END_NS]) // step + 1  # skip empty intervals
            istate[I_BAR_END_NS] += late * step
        istate[ISTATE_WAKE_NS] = istate[I_BAR_END_NS]
    count = int(sig[me, SIG_TRADE_COUNT])
    if count == istate[I_TRADES_SEEN]:
        return
    istate[I_TRADES_SEEN] = count
    volume = sig[me, SIG_TRADE_VOLUME_LOT]
    fstate[F_LAST_PX] = sig[me, SIG_LAST_TRADE_TICK]
    fstate[F_BAR_VOLUME] += volume - fstate[F_VOLUME_SEEN]
    fstate[F_VOLUME_SEEN] = volume
    istate[I_IN_BAR] += 1
    if volume_bars and fstate[F_BAR_VOLUME] >= params[P_BAR_VOLUME]:
        on_bar(fstate[F_LAST_PX], params, istate, fstate)
        fstate[F_BAR_VOLUME] = 0.0
        istate[I_IN_BAR] = 0


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Build bars from trades, update the indicators per bar, trade towards the target."""
    me = int(params[P_INST])
    if reason != WAKE_TIMER and inst != me:
        return 0
    _bars(now_ns, me, sig, params, istate, fstate)
    live = live_orders(orders, me)
    may_send = retry_gate(now_ns, reason, live, istate, I_RETRY, int(params[P_RETRY_NS]))
    gap = istate[I_TARGET_LOT] - position_lot[me]
    if gap == 0 or live > 0 or not can_trade(book_state, istate, me):
        return 0
    if not may_send:  # look again when the wait is over (or when the bar ends, if sooner)
        retry_at = istate[I_RETRY + 1]
        wake = istate[ISTATE_WAKE_NS]
        istate[ISTATE_WAKE_NS] = retry_at if wake == 0 else min(wake, retry_at)
        return 0
    slip = int(params[P_SLIP])
    if gap > 0:
        px = book_state[me, ST_BEST_ASK] + slip
        n = emit_new(intents, 0, me, BUY, px, gap, IOC, now_ns)
    else:
        px = book_state[me, ST_BEST_BID] - slip
        n = emit_new(intents, 0, me, SELL, px, -gap, IOC, now_ns)
    return note_sent(istate, I_RETRY, n)
